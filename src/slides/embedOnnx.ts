/**
 * Any image encoder a user brings as an ONNX file (`milkit slides embed --encoder onnx:FILE`),
 * run with onnxruntime-node: its CUDA execution provider where installed, else the bundled CPU one.
 * onnxruntime-node is an optional dependency; without it only this encoder is unavailable.
 *
 * The preprocessing is a small JSON config, checked against the model before any slide is read:
 *   { "inputSize": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
 *     "channelOrder": "RGB", "layout": "NCHW", "input": "pixel_values", "output": "embedding" }
 * Each patch is area-resized to `inputSize`, scaled to [0, 1], and channel c becomes
 * (v − mean[c]) / std[c] (mean/std listed in the model's channel order). `input`/`output` name
 * the tensors when the model has several; the output must be one vector per patch ([N, D] or
 * [N, D, 1, 1]).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError, type NoticeSink, stderrNotice } from '../data/errors';
import { didYouMean } from '../didYouMean';
import { type SlideEncoder, fileSha256, resizePatches, safeName } from './embed';

export interface OnnxEncoderConfig {
  inputSize: number;
  mean: [number, number, number];
  std: [number, number, number];
  channelOrder: 'RGB' | 'BGR';
  layout: 'NCHW' | 'NHWC';
  /** Input tensor name (default: the model's only input). */
  input?: string;
  /** Output tensor name (default: the model's only output). */
  output?: string;
}

const CONFIG_KEYS = ['inputSize', 'mean', 'std', 'channelOrder', 'layout', 'input', 'output'];
const CONFIG_EXAMPLE =
  '{"inputSize": 224, "mean": [0.485, 0.456, 0.406], "std": ' +
  '[0.229, 0.224, 0.225], "channelOrder": "RGB", "layout": "NCHW"}';

/** Reads and checks an encoder config; every problem names the file and the field. */
export function readOnnxConfig(file: string): OnnxEncoderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MilkitDataError(
      `cannot read the encoder config as JSON (${(err as Error).message.split('\n')[0]})`,
      { file },
      `write it as JSON, e.g. ${CONFIG_EXAMPLE}`,
    );
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new MilkitDataError('the encoder config must be a JSON object', { file }, `e.g. ${CONFIG_EXAMPLE}`);
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c))
    if (!CONFIG_KEYS.includes(k))
      throw new MilkitDataError(
        `unknown setting${didYouMean(k, CONFIG_KEYS)}`,
        { file, field: k },
        `use only ${CONFIG_KEYS.join(', ')}`,
      );
  const bad = (field: string, problem: string, fix: string) => new MilkitDataError(problem, { file, field }, fix);
  for (const k of ['inputSize', 'mean', 'std'])
    if (c[k] === undefined) throw bad(k, 'missing', `add it, e.g. ${CONFIG_EXAMPLE}`);
  if (!Number.isInteger(c.inputSize) || (c.inputSize as number) < 1)
    throw bad(
      'inputSize',
      `must be a positive integer, got ${JSON.stringify(c.inputSize)}`,
      'give the model input side in pixels',
    );
  for (const k of ['mean', 'std']) {
    const v = c[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw bad(k, `must be 3 numbers (one per channel), got ${JSON.stringify(v)}`, 'e.g. [0.485, 0.456, 0.406]');
    if (k === 'std' && !v.every((x: number) => x > 0))
      throw bad(k, `must be positive, got ${JSON.stringify(v)}`, 'e.g. [0.229, 0.224, 0.225]');
  }
  const oneOf = (k: string, allowed: string[], fallback: string): string => {
    const v = c[k] ?? fallback;
    if (typeof v !== 'string' || !allowed.includes(v))
      throw bad(
        k,
        `must be ${allowed.join(' or ')}, got ${JSON.stringify(v)}`,
        `set "${k}": "${fallback}" or "${allowed[1]}"`,
      );
    return v;
  };
  for (const k of ['input', 'output'])
    if (c[k] !== undefined && (typeof c[k] !== 'string' || c[k] === ''))
      throw bad(
        k,
        `must be a tensor name, got ${JSON.stringify(c[k])}`,
        'give the name, or leave it out when there is one',
      );
  return {
    inputSize: c.inputSize as number,
    mean: c.mean as [number, number, number],
    std: c.std as [number, number, number],
    channelOrder: oneOf('channelOrder', ['RGB', 'BGR'], 'RGB') as 'RGB' | 'BGR',
    layout: oneOf('layout', ['NCHW', 'NHWC'], 'NCHW') as 'NCHW' | 'NHWC',
    ...(c.input !== undefined ? { input: c.input as string } : {}),
    ...(c.output !== undefined ? { output: c.output as string } : {}),
  };
}

