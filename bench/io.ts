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
 * 4. Writer memory: in fresh child processes, writes a cohort of `write-bags` bags with milkit's
 *    writer (one synchronous write per message) and, side by side, with Arrow's stock file writer
 *    piped to a file stream (what milkit used before: every message queued until the stream drains);
 *    `runs` times each, min and median of peak RSS and time.
 */
import * as A from 'apache-arrow';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Cohort, Rng, writeCohort } from 'milkit';
import { describeSettings, parseSettings } from '../experiments/common/runner';

const spec = {
  bags: { type: 'number', default: 20, help: 'bags in the synthetic cohort' },
  instances: { type: 'number', default: 8000, help: 'instances per bag' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  loads: { type: 'number', default: 60, help: 'random bag loads per throughput measurement' },
  json: { type: 'boolean', help: 'print JSON' },
  'write-bags': { type: 'number', help: 'bags of the writer-memory cohort (default: --bags)' },
  runs: { type: 'number', default: 3, help: 'runs of each writer in the writer-memory phase' },
  'rss-child': { type: 'string', help: '(internal) cohort path for the memory phase' },
  'write-child': { type: 'string', help: '(internal) cohort path for the writer phase' },
  writer: { type: 'string', help: '(internal) milkit | arrow-queue' },
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

/** Synthetic bags, generated one at a time (the generator itself holds one bag). */
function* syntheticBags(bags: number, n: number, dim: number) {
  const rng = new Rng(1);
  for (let b = 0; b < bags; b++) {
    const features = new Float32Array(n * dim);
    for (let i = 0; i < features.length; i++) features[i] = rng.next() - 0.5;
    yield { id: `bag-${b}`, label: b % 2, features };
  }
}

/** The stock Arrow file writer piped to a file stream, as milkit's writer was before. */
async function writeArrowQueue(file: string, bags: number, n: number, dim: number): Promise<void> {
  const item = new A.Field('item', new A.Float32(), false);
  const featureType = new A.FixedSizeList(dim, item);
  const fields = [new A.Field('bag_id', new A.Utf8(), false), new A.Field('features', featureType, false)];
  const schema = new A.Schema(fields);
  const writer = new A.RecordBatchFileWriter();
  writer.reset(undefined, schema);
  const drained = pipeline(writer.toNodeStream() as unknown as NodeJS.ReadableStream, fs.createWriteStream(file));
  for (const bag of syntheticBags(bags, n, dim)) {
    const ids = A.vectorFromArray(new Array<string>(n).fill(bag.id), new A.Utf8()).data[0];
    const values = A.makeData({ type: new A.Float32(), length: n * dim, data: bag.features });
    const feats = A.makeData({ type: featureType, length: n, child: values, nullCount: 0 });
    writer.write(
      new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length: n, children: [ids, feats] })),
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
  writer.finish();
  await drained;
}

/** Child process: write a cohort with one writer, print peak RSS, seconds and bytes as JSON. */
async function writeChild(file: string, writer: string, bags: number, n: number, dim: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  if (writer === 'arrow-queue') await writeArrowQueue(file, bags, n, dim);
  else await writeCohort(file, syntheticBags(bags, n, dim), { dim });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ peakRss: peakRssBytes(), seconds, bytes: fs.statSync(file).size }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Writer memory, both writers interleaved run by run (so machine load hits both alike). */
function writerMemory(dir: string, bags: number, n: number, dim: number, runs: number) {
  const out: Record<string, { peakRss: number; seconds: number; bytes: number }[]> = { milkit: [], 'arrow-queue': [] };
  for (let r = 0; r < runs; r++) {
    for (const writer of Object.keys(out)) {
      const file = path.join(dir, `write-${writer}.arrow`);
      const args = [
        __filename,
        '--write-child',
        file,
        '--writer',
        writer,
        '--bags',
        String(bags),
        '--instances',
        String(n),
        '--dim',
        String(dim),
      ];
      const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`writer phase (${writer}) failed: ${child.stderr}`);
      out[writer].push(JSON.parse(child.stdout));
      for (const f of fs.readdirSync(dir)) if (f.startsWith('write-')) fs.rmSync(path.join(dir, f));
    }
  }
  const summary = (xs: { peakRss: number; seconds: number; bytes: number }[]) => ({
    bytesWrittenMiB: xs[0].bytes / MiB,
    peakRssMiB: { min: Math.min(...xs.map((x) => x.peakRss)) / MiB, median: median(xs.map((x) => x.peakRss)) / MiB },
    seconds: { min: Math.min(...xs.map((x) => x.seconds)), median: median(xs.map((x) => x.seconds)) },
  });
  return { runs, milkit: summary(out.milkit), arrowQueue: summary(out['arrow-queue']) };
}

