/**
 * Feature-extraction benchmark (`npm run bench:embed [-- --repeats 3 --patch-size 128 --json]`):
 * patches per second of `embedSlides` on CMU-1-Small-Region.svs (read + resize + encode + write),
 * milkit's SSL encoder (default network, 32-px input; the checkpoint of one pretraining step, as
 * the weights do not change the cost) and an ONNX CNN side by side. The ONNX model is made here
 * with onnx-proto: two 3 × 3 stride-2 convolutions (3→32→64, ReLU) and global average pooling at
 * 224 px, about 0.2 GFLOP per patch. Reports min and median over `--repeats` runs (each a fresh
 * feature folder), the CPU and the 1-minute load before and after (other work slows every number).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import {
  type SlideEncoder,
  dataRoot,
  embedSlides,
  loadOnnxRuntime,
  onnxSlideEncoder,
  pretrain,
  sampleTiledPatches,
  sslSlideEncoder,
  tileSlides,
  useBackend,
} from 'milkit';

const DATA = dataRoot();
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A small CNN as ONNX (random fixed weights): pixels [N, 3, 224, 224] → embedding [N, 64]. */
function writeCnn(file: string): void {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  let seed = 1;
  const rand = (n: number) =>
    Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2);
  const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const conv = (x: string, w: string, y: string) => ({
    opType: 'Conv',
    input: [x, w],
    output: [y],
    attribute: [ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
  });
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'bench_cnn',
      node: [
        conv('pixels', 'w1', 'c1'),
        { opType: 'Relu', input: ['c1'], output: ['r1'] },
        conv('r1', 'w2', 'c2'),
        { opType: 'Relu', input: ['c2'], output: ['r2'] },
        { opType: 'GlobalAveragePool', input: ['r2'], output: ['p'] },
        { opType: 'Flatten', input: ['p'], output: ['embedding'] },
      ],
      initializer: [
        { name: 'w1', dims: [32, 3, 3, 3], dataType: FLOAT, floatData: rand(32 * 27) },
        { name: 'w2', dims: [64, 32, 3, 3], dataType: FLOAT, floatData: rand(64 * 32 * 9) },
      ],
      input: [
        { name: 'pixels', type: { tensorType: { elemType: FLOAT, shape: { dim: ['batch', 3, 224, 224].map(dim) } } } },
      ],
      output: [
        { name: 'embedding', type: { tensorType: { elemType: FLOAT, shape: { dim: ['batch', 64].map(dim) } } } },
      ],
    },
  });
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  const config = { inputSize: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  fs.writeFileSync(file.replace(/\.onnx$/, '.json'), JSON.stringify(config));
}

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '3'));
  const patchSize = Number(arg('patch-size', '128'));
  const cmu = path.join(DATA, 'wsi', 'CMU-1-Small-Region.svs');
  if (!fs.existsSync(cmu)) throw new Error(`${cmu} is missing: set MILKIT_DATA to the shared data folder`);
  const backend = await useBackend();
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const loadBefore = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-embed-'));
  try {
    const tiles = path.join(dir, 'tiles');
    const [t] = await tileSlides([cmu], tiles, { tiling: { patchSize, magnification: 20 } });
    if (t.status !== 'tiled') throw new Error(t.error);
    const labels = path.join(dir, 'labels.csv');
    fs.writeFileSync(labels, 'slide_id,label\nCMU-1-Small-Region,tissue\n');
    const ckpt = path.join(dir, 'ssl.ckpt');
    const patches = await sampleTiledPatches(tiles, { size: 32, maxPatches: 64 });
    (await pretrain(patches, { steps: 1, batchSize: 16 }, { checkpoint: ckpt })).network.dispose();
    const model = path.join(dir, 'cnn.onnx');
    writeCnn(model);
    const encoders: [string, () => Promise<SlideEncoder>][] = [['ssl', async () => sslSlideEncoder(ckpt)]];
    if (loadOnnxRuntime().ort) encoders.push(['onnx', () => onnxSlideEncoder(model)]);
    else console.error('onnxruntime-node is not installed: the ONNX encoder is not measured');
    const rows = [];
    for (const [name, make] of encoders) {
      const rates: number[] = [];
      let device = '';
      for (let i = 0; i < repeats; i++) {
        const encoder = await make();
        device = encoder.device;
        fs.rmSync(path.join(tiles, `features_${encoder.name}`), { recursive: true, force: true });
        const t0 = performance.now();
        const r = await embedSlides(tiles, path.join(dir, `${name}.arrow`), encoder, { labels, onNotice: () => {} });
        rates.push(r.slides[0].patches / ((performance.now() - t0) / 1000));
        encoder.dispose();
      }
      rows.push({ encoder: name, device, patches: t.patches, min: Math.min(...rates), median: median(rates), rates });
    }
    const report = {
      cpu,
      cores: os.cpus().length,
      tfjs: backend.name,
      patchSize,
      load1Before: loadBefore,
      load1After: os.loadavg()[0],
      rows,
    };
    if (process.argv.includes('--json')) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    console.log(`${cpu}, ${report.cores} cores; 1-min load ${loadBefore.toFixed(1)} → ${report.load1After.toFixed(1)}`);
    console.log(`CMU-1-Small-Region: ${t.patches} patches of ${patchSize} px at 20×, ${repeats} runs each`);
    for (const r of rows)
      console.log(
        `  ${r.encoder.padEnd(5)} ${r.device.padEnd(18)} patches/s ` +
          `min ${r.min.toFixed(1)}  median ${r.median.toFixed(1)}`,
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