/**
 * The model input for `n` RGB patches of side `size`: resized to `inputSize`, scaled to [0, 1],
 * normalised per model channel, in the config's layout and channel order.
 */
export function onnxInput(pixels: Uint8Array, n: number, size: number, cfg: OnnxEncoderConfig): Float32Array {
  const s = cfg.inputSize;
  const rgb = resizePatches(pixels, n, size, s);
  const out = new Float32Array(n * 3 * s * s);
  const source = cfg.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0]; // model channel → RGB byte
  const scale = source.map((_, c) => 1 / (255 * cfg.std[c]));
  const shift = source.map((_, c) => cfg.mean[c] / cfg.std[c]);
  const area = s * s;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < area; p++)
      for (let c = 0; c < 3; c++) {
        const v = rgb[3 * (i * area + p) + source[c]] * scale[c] - shift[c];
        out[cfg.layout === 'NCHW' ? (i * 3 + c) * area + p : 3 * (i * area + p) + c] = v;
      }
  return out;
}

// The parts of onnxruntime-node's API used here (it is optional, so its types cannot be required).
interface OrtTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
}
interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: {
    create(file: string, opts: { executionProviders: string[]; logSeverityLevel: number }): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

/** onnxruntime-node, or why it cannot be loaded. */
export function loadOnnxRuntime(): { ort?: Ort; reason?: string; binDir?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependency, loaded on use
    const ort = require('onnxruntime-node') as Ort;
    const binDir = path.join(
      path.dirname(require.resolve('onnxruntime-node')),
      '..',
      'bin',
      'napi-v6',
      process.platform,
      process.arch,
    );
    return { ort, binDir };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0] };
  }
}

/** Whether onnxruntime's CUDA provider library is installed (its postinstall can fetch it). */
function cudaInstalled(binDir: string): boolean {
  return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) =>
    fs.existsSync(path.join(binDir, f)),
  );
}

const shapeText = (shape: readonly (number | string)[]) => `[${shape.join(', ')}]`;

/** The one tensor named `wanted`, or the only one; errors name the model and the choices. */
function pickName(
  kind: 'input' | 'output',
  names: readonly string[],
  wanted: string | undefined,
  model: string,
  config: string,
): string {
  if (wanted !== undefined) {
    if (names.includes(wanted)) return wanted;
    throw new MilkitDataError(
      `the model has no ${kind} "${wanted}"${didYouMean(wanted, names)} (its ${kind}s: ${names.join(', ')})`,
      { file: model, field: kind },
      `set "${kind}" in ${config} to one of them`,
    );
  }
  if (names.length === 1) return names[0];
  throw new MilkitDataError(
    `the model has ${names.length} ${kind}s (${names.join(', ')}) and the config names none`,
    { file: model, field: kind },
    `set "${kind}": "<name>" in ${config}`,
  );
}

/**
 * Checks the model's input against the config: float32, rank 4, 3 channels where the layout puts
 * them, and `inputSize` where the model fixes its spatial size. Returns the fixed batch size, if any.
 */
