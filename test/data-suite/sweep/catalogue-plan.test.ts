/**
 * The catalogue (results/catalogue.md) as one sweep plan, experiments/catalogue.plan.yaml: every
 * registered model in the catalogue's setting on real MUSK1 (5 × 10-fold) and three MNIST-bags
 * draws. Planned here on the real cohorts, which checks every model builds on each cohort it runs
 * on; nothing trains (npm run reproduce:catalogue runs the plan, or milkit sweep on a cluster).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCohorts, catalogueModelConfig, catalogueSweepPlan, takesImages } from '../../../experiments/catalogue';
import { listModels } from '../../../src/registry';
import { type TrainManifest, planSweep, unitTrainConfig } from '../../../src/sweep';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

const PLAN = path.resolve(__dirname, '..', '..', '..', 'experiments', 'catalogue.plan.yaml');

describe('data-suite/sweep: the catalogue as one sweep plan over four cohorts', function () {
  this.timeout(900_000);

  it('every registered model in the catalogue setting, expanded over MUSK1 and three MNIST-bags draws', async () => {
    const dir = tempDir();
    // The plan names its cohorts relative to itself (../runs/catalogue/, where the runner builds them).
    fs.mkdirSync(path.join(dir, 'experiments'));
    fs.copyFileSync(PLAN, path.join(dir, 'experiments', 'catalogue.plan.yaml'));
    await buildCohorts(catalogueSweepPlan(PLAN, path.join(dir, 'runs', 'catalogue')), sharedData('musk1'));
    const folder = await planSweep(path.join(dir, 'experiments', 'catalogue.plan.yaml'), path.join(dir, 'sweep'));
    const m = folder.manifest() as TrainManifest;
    const { plan } = m;

    assert.deepEqual(
      plan.cohorts.map((k) => [k.name, path.basename(k.path), k.repeats, k.seeds]),
      [
        ['musk1', 'musk1.arrow', 5, [2021]],
        ['mnist-bags', 'mnist-bags-100-seed1.arrow', undefined, [2021]],
        ['mnist-bags', 'mnist-bags-100-seed2.arrow', undefined, [2022]],
        ['mnist-bags', 'mnist-bags-100-seed3.arrow', undefined, [2023]],
      ],
    );
    const models = listModels();
    assert.deepEqual(
      plan.configs.map((c) => c.model.name),
      models.map((info) => info.name),
    );
    for (const [i, info] of models.entries()) {
      const c = plan.configs[i];
      assert.deepEqual(c.model.config, catalogueModelConfig(info), info.name);
      // Image models take images, not MUSK1's 166 numbers: they run on MNIST-bags only.
      assert.deepEqual(c.cohorts, takesImages(info) ? ['mnist-bags'] : undefined, info.name);
      const units = m.units.filter((u) => u.config === c.id);
      const on = (name: string) => units.filter((u) => plan.cohorts[u.cohort].name === name).length;
      assert.deepEqual([on('musk1'), on('mnist-bags')], [takesImages(info) ? 0 : 50, 3], info.name);
    }
    const common = { lr: 5e-4, selectOn: 'last', epochs: 20 };
    const abmil = plan.configs[models.findIndex((x) => x.name === 'abmil')];
    assert.deepEqual(unitTrainConfig(plan, abmil, plan.cohorts[0]), { ...common, standardize: true });
    // MNIST-bags: raw pixels (standardize is off by default).
    assert.deepEqual(unitTrainConfig(plan, abmil, plan.cohorts[1]), common);
    assert.deepEqual(
      m.cohorts.map((k) => [k.name, k.bags]),
      [
        ['musk1', 92],
        ['mnist-bags', 1100],
        ['mnist-bags', 1100],
        ['mnist-bags', 1100],
      ],
    );
  });
});
