/**
 * Cohort read/compute overlap (`npm run bench:overlap [-- --gigabytes 3 --dir /tmp]`).
 *
 * Writes a synthetic cohort of about `--gigabytes` GB (bags of 4000-12000 × `--dim` float32) under
 * `--dir` (outside the repository; deleted at the end unless `--keep`), then runs passes over it
 * with the bag cache off, for inference (`forwardBag`) and training (a trainer step with Adam per
 * bag), each with read-ahead 0 (read a bag, then compute on it) and 1 (the next bag is read on the
 * thread pool while this one computes), interleaved: off, on, off, on, … so both see the same
 * machine. Before every pass the file is dropped from the page cache (`dd iflag=nocache`, the
 * kernel's POSIX_FADV_DONTNEED for this one file), so each pass reads from the disk as a cohort
 * larger than memory would; the cached fraction left is printed. Reports bags/s, instances/s, the
 * seconds the loop waited for reads, CPU seconds, the 1-minute load.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, ensureBackend, describeBackend } from 'milkit';
import { describeSettings, parseSettings } from '../experiments/common/runner';
import { cohortThroughput, writeSyntheticCohort, type CohortThroughput } from './cohort';

const spec = {
  gigabytes: { type: 'number', default: 3, help: 'size of the synthetic cohort (features, GB)' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  dir: { type: 'string', default: os.tmpdir(), help: 'where the cohort is written (a temp folder inside it)' },
  model: { type: 'string', default: 'abmil', help: 'model of the passes' },
  rounds: { type: 'number', default: 2, help: 'rounds of (off, on) per mode' },
  modes: { type: 'string', default: 'infer,train', help: 'infer, train or both' },
  keep: { type: 'boolean', help: 'keep the cohort (its path is printed)' },
} as const;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Drops `file` from the page cache; returns the fraction still cached after (fincore), or undefined. */
function dropFromCache(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd); // dirty pages (a freshly written cohort) cannot be dropped
  fs.closeSync(fd);
  spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES,SIZE', file], { encoding: 'utf8' });
  const [res, size] = (r.stdout ?? '').trim().split(/\s+/).map(Number);
  return r.status === 0 && size > 0 ? res / size : undefined;
}

async function main(): Promise<void> {
  const { values: f, help } = parseSettings(spec, process.argv.slice(2));
  if (help) return console.log(describeSettings(spec));
  const backend = await ensureBackend();
  const dim = Number(f.dim);
  const bags = Math.max(2, Math.round((Number(f.gigabytes) * 1e9) / (8000 * dim * 4)));
  const tmp = fs.mkdtempSync(path.join(String(f.dir), 'milkit-overlap-'));
  const remove = () => (f.keep ? undefined : fs.rmSync(tmp, { recursive: true, force: true }));
  // Interrupted (Ctrl-C, or a kill from a script, where SIGINT may be ignored): the 3 GB go too.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    process.on(signal, () => {
      remove();
      process.exit(code);
    });
  try {
    const cpus = os.cpus();
    console.log(
      `${new Date().toISOString().slice(0, 16)}Z, ${cpus[0]?.model}, ${cpus.length} cores, ` +
        `1-minute load ${os.loadavg()[0].toFixed(1)}\nbackend ${describeBackend(backend)}`,
    );
    const t0 = performance.now();
    const file = await writeSyntheticCohort(tmp, bags, 4000, 12000, dim);
    const bytes = fs.statSync(file).size;
    console.log(
      `cohort: ${bags} bags of 4000-12000 × ${dim}, ${(bytes / 1e9).toFixed(2)} GB at ${file} ` +
        `(written in ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
    const model = createModel(String(f.model), { inputDim: dim, seed: 1 });
    const rows: { mode: string; readAhead: 0 | 1; r: CohortThroughput; cached?: number; load: number }[] = [];
    console.log(
      `\n${'mode'.padEnd(6)} ${'read-ahead'.padEnd(10)} ${'bags/s'.padStart(7)} ${'inst/s'.padStart(8)} ` +
        `${'s'.padStart(6)} ${'waiting s'.padStart(9)} ${'CPU s'.padStart(6)}  cached before  load`,
    );
    for (const mode of String(f.modes).split(',').filter(Boolean)) {
      const train = mode === 'train';
      for (let round = 0; round < Number(f.rounds); round++)
        for (const readAhead of [0, 1] as const) {
          const cached = dropFromCache(file);
          const r = await cohortThroughput(model, file, { readAhead, train, warm: round > 0 || readAhead > 0 });
          const load = os.loadavg()[0];
          const cachedText = cached === undefined ? '?' : `${(100 * cached).toFixed(1)} %`;
          rows.push({ mode, readAhead, r, cached, load });
          console.log(
            `${mode.padEnd(6)} ${String(readAhead).padEnd(10)} ${r.bagsPerSecond.toFixed(2).padStart(7)} ` +
              `${Math.round(r.instancesPerSecond).toString().padStart(8)} ${r.seconds.toFixed(1).padStart(6)} ` +
              `${r.waitSeconds.toFixed(1).padStart(9)} ${(r.cpuSeconds ?? 0).toFixed(1).padStart(6)}  ` +
              `${cachedText.padStart(13)}  ${load.toFixed(1)}`,
          );
        }
    }
    model.dispose();
    console.log('\nmedian bags/s (read-ahead 0 → 1):');
    for (const mode of new Set(rows.map((r) => r.mode))) {
      const of = (ra: 0 | 1) =>
        median(rows.filter((r) => r.mode === mode && r.readAhead === ra).map((r) => r.r.bagsPerSecond));
      console.log(`  ${mode}: ${of(0).toFixed(2)} → ${of(1).toFixed(2)} bags/s (${(of(1) / of(0)).toFixed(2)}×)`);
    }
    console.log(`1-minute load at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
    if (f.keep) console.log(`kept ${tmp}`);
  } finally {
    remove();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