function checkInput(
  meta: OrtValueMetadata | undefined,
  cfg: OnnxEncoderConfig,
  model: string,
  config: string,
): number | undefined {
  if (!meta?.shape) return undefined; // an older onnxruntime without metadata: the first run checks
  const s = cfg.inputSize;
  const expected: (number | string)[] = cfg.layout === 'NCHW' ? ['batch', 3, s, s] : ['batch', s, s, 3];
  const shape = meta.shape;
  const fits =
    shape.length === 4 &&
    shape.every((d, i) => i === 0 || typeof d !== 'number' || d === expected[i]) &&
    (typeof shape[0] !== 'number' || shape[0] >= 1);
  if (!fits) {
    const [h, w, ch] = cfg.layout === 'NCHW' ? [shape[2], shape[3], shape[1]] : [shape[1], shape[2], shape[3]];
    const fix =
      shape.length !== 4
        ? 'export the encoder with one image batch input [batch, 3, H, W] (or [batch, H, W, 3] with "layout": "NHWC")'
        : ch !== 3 && (cfg.layout === 'NCHW' ? shape[3] : shape[1]) === 3
          ? `set "layout": "${cfg.layout === 'NCHW' ? 'NHWC' : 'NCHW'}" in ${config}`
          : typeof h === 'number' && h === w
            ? `set "inputSize": ${h} in ${config} (patches are resized to it), or export the model for ${s}-px input`
            : `export the model for ${cfg.layout} input ${shapeText(expected)}`;
    throw new MilkitDataError(
      `model input "${meta.name}" has shape ${shapeText(shape)}, but ${config} makes ${cfg.layout} patches of ` +
        `${s} × ${s} px: ${shapeText(expected)}`,
      { file: model, field: meta.name },
      fix,
    );
  }
  if (meta.type !== undefined && meta.type !== 'float32')
    throw new MilkitDataError(
      `model input "${meta.name}" takes ${meta.type} values; milkit ` +
        `feeds float32 patches normalised with the config's mean and std`,
      { file: model, field: meta.name },
      'export the model with a float32 image input',
    );
  return typeof shape[0] === 'number' ? shape[0] : undefined;
}

export interface OnnxEncoderOptions {
  /** The preprocessing config (default: the model's name with `.json`, e.g. `uni.onnx` → `uni.json`). */
  config?: string;
  /** Patches per forward pass (default 32; a model with a fixed batch size uses that). */
  batchSize?: number;
  /** `auto` (default): CUDA when its provider is installed, else CPU. */
  provider?: 'auto' | 'cpu' | 'cuda';
  onNotice?: NoticeSink;
}

