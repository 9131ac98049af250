import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeCohort } from '../../src/data';
import { train } from '../../src/cli/commands/train';
import type { CliContext } from '../../src/cli/command';
import { Progress } from '../../src/cli/progress';
import { tempDir } from '../helpers/tmp';
import { syntheticBags } from './fixtures';

describe('mhim: `milkit train --model mhim` (in process)', () => {
  it('cross-validates MHIM-v2(AB-MIL) from the CLI and writes results naming the MHIM settings', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const data = path.join(dir, 'bags.arrow');
    const bags = syntheticBags(16, 15);
    await writeCohort(
      data,
      bags.map(({ bag, label }) => ({ id: bag.id, features: bag.features, label })),
      { dim: 16 },
    );
    const out: unknown[] = [];
    const ctx: CliContext = {
      print: () => undefined,
      json: (v) => out.push(v),
      warn: () => undefined,
      progress: (l, t) => new Progress(l, t, { enabled: false }),
    };
    const modelConfig = JSON.stringify({
      base: 'abmil',
      baseConfig: { embedDim: 8, attention: 'relu' },
      mhim: { version: 'v2', grn: { numQueries: 2 } },
    });
    const code = await train.run(
      [
        '--model',
        'mhim',
        '--model-config',
        modelConfig,
        '--data',
        data,
        '--folds',
        '2',
        '--epochs',
        '2',
        '--lr',
        '5e-3',
        '--select',
        'last',
        '--out',
        path.join(dir, 'run'),
        '--json',
        '--quiet',
      ],
      ctx,
    );
    assert.equal(code, 0);
    const summary = out[0] as {
      model: { name: string; config: { base: string; mhim: { version: string } } };
      summary: Record<string, { mean: number }>;
    };
    assert.equal(summary.model.name, 'mhim');
    assert.equal(summary.model.config.base, 'abmil');
    assert.equal(summary.model.config.mhim.version, 'v2');
    assert.ok(Number.isFinite(summary.summary.auc.mean));
    assert.ok(fs.existsSync(path.join(dir, 'run', 'results.json')));

    // The short form: --model abmil --mhim v2 (MHIM's ReLU AB-MIL variant unless --model-config says otherwise).
    out.length = 0;
    const short = await train.run(
      [
        '--model',
        'abmil',
        '--mhim',
        'v2',
        '--model-config',
        '{"embedDim":8}',
        '--data',
        data,
        '--folds',
        '2',
        '--epochs',
        '1',
        '--select',
        'last',
        '--out',
        path.join(dir, 'run2'),
        '--json',
        '--quiet',
      ],
      ctx,
    );
    assert.equal(short, 0);
    const s2 = out[0] as {
      model: { name: string; config: { base: string; baseConfig: Record<string, unknown>; mhim: { version: string } } };
    };
    assert.equal(s2.model.name, 'mhim');
    assert.deepEqual(
      [s2.model.config.base, s2.model.config.baseConfig.attention, s2.model.config.mhim.version],
      ['abmil', 'relu', 'v2'],
    );
  });
});
