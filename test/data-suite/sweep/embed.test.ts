/**
 * `slides embed` as sweep units (kind: embed, one unit per shard of slides) on real slides: the
 * CMU SVS slide and three UCSB breast images, tiled at 128 px and 10×, embedded by a tiny
 * SSL encoder (2 pretraining steps, 32-px input). Small settings: this checks the plumbing (shards,
 * the cohort collect writes, local = Slurm = one `slides embed`), not the features.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readH5Slide } from '../../../src/data/convert/h5';
import { type EmbedPlan, sweep } from '../../../src/sweep';
import { useSlurmCluster } from '../../helpers/slurm';
import { tempDir } from '../../helpers/tmp';
import { CMU, unpackUcsb } from '../slides/data';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'milkit.js');
const WAIT = { timeoutMs: 600_000, intervalMs: 1000 };

/** The built CLI; one OpenBLAS thread, as each sweep unit has (another count may change the last bits). */
function milkit(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, MILKIT_BLAS_THREADS: '1' },
  });
  assert.equal(r.status, 0, `milkit ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

describe('data-suite/sweep: slides embed as sweep units on real slides (local pool and Slurm)', function () {
  this.timeout(900_000);
  useSlurmCluster();
  const dir = tempDir('milkit-sweep-embed-');
  const labels = path.join(dir, 'labels.csv');
  const ckpt = path.join(dir, 'enc.ckpt');
  let slides: string[] = [];
  const tiles = (name: string) => path.join(dir, `tiles-${name}`);
  const plan = (name: string): EmbedPlan => ({
    kind: 'embed',
    name: `embed-${name}`,
    tiles: tiles(name),
    encoder: `ssl:${ckpt}`,
    labels,
    out: path.join(dir, `${name}.arrow`),
    slidesPerUnit: 2,
  });

  before(() => {
    const ucsb = unpackUcsb(dir);
    slides = [CMU(), ucsb.find((f) => f.includes('benign'))!, ...ucsb.filter((f) => f.includes('malig')).slice(0, 2)];
    const id = (f: string) => path.basename(f).replace(/\.(svs|tif)$/, '');
    fs.writeFileSync(
      labels,
      ['slide_id,label', ...slides.map((f, i) => `${id(f)},${i < 2 ? 'benign' : 'malignant'}`)].join('\n'),
    );
    // The same tiling three times: one folder per executor and one for `slides embed` itself.
    for (const name of ['local', 'slurm', 'ref'])
      milkit(
        'slides',
        'tile',
        ...slides,
        '--out',
        tiles(name),
        '--patch-size',
        '128',
        '--mpp',
        '1',
        '--magnification',
        '10',
        '--quiet',
      );
    milkit(
      'slides',
      'pretrain',
      tiles('ref'),
      '--out',
      ckpt,
      '--steps',
      '2',
      '--input-size',
      '32',
      '--max-patches',
      '64',
      '--quiet',
    );
  });

  it('two shards of two slides on the local pool and on Slurm: the same cohort as one slides embed', async () => {
    const local = await sweep(plan('local'), { out: path.join(dir, 'sweep-local'), executor: 'local', workers: 2 });
    assert.deepEqual(
      local.folder.manifest().units.map((u) => ('slides' in u ? u.slides.length : 0)),
      [2, 2],
    );
    const slurm = await sweep(plan('slurm'), { out: path.join(dir, 'sweep-slurm'), executor: 'slurm' });
    const [tl, ts] = await Promise.all([local.wait(WAIT), slurm.wait(WAIT)]);
    for (const t of [tl, ts]) {
      assert.equal(t.complete, true, JSON.stringify(t.missing));
      assert.equal(t.slides.length, 4);
      assert.equal(t.cohort!.bags, 4);
      assert.deepEqual(t.cohort!.classes, ['benign', 'malignant']);
    }
    // Each shard ran as a Slurm array task: its log names the shard and its slides.
    const logs = fs.readdirSync(path.join(slurm.dir, 'logs'));
    assert.equal(logs.length, 2);
    for (const l of logs)
      assert.match(fs.readFileSync(path.join(slurm.dir, 'logs', l), 'utf8'), /unit shard-000\d done/);
    milkit(
      'slides',
      'embed',
      tiles('ref'),
      '--encoder',
      `ssl:${ckpt}`,
      '--labels',
      labels,
      '--out',
      path.join(dir, 'ref.arrow'),
      '--quiet',
    );
    const enc = fs.readdirSync(tiles('ref')).find((d) => d.startsWith('features_'))!;
    for (const s of tl.slides) {
      const ref = await readH5Slide(path.join(tiles('ref'), enc, `${s.slideId}.h5`));
      for (const name of ['local', 'slurm']) {
        const got = await readH5Slide(path.join(tiles(name), enc, `${s.slideId}.h5`));
        assert.deepEqual(got.coords, ref.coords);
        assert.deepEqual(got.features, ref.features, `${name} ${s.slideId}`);
      }
    }
    const st = spawnSync(process.execPath, [BIN, 'sweep', 'status', slurm.dir], { encoding: 'utf8' });
    assert.match(st.stdout, /done 2\/2/);
  });
});
