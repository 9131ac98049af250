/**
 * Bag-loading benchmark (`npm run bench:io [-- --json]`).
 *
 * 1. Writes a synthetic cohort of `bags` bags of 8000 × 1024 float32 (32 MiB each) to a temp dir.
 * 2. Throughput: loads bags in random order with the bag cache off, from the page cache (the file
 *    is read once first), and reports feature GB/s (1 GB = 1e9 bytes): default options (each bag
 *    is NaN-checked on its first load only), validation off, and first loads with the check.
 * 3. Memory: in a fresh child process, iterates the whole cohort with a bag cache 1/10 of its size
 *    (twice) and reports the peak RSS (VmHWM) next to the cache size: streaming must hold about one
 *    cache, not the cohort.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cohort } from '../data/cohort';
import { writeCohort } from '../data/writer';
import { Rng } from '../random';
import { parseFlags } from '../cli/flags';

const spec = {
  bags: { type: 'number', default: 20, help: 'bags in the synthetic cohort' },
  instances: { type: 'number', default: 8000, help: 'instances per bag' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  loads: { type: 'number', default: 60, help: 'random bag loads per throughput measurement' },
  json: { type: 'boolean', help: 'print JSON' },
  'rss-child': { type: 'string', help: '(internal) cohort path for the memory phase' },
  'cache-bytes': { type: 'number', help: '(internal) cache size for the memory phase' },
} as const;

const GB = 1e9;
const MiB = 2 ** 20;

function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/** Loads the bags at `order` (cache off) and returns feature GB/s and ms per bag. */
async function timeLoads(cohort: Cohort, order: number[]): Promise<{ gbps: number; msPerBag: number }> {
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (const i of order) bytes += (await cohort.bag(i)).features.byteLength;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { gbps: bytes / secs / GB, msPerBag: (1000 * secs) / order.length };
}

/**
 * Random-access throughput: without validation, interleaved load by load with a plain read of
 * the same bytes (the machine's floor, so the ratio survives a busy machine); with validation on
 * first load (each bag once, in random order); and the default configuration afterwards
 * (validated bags load without re-checking).
 */