async function main(): Promise<void> {
  const { values: flags, help } = parseSettings(spec, process.argv.slice(2));
  if (help) return void console.log(describeSettings(spec));
  if (flags['rss-child']) return rssChild(flags['rss-child'] as string, flags['cache-bytes'] as number);
  if (flags['write-child'])
    return writeChild(
      flags['write-child'] as string,
      flags.writer as string,
      flags.bags as number,
      flags.instances as number,
      flags.dim as number,
    );
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
    const writeBags = (flags['write-bags'] as number | undefined) ?? bags;
    log(
      `writer memory: ${flags.runs} × 2 cohorts of ${writeBags} ` +
        `bags (${((writeBags * bagBytes) / MiB).toFixed(0)} MiB) ...`,
    );
    const writing = writerMemory(dir, writeBags, n, dim, flags.runs as number);
    fs.readFileSync(file); // into the page cache
    const { unchecked, firstLoad, steady, floor } = await throughput(file, loads);
    const cacheBytes = Math.floor((bags * bagBytes) / 10);
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, __filename, '--rss-child', file, '--cache-bytes', String(cacheBytes)],
      { encoding: 'utf8' },
    );
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
      writer: writing,
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, load1: os.loadavg()[0] },
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const rows: [string, string][] = [
      [
        'cohort',
        `${bags} bags × ${n} × ${dim} float32 = ${result.cohortMiB.toFixed(0)} ` +
          `MiB (written in ${writeSecs.toFixed(1)} s)`,
      ],
      [
        'random bag load (page cache)',
        `${steady.gbps.toFixed(2)} GB/s, ${steady.msPerBag.toFixed(1)} ms per ${result.bagMiB.toFixed(0)} ` +
          `MiB bag, default options (goal ≥ 1 GB/s: ${result.meetsGoal ? 'met' : 'NOT met'})`,
      ],
      ['  validation off', `${unchecked.gbps.toFixed(2)} GB/s, ${unchecked.msPerBag.toFixed(1)} ms per bag`],
      [
        '  plain read of as many bytes',
        `${floor.gbps.toFixed(2)} GB/s, ${floor.msPerBag.toFixed(1)} ms ` +
          `per bag (interleaved with the line above: the machine's floor)`,
      ],
      [
        '  first load (NaN/Inf check)',
        `${firstLoad.gbps.toFixed(2)} GB/s, ${firstLoad.msPerBag.toFixed(1)} ms per bag (once per bag per open)`,
      ],
      [
        'stream 2 × cohort, cache 1/10',
        `cache ${result.cacheMiB.toFixed(0)} MiB (max held ${result.maxCachedMiB.toFixed(0)} ` +
          `MiB); peak RSS ${result.peakRssPass1MiB.toFixed(0)} MiB after pass ` +
          `1, ${result.peakRssMiB.toFixed(0)} MiB after pass 2 (${result.rssBeforeMiB.toFixed(0)} MiB before)`,
      ],
    ];
    const wm = (s: typeof writing.milkit) =>
      `peak RSS min ${s.peakRssMiB.min.toFixed(0)} / median ${s.peakRssMiB.median.toFixed(0)} ` +
      `MiB, ${s.seconds.min.toFixed(1)} / ${s.seconds.median.toFixed(1)} s`;
    rows.push(
      [
        `write ${writing.milkit.bytesWrittenMiB.toFixed(0)} MiB (${writing.runs} runs)`,
        `milkit writer: ${wm(writing.milkit)}`,
      ],
      ['', `Arrow's queued writer (before): ${wm(writing.arrowQueue)}`],
      [
        'machine',
        `${result.machine.cpu}, ${result.machine.cores} cores, 1-min load ${result.machine.load1.toFixed(1)}`,
      ],
    );
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
