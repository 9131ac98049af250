/**
 * Slide benchmark (`npm run bench:slides [-- --repeats 3 --json]`): tiles per second for
 * open + tissue + tile + read of every 256-px patch at 20×, OpenSlide and the pure-JS reader side
 * by side, on CMU-1-Small-Region.svs and on a synthetic pyramidal TIFF made here with vips
 * (a tissue-dense crop of CMU-1 replicated to ≥ 20,000 patches, JPEG Q75 in YCbCr, 256-px tiles,
 * 0.499 µm/px in the resolution tags).
 *
 * Each run is a fresh plain-node child process (slides-child.cjs), so its peak RSS (VmHWM) is its
 * own: streaming must keep it bounded, the same on a 1.4-gigapixel slide as on a 6.6-megapixel
 * one. Reports min and median over `--repeats` runs (`--synthetic-repeats` for the large slide),
 * the CPU model and the 1-minute load before and after (other work on the machine slows every
 * number here).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataRoot, openslideAddon } from 'milkit';

const DATA = dataRoot();
/** The child runs as plain JavaScript from the source folder (this file runs compiled, from build/bench/). */
const CHILD = path.join(__dirname, '..', '..', 'bench', 'slides-child.cjs');

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const has = (name: string) => process.argv.includes(`--${name}`);

interface RunResult {
  patches: number;
  tileSeconds: number;
  readSeconds: number;
  peakRssMiB: number;
}

/** The synthetic pyramid: CMU-1 tissue, 768 × 1280 crop replicated 55 × 26 (42,240 × 33,280 px). */
function makePyramid(dir: string, cmu: string): string {
  const file = path.join(dir, 'synthetic-pyramid.tif');
  const crop = path.join(dir, 'crop.v');
  const base = path.join(dir, 'cmu.v');
  try {
    execFileSync('vips', ['tiffload', cmu, base]);
    execFileSync('vips', ['crop', base, crop, '768', '1536', '768', '1280']);
    const opts = 'tile,pyramid,compression=jpeg,Q=75,tile-width=256,tile-height=256,xres=2004,yres=2004,strip';
    execFileSync('vips', ['replicate', crop, `${file}[${opts}]`, '55', '26']);
  } catch (err) {
    throw new Error(`vips (Debian libvips-tools) is needed to make the synthetic slide: ${(err as Error).message}`);
  }
  return file;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '3'));
  // The pure-JS reader decodes the synthetic slide's 1.4 gigapixels in a few minutes per run.
  const syntheticRepeats = Number(arg('synthetic-repeats', String(repeats)));
  const cmu = path.join(DATA, 'wsi', 'CMU-1-Small-Region.svs');
  if (!fs.existsSync(cmu)) throw new Error(`${cmu} is missing: set MILKIT_DATA to the shared data folder`);
  const backends: ('openslide' | 'tiff')[] = openslideAddon() ? ['openslide', 'tiff'] : ['tiff'];
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const loadBefore = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-pyramid-'));
  const rows: Record<string, unknown>[] = [];
  try {
    const t = performance.now();
    const pyramid = makePyramid(dir, cmu);
    const makeSeconds = (performance.now() - t) / 1000;
    const slides = [
      ['CMU-1-Small-Region.svs', cmu],
      ['synthetic 42240 × 33280 pyramid', pyramid],
    ] as const;
    for (const [name, file] of slides) {
      for (const backend of backends) {
        const runs: RunResult[] = [];
        const n = file === cmu ? repeats : syntheticRepeats;
        for (let i = 0; i < n; i++) {
          const r = spawnSync(process.execPath, [CHILD, file, backend], {
            encoding: 'utf8',
          });
          if (r.status !== 0) throw new Error(`${name} / ${backend}: ${r.stderr}`);
          runs.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
          if (!has('json')) process.stderr.write(`  ${name} ${backend} run ${i + 1}/${n} done\n`);
        }
        const rate = runs.map((r) => r.patches / (r.tileSeconds + r.readSeconds));
        rows.push({
          slide: name,
          backend,
          patches: runs[0].patches,
          runs: runs.length,
          tilesPerSecondMin: Math.min(...rate),
          tilesPerSecondMedian: median(rate),
          tileSecondsMedian: median(runs.map((r) => r.tileSeconds)),
          readSecondsMedian: median(runs.map((r) => r.readSeconds)),
          peakRssMiBMax: Math.max(...runs.map((r) => r.peakRssMiB)),
        });
      }
    }
    const report = {
      cpu,
      cores: os.cpus().length,
      load1Before: loadBefore,
      load1After: os.loadavg()[0],
      repeats,
      pyramidSeconds: makeSeconds,
      rows,
    };
    if (has('json')) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    console.log(
      `CPU ${cpu} (${report.cores} cores); 1-min load ${loadBefore.toFixed(1)} → ${report.load1After.toFixed(1)}`,
    );
    console.log('open + tissue + tile + read every 256-px patch at 20× (tiles/s: min and median over the runs):');
    console.log(
      'slide                              backend    patches runs tiles/s min  median  tile s  read s  peak RSS',
    );
    for (const r of rows)
      console.log(
        `${String(r.slide).padEnd(35)}${String(r.backend).padEnd(11)}` +
          `${String(r.patches).padStart(7)}${String(r.runs).padStart(5)}` +
          (`${(r.tilesPerSecondMin as number).toFixed(1).padStart(13)}` +
            `${(r.tilesPerSecondMedian as number).toFixed(1).padStart(8)}`) +
          (`${(r.tileSecondsMedian as number).toFixed(1).padStart(8)}` +
            `${(r.readSecondsMedian as number).toFixed(1).padStart(8)}`) +
          `${(r.peakRssMiBMax as number).toFixed(0).padStart(7)} MiB`,
      );
    console.log(`(the synthetic slide took ${makeSeconds.toFixed(0)} s to write with vips; not counted)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:slides: ${err.message}\n`);
  process.exit(1);
});