async function throughput(file: string, loads: number) {
  const rng = new Rng(2);
  const random = (size: number) => Array.from({ length: loads }, () => rng.int(size));
  const raw = await Cohort.open(file, { cacheBytes: 0, validate: false });
  await raw.bag(0); // warm up the reader
  const fd = fs.openSync(file, 'r');
  let bagNs = 0;
  let readNs = 0;
  let bytes = 0;
  for (const i of random(raw.size)) {
    let t = process.hrtime.bigint();
    const n = (await raw.bag(i)).features.byteLength;
    bagNs += Number(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    fs.readSync(fd, new Uint8Array(n), 0, n, i * n); // same size, page-cached bytes
    readNs += Number(process.hrtime.bigint() - t);
    bytes += n;
  }
  fs.closeSync(fd);
  await raw.close();
  const rate = (ns: number) => ({ gbps: bytes / ns, msPerBag: ns / 1e6 / loads });
  const unchecked = rate(bagNs);
  const floor = rate(readNs);
  const checked = await Cohort.open(file, { cacheBytes: 0 });
  const firstLoad = await timeLoads(checked, rng.shuffle([...checked.bags.keys()]));
  const steady = await timeLoads(checked, random(checked.size));
  await checked.close();
  return { unchecked, firstLoad, steady, floor };
}

/** Child process: iterate the cohort twice with the given cache, print the peak RSS as JSON. */
async function rssChild(file: string, cacheBytes: number): Promise<void> {
  const before = process.memoryUsage().rss;
  const cohort = await Cohort.open(file, { cacheBytes });
  let maxCached = 0;
  let sum = 0;
  const peaks: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for await (const bag of cohort.iterate()) {
      sum += bag.features[0];
      maxCached = Math.max(maxCached, cohort.cachedBytes);
    }
    peaks.push(peakRssBytes());
  }
  await cohort.close();
  process.stdout.write(
    JSON.stringify({ rssBefore: before, peakRssPass1: peaks[0], peakRss: peaks[1], maxCached, check: sum }),
  );
}

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), spec);
  if (flags['rss-child']) return rssChild(flags['rss-child'] as string, flags['cache-bytes'] as number);
  const [bags, n, dim, loads] = [flags.bags, flags.instances, flags.dim, flags.loads] as number[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-io-'));
  const file = path.join(dir, 'synthetic.arrow');
  const log = (s: string) => flags.json || process.stderr.write(`${s}\n`);
  try {
    const bagBytes = n * dim * 4;
    log(`writing ${bags} bags of ${n} × ${dim} float32 (${((bags * bagBytes) / MiB).toFixed(0)} MiB) to ${dir} ...`);
    const rng = new Rng(1);
    const t0 = Date.now();
    await writeCohort(
      file,
      (function* () {
        for (let b = 0; b < bags; b++) {
          const features = new Float32Array(n * dim);
          for (let i = 0; i < features.length; i++) features[i] = rng.next() - 0.5;
          yield { id: `bag-${b}`, label: b % 2, features };
        }
      })(),
      { dim },
    );
    const writeSecs = (Date.now() - t0) / 1000;
    fs.readFileSync(file); // into the page cache
    const { unchecked, firstLoad, steady, floor } = await throughput(file, loads);
    const cacheBytes = Math.floor((bags * bagBytes) / 10);
    const child = spawnSync(process.execPath, [__filename, '--rss-child', file, '--cache-bytes', String(cacheBytes)], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`memory phase failed: ${child.stderr}`);
    const mem = JSON.parse(child.stdout) as {
      rssBefore: number;
      peakRssPass1: number;
      peakRss: number;
      maxCached: number;
    };
    const result = {
      bags,
      instances: n,
      dim,
      bagMiB: bagBytes / MiB,
      cohortMiB: (bags * bagBytes) / MiB,
      writeSeconds: writeSecs,
      loadGBps: steady.gbps,
      loadMsPerBag: steady.msPerBag,
      loadUncheckedGBps: unchecked.gbps,
      plainReadGBps: floor.gbps,
      firstLoadValidatedGBps: firstLoad.gbps,
      firstLoadValidatedMsPerBag: firstLoad.msPerBag,
      cacheMiB: cacheBytes / MiB,
      maxCachedMiB: mem.maxCached / MiB,
      rssBeforeMiB: mem.rssBefore / MiB,
      peakRssPass1MiB: mem.peakRssPass1 / MiB,
      peakRssMiB: mem.peakRss / MiB,
      goalGBps: 1,
      meetsGoal: steady.gbps >= 1,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const rows: [string, string][] = [
      [
        'cohort',
        `${bags} bags × ${n} × ${dim} float32 = ${result.cohortMiB.toFixed(0)} MiB (written in ${writeSecs.toFixed(1)} s)`,
      ],
      [
        'random bag load (page cache)',
        `${steady.gbps.toFixed(2)} GB/s, ${steady.msPerBag.toFixed(1)} ms per ${result.bagMiB.toFixed(0)} MiB bag, default options (goal ≥ 1 GB/s: ${result.meetsGoal ? 'met' : 'NOT met'})`,
      ],
      ['  validation off', `${unchecked.gbps.toFixed(2)} GB/s, ${unchecked.msPerBag.toFixed(1)} ms per bag`],
      [
        '  plain read of as many bytes',
        `${floor.gbps.toFixed(2)} GB/s, ${floor.msPerBag.toFixed(1)} ms per bag (interleaved with the line above: the machine's floor)`,
      ],
      [
        '  first load (NaN/Inf check)',
        `${firstLoad.gbps.toFixed(2)} GB/s, ${firstLoad.msPerBag.toFixed(1)} ms per bag (once per bag per open)`,
      ],
      [
        'stream 2 × cohort, cache 1/10',
        `cache ${result.cacheMiB.toFixed(0)} MiB (max held ${result.maxCachedMiB.toFixed(0)} MiB); peak RSS ${result.peakRssPass1MiB.toFixed(0)} MiB after pass 1, ${result.peakRssMiB.toFixed(0)} MiB after pass 2 (${result.rssBeforeMiB.toFixed(0)} MiB before)`,
      ],
    ];
    const w = Math.max(...rows.map(([k]) => k.length)) + 2;
    process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}${v}`).join('\n') + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:io: ${err instanceof Error ? err.message : err}\n`);
  process.exitCode = 1;
});
