/**
 * SSL vs no-SSL on UCSB breast (`node dist/bench/ssl-experiment.js --out runs/ssl-breast`).
 *
 * Encoders: frozen random (no SSL), SSL contrastive, SSL reconstruction, SSL both; plus the
 * hand-crafted colour-statistics feature for reference. Each encoder featurises every background-
 * filtered 32 × 32 tile of the 58 images; bags are then cut to at most K tiles (K = 64 / 128 / 256,
 * the same seeded tiles for every encoder) and attention MIL (ABMIL) is cross-validated on them
 * (stratified k-fold). Reports accuracy, macro F1 and AUC as mean ± sd over folds, and the
 * pretraining time. Writes results.json and results.md to --out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useBackend } from '../backend';
import { parseFlags } from '../cli/flags';
import { Cohort } from '../data/cohort';
import { BREAST_ARCHIVE, breastPatchBags } from '../data/datasets/breast';
import { dataRoot } from '../data/datasets/types';
import { type PatchBag, type PatchFeaturizer, colorStatsFeaturizer, writePatchCohort } from '../data/images';
import { stratifiedKFold } from '../data/splits';
import { writeCohort } from '../data/writer';
import { Rng } from '../random';
import { collectPatches, encoderFeaturizer } from '../ssl/extract';
import { SslNetwork } from '../ssl/network';
import { type ObjectiveName, OBJECTIVES, pretrain } from '../ssl/pretrain';
import { Trainer } from '../train';

const spec = {
  out: { type: 'string', default: 'runs/ssl-breast', help: 'output folder' },
  steps: { type: 'number', default: 150, help: 'pretraining steps per SSL encoder' },
  'batch-size': { type: 'number', default: 64, help: 'pretraining batch' },
  width: { type: 'number', default: 8, help: 'encoder first-stage channels' },
  'embed-dim': { type: 'number', default: 64, help: 'encoder output width' },
  'pool-patches': { type: 'number', default: 10000, help: 'tiles sampled for pretraining' },
  'bag-sizes': { type: 'string', default: '64,128,256', help: 'bag sizes K (tiles per bag, sampled)' },
  folds: { type: 'number', default: 5, help: 'cross-validation folds' },
  epochs: { type: 'number', default: 20, help: 'MIL epochs per fold' },
  lr: { type: 'number', default: 5e-4, help: 'MIL learning rate' },
  seed: { type: 'number', default: 0, help: 'seed' },
  encoders: {
    type: 'string',
    default: 'colour,random,contrastive,reconstruction,both',
    help: 'feature extractors to compare',
  },
} as const;

interface Row {
  encoder: string;
  bagSize: number;
  accuracy: string;
  f1: string;
  auc: string;
  acc: number[];
  f1s: number[];
  aucs: number[];
}

const fmt = (m: { mean: number; sd: number }) => `${m.mean.toFixed(3)} ± ${m.sd.toFixed(3)}`;
const meanSd = (a: number[]) => {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return { mean, sd: Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, a.length - 1)) };
};

/** Writes a copy of `full` whose bags keep at most `k` instances (seeded per bag, same for every encoder). */
async function subsample(full: string, out: string, k: number, seed: number): Promise<void> {
  const cohort = await Cohort.open(full, { cacheBytes: 0 });
  async function* bags() {
    for (let i = 0; i < cohort.size; i++) {
      const b = await cohort.bag(i);
      const keep =
        b.numInstances <= k
          ? [...Array(b.numInstances).keys()]
          : new Rng(seed * 1000 + i).sample(b.numInstances, k).sort((x, y) => x - y);
      const features = new Float32Array(keep.length * b.dim);
      const coords = new Int32Array(keep.length * 2);
      keep.forEach((j, r) => {
        features.set(b.features.subarray(j * b.dim, (j + 1) * b.dim), r * b.dim);
        coords.set(b.coords!.subarray(2 * j, 2 * j + 2), 2 * r);
      });
      yield { id: b.id, label: b.label, patientId: b.patientId, features, coords };
    }
  }
  await writeCohort(out, bags(), { dim: cohort.dim });
  await cohort.close();
}

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), spec);
  const backend = await useBackend();
  const out = flags.out as string;
  fs.mkdirSync(out, { recursive: true });
  const seed = flags.seed as number;
  const net = { inputSize: 32, width: flags.width as number, embedDim: flags['embed-dim'] as number, projDim: 32 };
  const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

  const source = path.join(dataRoot(), 'breast-ucsb', BREAST_ARCHIVE);
  const bags: PatchBag[] = [];
  for await (const b of breastPatchBags({ source })) bags.push(b);
  log(
    `${bags.length} images, ${bags.reduce((s, b) => s + b.n, 0)} tissue tiles (min ${Math.min(...bags.map((b) => b.n))} per image)`,
  );
  const pool = await collectPatches(bags, { maxPatches: flags['pool-patches'] as number, seed });

  const wanted = new Set((flags.encoders as string).split(','));
  const encoders: { name: string; featurizer: PatchFeaturizer; pretrainSeconds: number; dispose?: () => void }[] = [];
  if (wanted.has('colour'))
    encoders.push({ name: 'colour statistics (hand-crafted)', featurizer: colorStatsFeaturizer, pretrainSeconds: 0 });
  if (wanted.has('random')) {
    const random = new SslNetwork(net, seed);
    encoders.push({
      name: 'random frozen encoder (no SSL)',
      featurizer: encoderFeaturizer(random),
      pretrainSeconds: 0,
      dispose: () => random.dispose(),
    });
  }
  for (const objective of (['contrastive', 'reconstruction', 'both'] as ObjectiveName[]).filter((o) => wanted.has(o))) {
    const r = await pretrain(
      pool,
      { net, ...OBJECTIVES[objective], steps: flags.steps as number, batchSize: flags['batch-size'] as number, seed },
      {
        checkpoint: path.join(out, `encoder-${objective}.ckpt`),
        checkpointEvery: 50,
        resume: true,
      },
    );
    const h = r.history;
    log(
      `pretrained ${objective}: ${h.length} steps in ${r.seconds.toFixed(0)} s, loss ${h[0].loss.toFixed(3)} → ${h.at(-1)!.loss.toFixed(3)}`,
    );
    encoders.push({
      name: `SSL ${objective}`,
      featurizer: encoderFeaturizer(r.network),
      pretrainSeconds: r.seconds,
      dispose: () => r.network.dispose(),
    });
  }

  const rows: Row[] = [];
  const sizes = (flags['bag-sizes'] as string).split(',').map(Number);
  for (const enc of encoders) {
    const full = path.join(out, `features-${enc.name.split(' ').slice(0, 2).join('-').replace(/[()]/g, '')}.arrow`);
    await writePatchCohort(full, bags, enc.featurizer, { patchSize: 32 });
    enc.dispose?.();
    for (const k of sizes) {
      const file = full.replace(/\.arrow$/, `-k${k}.arrow`);
      await subsample(full, file, k, seed);
      const cohort = await Cohort.open(file);
      const splits = stratifiedKFold(cohort.bags, { k: flags.folds as number, seed });
      const run = await new Trainer({
        model: { name: 'abmil' },
        config: { epochs: flags.epochs as number, lr: flags.lr as number, seed, standardize: true, selectOn: 'last' },
      }).crossValidate(cohort, [splits]);
      await cohort.close();
      const acc = run.folds.map((f) => f.metrics.accuracy);
      const f1s = run.folds.map((f) => f.metrics.f1);
      const aucs = run.folds.map((f) => f.metrics.auc);
      rows.push({
        encoder: enc.name,
        bagSize: k,
        accuracy: fmt(meanSd(acc)),
        f1: fmt(meanSd(f1s)),
        auc: fmt(meanSd(aucs)),
        acc,
        f1s,
        aucs,
      });
      log(`${enc.name}, K=${k}: accuracy ${rows.at(-1)!.accuracy}, F1 ${rows.at(-1)!.f1}, AUC ${rows.at(-1)!.auc}`);
    }
  }
  const settings = { ...flags, backend: backend.name, net };
  const pretrainSeconds = Object.fromEntries(encoders.map((e) => [e.name, e.pretrainSeconds]));
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ settings, pretrainSeconds, rows }, null, 2));
  const md = [
    `# SSL vs no-SSL, UCSB breast (58 images), ABMIL ${flags.folds}-fold CV`,
    '',
    `Settings: ${JSON.stringify(settings)}`,
    '',
    '| features | bag size K | accuracy | macro F1 | AUC |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.encoder} | ${r.bagSize} | ${r.accuracy} | ${r.f1} | ${r.auc} |`),
    '',
    `Pretraining seconds: ${JSON.stringify(pretrainSeconds)}`,
  ].join('\n');
  fs.writeFileSync(path.join(out, 'results.md'), md + '\n');
  console.log(md);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
