/**
 * Named training protocols (`--protocol ilse2018 | loss-attention`): the preset reaches the model and
 * the trainer, flags given on the command line override it, and the pieces the presets need (fully
 * connected layers before the projection, the authors' mean-reduced instance loss) do what they say.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../../src/cli/commands/train';
import type { CliContext } from '../../src/cli/command';
import { Progress } from '../../src/cli/progress';
import { createModel } from '../../src/registry';
import { PROTOCOLS, withProtocol } from '../../src/train/protocols';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from './fixtures';

describe('train/protocols', () => {
  it('withProtocol: the paper’s model options and training config, explicit values win, the name is recorded', () => {
    const p = withProtocol('ilse2018', 'gabmil', { train: { epochs: 3 }, modelConfig: { dropout: 0 } });
    assert.equal(p.model.name, 'gabmil');
    assert.deepEqual(p.model.config.hidden, [256, 128]);
    assert.equal(p.model.config.dropout, 0);
    assert.equal(p.config.epochs, 3);
    assert.equal(p.config.lr, PROTOCOLS.ilse2018.train.lr);
    assert.equal(p.config.protocol, 'ilse2018');
    assert.equal(withProtocol('loss-attention').model.name, 'loss-attention', 'the first model is the default');
    assert.throws(() => withProtocol('ilse2019'), /unknown protocol "ilse2019" \(did you mean ilse2018\?\)/);
    assert.throws(() => withProtocol('ilse2018', 'transmil'), /defines the models abmil, gabmil; got --model transmil/);
  });

  it('ilse2018 builds fc-256, fc-128, fc-64 before the attention pooling (Ilse et al., Table 7)', () => {
    const m = createModel('abmil', { ...withProtocol('ilse2018').model.config, inputDim: 166, numClasses: 2, seed: 1 });
    const shapes = Object.fromEntries([...m.namedVariables()].map(([k, v]) => [k, v.shape]));
    assert.deepEqual(shapes['hidden/0/kernel'], [166, 256]);
    assert.deepEqual(shapes['hidden/1/kernel'], [256, 128]);
    assert.deepEqual(shapes['projection/kernel'], [128, 64]);
    m.dispose();
  });

  it("loss-attention's 'mean' instance loss is the 'sum' one divided by N (the authors' code)", () => {
    const config = { inputDim: 5, numClasses: 2, seed: 3, dropout: 0, instanceLossWeight: 2 };
    const sum = createModel('loss-attention', { ...config, instanceLossReduction: 'sum' });
    const mean = createModel('loss-attention', { ...config, instanceLossReduction: 'mean' });
    const x = tf.randomNormal([7, 5], 0, 1, 'float32', 4) as tf.Tensor2D;
    const target = { kind: 'class' as const, label: 1, numClasses: 2 };
    const aux = (m: typeof sum) => m.forward(x, { training: true, target }).auxLosses!.instance.dataSync()[0];
    const s = aux(sum);
    assert.ok(s > 0);
    assert.ok(Math.abs(aux(mean) - s / 7) <= 1e-6 * s);
    tf.dispose([x]);
    sum.dispose();
    mean.dispose();
  });

  it('milkit train --protocol: the run records the preset, a flag given overrides it', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const data = await writeToyCohort(dir, { bags: 12, dim: 6 });
    const out: unknown[] = [];
    const ctx: CliContext = {
      print: () => undefined,
      json: (v) => out.push(v),
      warn: () => undefined,
      progress: (l, t) => new Progress(l, t, { enabled: false }),
    };
    const args = ['--protocol', 'ilse2018', '--data', data, '--folds', '2', '--epochs', '1', '--json', '--quiet'];
    assert.equal(await train.run([...args, '--out', path.join(dir, 'run')], ctx), 0);
    const run = out[0] as { model: { name: string; config: Record<string, unknown> }; config: Record<string, unknown> };
    assert.equal(run.model.name, 'abmil');
    assert.deepEqual(run.model.config.hidden, [256, 128]);
    assert.equal(run.config.protocol, 'ilse2018');
    assert.equal(run.config.epochs, 1, 'given: overrides the preset’s 100');
    assert.equal(run.config.weightDecay, 5e-3, 'not given: the preset’s, not the flag default 1e-5');
    assert.equal(run.config.standardize, true);
  });
});
