/**
 * Feature-extraction benchmark (`npm run bench:embed [-- --repeats 3 --patch-size 128 --grid 3 --json]`):
 * patches per second and peak RSS of `embedSlides` (read + resize + encode + write) with milkit's
 * SSL encoder (default network, 32-px input; the checkpoint of one pretraining step, as the weights
 * do not change the cost) and an ONNX CNN side by side, on CMU-1-Small-Region.svs and on a slide
 * `--grid`² times its area (CMU-1 replicated `--grid` × `--grid` by vips, 0.499 µm/px): patches
 * stream in batches, so peak memory must not grow with the slide. The ONNX model is made here with
 * onnx-proto: two 3 × 3 stride-2 convolutions (3→32→64, ReLU) and global average pooling at 224 px,
 * about 0.2 GFLOP per patch. Each run is a fresh process (embed-child.cjs) with a fresh features
 * folder; reports min and median over `--repeats` runs, the peak RSS (max over runs), the CPU and
 * the 1-minute load before and after (other work slows every number).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { dataRoot, loadOnnxRuntime, pretrain, sampleTiledPatches, tileSlides, useBackend } from 'milkit';

const DATA = dataRoot();
/** The child runs as plain JavaScript from the source folder (this file runs compiled, from build/bench/). */
const CHILD = path.join(__dirname, '..', '..', 'bench', 'embed-child.cjs');
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

/** CMU-1 replicated `n` × `n` as a tiled pyramidal TIFF with its µm/px (vips). */
function replicated(dir: string, cmu: string, n: number): string {
  const file = path.join(dir, `CMU-1-x${n * n}.tif`);
  try {
    const base = path.join(dir, 'cmu.v');
    execFileSync('vips', ['tiffload', cmu, base]);
    const opts = 'tile,pyramid,compression=jpeg,Q=90,tile-width=256,tile-height=256,xres=2004,yres=2004';
    execFileSync('vips', ['replicate', base, `${file}[${opts}]`, String(n), String(n)]);
  } catch (err) {
    throw new Error(`vips (Debian libvips-tools) is needed to make the larger slide: ${(err as Error).message}`);
  }
  return file;
}

interface Run {
  patches: number;
  seconds: number;
  device: string;
  peakRssMiB: number;
}

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '3'));
  const patchSize = Number(arg('patch-size', '128'));
  const grid = Number(arg('grid', '3'));
  const cmu = path.join(DATA, 'wsi', 'CMU-1-Small-Region.svs');
  if (!fs.existsSync(cmu)) throw new Error(`${cmu} is missing: set MILKIT_DATA to the shared data folder`);
  const backend = await useBackend();
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const loadBefore = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-embed-'));
  try {
    const slides: [string, string][] = [
      ['CMU-1-Small-Region', cmu],
      [`CMU-1 ${grid} × ${grid}`, replicated(dir, cmu, grid)],
    ];
    const ckpt = path.join(dir, 'ssl.ckpt');
    const model = path.join(dir, 'cnn.onnx');
    writeCnn(model);
    const encoders: [string, string][] = [['ssl', ckpt]];
    if (loadOnnxRuntime().ort) encoders.push(['onnx', model]);
    else console.error('onnxruntime-node is not installed: the ONNX encoder is not measured');
    const rows = [];
    for (const [slide, file] of slides) {
      const id = path.basename(file).replace(/\.[^.]+$/, '');
      const tiles = path.join(dir, `tiles-${id}`);
      const [t] = await tileSlides([file], tiles, { tiling: { patchSize, magnification: 20 } });
      if (t.status !== 'tiled') throw new Error(t.error);
      const labels = path.join(dir, `labels-${id}.csv`);
      fs.writeFileSync(labels, `slide_id,label\n${id},tissue\n`);
      if (!fs.existsSync(ckpt)) {
        const patches = await sampleTiledPatches(tiles, { size: 32, maxPatches: 64 });
        (await pretrain(patches, { steps: 1, batchSize: 16 }, { checkpoint: ckpt })).network.dispose();
      }
      for (const [name, weights] of encoders) {
        const runs: Run[] = [];
        for (let i = 0; i < repeats; i++) {
          const out = path.join(dir, `${name}.arrow`);
          const child = [CHILD, tiles, name, weights, labels, out];
          const r = spawnSync(process.execPath, child, { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`${slide} / ${name}: ${r.stderr}`);
          runs.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
          if (!process.argv.includes('--json'))
            process.stderr.write(`  ${slide} ${name} run ${i + 1}/${repeats} done\n`);
        }
        const rates = runs.map((r) => r.patches / r.seconds);
        rows.push({
          slide,
          encoder: name,
          device: runs[0].device,
          patches: runs[0].patches,
          min: Math.min(...rates),
          median: median(rates),
          rates,
          peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
        });
      }
    }
    const report = {
      cpu,
      cores: os.cpus().length,
      tfjs: backend.name,
      patchSize,
      repeats,
      load1Before: loadBefore,
      load1After: os.loadavg()[0],
      rows,
    };
    if (process.argv.includes('--json')) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    console.log(`${cpu}, ${report.cores} cores; 1-min load ${loadBefore.toFixed(1)} → ${report.load1After.toFixed(1)}`);
    console.log(`${patchSize}-px patches at 20×, ${repeats} runs each (a fresh process per run):`);
    for (const r of rows)
      console.log(
        `  ${r.slide.padEnd(19)} ${String(r.patches).padStart(5)} patches  ` +
          `${r.encoder.padEnd(5)} ${r.device.padEnd(18)} ` +
          `patches/s min ${r.min.toFixed(1)}  median ${r.median.toFixed(1)}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
