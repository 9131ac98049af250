/**
 * The bag-level catalogue models (DP-MINN, GNN-MIL, Loss-Attention, SA-AbMILP, DTFD-MIL,
 * IBMIL, DAS-MIL, Extreme MIL, R²T-MIL) learn real data with the normal trainer, in the catalogue's
 * model setting (registered defaults, embedDim 64, dropout 0: experiments/catalogue.ts), Adam lr 5e-4
 * (cosine), last-epoch weights, seed 2021. Small documented settings so the file stays near a minute
 * on an idle 2-core machine:
 *  - MUSK1: one stratified split into 2/3 training (61 bags) and 1/3 test (31 bags) (seed 0), per-fold
 *    standardisation, 15 epochs; bar: test AUC > 0.75 (chance 0.5).
 *  - MNIST-bags (Ilse et al.; target 9, bag size N(10, 2)): 100 training bags, 200 test bags, raw pixels
 *    (no convolutional encoder), 10 epochs; bar: test AUC > 0.65 (chance 0.5), the instance-level bar.
 *    Training seeds 2022 and 2023 gave the same verdicts (lowest: GNN-MIL 0.704).
 * IBMIL runs its two stages inside the run (dictionary built after half of the steps).
 * The full protocols (MUSK1 5 × 10-fold, 1000 MNIST test bags, 20 epochs): npm run reproduce:catalogue.
 */
import { strict as assert } from 'node:assert';
import { listModels } from '../../../src/registry';
import { catalogueModelConfig } from '../../../experiments/catalogue';
import { tempDir } from '../../helpers/tmp';
import { allSplits, buildBenchmarks, oneThirdTest, trainAndTest, type Benchmark } from './train-and-test';

const MODELS = [
  'dp-minn',
  'gnn-mil',
  'loss-attention',
  'sa-abmilp',
  'dtfd-mil',
  'ibmil',
  'das-mil',
  'extreme-mil',
  'r2t-mil',
];

/**
 * The one exception, same bar: DP-MINN on MNIST-bags trains at lr 2e-4. Its routing logits h·v are
 * unbounded, and at lr ≥ 5e-4 the raw-pixel embeddings grow until the routing picks one instance
 * (not the 9) and stops passing gradient (see the DpMinn docstring): lr 5e-4 gives 0.655 / 0.736 /
 * 0.700 (seeds 2021-2023) and falls with more epochs (0.54 after 20 at lr 1e-3), lr 2e-4 gives
 * 0.744 / 0.815 / 0.744.
 */
const MNIST_LR: Record<string, number> = { 'dp-minn': 2e-4 };

describe('data-suite/models: the bag-level catalogue models learn MUSK1 and MNIST-bags', function () {
  this.timeout(1_800_000);
  const dir = tempDir();
  let data: { musk: Benchmark; mnist: Benchmark };
  before(async () => {
    data = await buildBenchmarks(dir);
  });

  for (const name of MODELS) {
    it(`${name}: MUSK1 (61/31 bags) test AUC > 0.75, MNIST-bags (100 training bags) test AUC > 0.65`, async () => {
      const model = { name, config: catalogueModelConfig(listModels().find((m) => m.name === name)!) };
      const t0 = Date.now();
      const m = await trainAndTest(data.musk, oneThirdTest, model, { epochs: 15, lr: 5e-4, standardize: true });
      const t1 = Date.now();
      const b = await trainAndTest(data.mnist, allSplits, model, { epochs: 10, lr: MNIST_LR[name] ?? 5e-4 });
      const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
      console.log(
        `      ${name}: MUSK1 61/31 accuracy ${m.accuracy.mean.toFixed(3)}, AUC ${m.auc.mean.toFixed(3)} ` +
          `(${((t1 - t0) / 1000).toFixed(1)} s); MNIST-bags 100/200 AUC ${b.auc.mean.toFixed(3)} (${secs(t1)} s)`,
      );
      assert.ok(m.auc.mean > 0.75, `${name}: MUSK1 AUC ${m.auc.mean}`);
      assert.ok(b.auc.mean > 0.65, `${name}: MNIST-bags AUC ${b.auc.mean}`);
    });
  }
});