/** Opens an ONNX image encoder, checks it against its config and runs it once to learn its width. */
export async function onnxSlideEncoder(model: string, opts: OnnxEncoderOptions = {}): Promise<SlideEncoder> {
  const notice = opts.onNotice ?? stderrNotice;
  if (!fs.existsSync(model))
    throw new MilkitDataError('no such file', { file: model }, 'give the path of the .onnx model');
  const config = opts.config ?? model.replace(/\.onnx$/i, '') + '.json';
  if (!fs.existsSync(config))
    throw new MilkitDataError(
      `the model needs an encoder config (input size, mean/std, channel order), and ${config} does not exist`,
      { file: model },
      `write one, e.g. ${CONFIG_EXAMPLE}, and pass --encoder-config FILE`,
    );
  const cfg = readOnnxConfig(config);
  const { ort, reason, binDir } = loadOnnxRuntime();
  if (!ort)
    throw new MilkitDataError(
      `onnxruntime-node, the optional dependency that runs ONNX models, is not installed (${reason})`,
      { file: model },
      'install it with: ONNXRUNTIME_NODE_INSTALL=skip npm install ' +
        'onnxruntime-node (CPU; =cuda12 to also fetch the CUDA provider)',
    );
  const want = opts.provider ?? 'auto';
  const cuda = want === 'cuda' || (want === 'auto' && cudaInstalled(binDir!));
  let session: OrtSession;
  let device = cuda ? 'cuda' : 'cpu';
  const open = (eps: string[]) => ort.InferenceSession.create(model, { executionProviders: eps, logSeverityLevel: 3 });
  try {
    try {
      session = await open(cuda ? ['cuda', 'cpu'] : ['cpu']);
    } catch (err) {
      if (!cuda || want === 'cuda') throw err;
      notice(
        `onnxruntime's CUDA provider did not start (${(err as Error).message.split('\n')[0]}); running on the CPU`,
      );
      session = await open(['cpu']);
      device = 'cpu';
    }
  } catch (err) {
    throw new MilkitDataError(
      `onnxruntime cannot load the model (${(err as Error).message.split('\n')[0].slice(0, 300)})`,
      { file: model },
      'export the encoder again as an ONNX file (opset ≥ 7)',
    );
  }
  try {
    const input = pickName('input', session.inputNames, cfg.input, model, config);
    const output = pickName('output', session.outputNames, cfg.output, model, config);
    const fixedBatch = checkInput(
      session.inputMetadata?.find((m) => m.name === input),
      cfg,
      model,
      config,
    );
    const batchSize = fixedBatch ?? opts.batchSize ?? 32;
    const s = cfg.inputSize;
    const dims = cfg.layout === 'NCHW' ? [3, s, s] : [s, s, 3];
    /** Runs one batch of at most `batchSize` preprocessed patches (padded to a fixed batch size). */
    const runBatch = async (x: Float32Array, n: number): Promise<{ values: Float32Array; dim: number }> => {
      const b = fixedBatch ?? n;
      const data = b === n ? x : new Float32Array(b * 3 * s * s);
      if (data !== x) data.set(x);
      let result: Record<string, OrtTensor>;
      try {
        result = await session.run({ [input]: new ort.Tensor('float32', data, [b, ...dims]) });
      } catch (err) {
        throw new MilkitDataError(
          `onnxruntime failed on a batch of ${b} patches of ${shapeText([b, ...dims])} ` +
            `(${(err as Error).message.split('\n')[0].slice(0, 300)})`,
          { file: model, field: input },
          `check "inputSize" and "layout" in ${config} against the model`,
        );
      }
      const y = result[output];
      const pooled = y.dims.length === 2 || (y.dims.length === 4 && y.dims[2] === 1 && y.dims[3] === 1);
      if (y.type !== 'float32' || y.dims[0] !== b || !pooled)
        throw new MilkitDataError(
          `model output "${output}" is ${y.type} ${shapeText(y.dims)} for ${b} ` +
            `patches; milkit needs one float32 vector per patch, [${b}, D]`,
          { file: model, field: output },
          `name the pooled embedding with "output" in ${config}, or export the model with it as output`,
        );
      const dim = y.dims[1];
      return { values: (y.data as Float32Array).subarray(0, n * dim), dim };
    };
    // One patch through the model: checks it end to end and gives the feature width.
    const { dim } = await runBatch(onnxInput(new Uint8Array(s * s * 3).fill(255), 1, s, cfg), 1);
    return {
      name: `onnx-${safeName(path.basename(model).replace(/\.onnx$/i, ''))}`,
      identity: { kind: 'onnx', file: path.basename(model), sha256: fileSha256(model), config: cfg, input, output },
      device: `onnxruntime ${device}`,
      batchSize,
      dim: () => dim,
      async featurize(pixels, n, size) {
        const out = new Float32Array(n * dim);
        const per = size * size * 3;
        for (let start = 0; start < n; start += batchSize) {
          const m = Math.min(batchSize, n - start);
          const x = onnxInput(pixels.subarray(start * per, (start + m) * per), m, size, cfg);
          out.set((await runBatch(x, m)).values, start * dim);
        }
        return out;
      },
      dispose: () => void session.release(),
    };
  } catch (err) {
    void session.release();
    throw err;
  }
}
