/**
 * Rows `idx` of a tensor already on the backend, as a new tensor, without a round trip through JS.
 *
 * Why: MHIM uploads the whole bag for the teacher and then the kept rows again for the student
 * (a JS copy of ~N × D floats plus a second upload). On wasm the rows are copied inside the heap
 * instead, from the teacher's upload (one copyWithin per row). tf.gather is never used for this
 * (130-140 ms for 3600 of 8000 rows on wasm); other backends copy the rows in JS from `host`.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
interface WasmBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/**
 * `x[idx, :]` for a float32 `x` `[N, D]`. `host` is the same data in JS memory (row-major), used
 * where the backend's memory cannot be addressed directly.
 */
export function gatherRows(x: tf.Tensor2D, idx: Int32Array, host: Float32Array): tf.Tensor2D {
  const [n, d] = x.shape;
  for (const i of idx) if (i < 0 || i >= n) throw new Error(`gatherRows: row ${i} outside [0, ${n})`);
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') {
    const out = new Float32Array(idx.length * d);
    for (let j = 0; j < idx.length; j++) out.set(host.subarray(idx[j] * d, (idx[j] + 1) * d), j * d);
    return tf.tensor2d(out, [idx.length, d]);
  }
  const backend = tf.backend() as unknown as WasmBackend;
  const info = backend.makeOutput([idx.length, d], 'float32');
  // Offsets are read after makeOutput: the allocation may have moved the heap's buffer.
  const heap = backend.wasm.HEAPF32;
  const src = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  const dst = backend.dataIdMap.get(info.dataId).memoryOffset / 4;
  for (let j = 0; j < idx.length; j++) heap.copyWithin(dst + j * d, src + idx[j] * d, src + (idx[j] + 1) * d);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
}
