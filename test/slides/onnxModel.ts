/**
 * Tiny ONNX image encoders written for the tests with onnx-proto (the ONNX protobuf schema): the
 * model's function is known, so the features `slides embed` produces can be checked by hand.
 */
import * as fs from 'node:fs';
import { onnx } from 'onnx-proto';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

type Dim = number | string;
const perm = { name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 3, 1, 2] };
const tensorType = (dims: Dim[]) => ({
  tensorType: {
    elemType: FLOAT,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
  },
});

/**
 * `pixels` [N, 3, H, W] → GlobalAveragePool → Flatten → MatMul `weights` ([3, D], row-major) →
 * `embedding` [N, D]: each feature is a weighted sum of the patch's mean (normalised) channel
 * values. `inputDims` sets the declared input shape (e.g. a fixed batch or another size); with
 * `nhwc` the input is [N, H, W, 3], transposed first.
 */
export function writeMeanColourEncoder(
  file: string,
  weights: number[],
  inputDims: Dim[] = ['batch', 3, 'height', 'width'],
  nhwc = false,
): void {
  const d = weights.length / 3;
  const transpose = nhwc
    ? [{ opType: 'Transpose', input: ['pixels'], output: ['nchw'], name: 'to_nchw', attribute: [perm] }]
    : [];
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'milkit tests',
    graph: {
      name: 'mean_colour',
      node: [
        ...transpose,
        { opType: 'GlobalAveragePool', input: [nhwc ? 'nchw' : 'pixels'], output: ['pooled'], name: 'pool' },
        { opType: 'Flatten', input: ['pooled'], output: ['flat'], name: 'flatten' },
        { opType: 'MatMul', input: ['flat', 'w'], output: ['embedding'], name: 'project' },
      ],
      initializer: [{ name: 'w', dims: [3, d], dataType: FLOAT, floatData: weights }],
      input: [{ name: 'pixels', type: tensorType(inputDims) }],
      output: [{ name: 'embedding', type: tensorType(['batch', d]) }],
    },
  });
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
}
