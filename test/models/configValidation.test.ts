/**
 * Model configs are checked against the model's typed defaults before anything is built: one clear
 * error naming the model, the option and the fix, never a tfjs internal ("Invalid typed array
 * length") or a silently different model. Every model's published defaults must pass.
 */
import { strict as assert } from 'node:assert';
import { MilkitDataError } from '../../src/data/errors';
import { createModel, listModels } from '../../src/registry';

function refuses(name: string, config: Record<string, unknown>, ...fragments: string[]): void {
  assert.throws(
    () => createModel(name, { inputDim: 4, ...config }).dispose(),
    (err: unknown) => {
      assert.ok(err instanceof MilkitDataError, `expected MilkitDataError, got ${err}`);
      for (const f of [`model "${name}"`, 'Fix:', ...fragments])
        assert.ok(err.message.includes(f), `"${err.message}" lacks "${f}"`);
      return true;
    },
  );
}

describe('registry: model configs are validated against the typed defaults', function () {
  this.timeout(120_000);
  it('every model builds from its own published defaults (all options given explicitly)', () => {
    for (const m of listModels()) {
      const model = createModel(m.name, { ...m.defaults, inputDim: m.name === 'image-mil' ? m.defaults.inputDim : 4 });
      model.dispose();
    }
  });

  it('widths and counts: whole numbers ≥ 1', () => {
    refuses('abmil', { embedDim: -4 }, 'modelConfig.embedDim', '-4', 'whole number ≥ 1');
    refuses('abmil', { embedDim: 0 }, 'embedDim');
    refuses('abmil', { embedDim: 2.5 }, 'embedDim', '2.5');
    refuses('transmil', { heads: 0 }, 'heads');
    refuses('clam-sb', { k: -1 }, 'field "modelConfig.k"');
    refuses('abmil', { inputDim: 0 }, 'inputDim');
  });

  it('types follow the defaults: numbers, booleans, lists, no null', () => {
    refuses('abmil', { embedDim: 'big' }, 'embedDim', '"big"', 'must be a number');
    refuses('abmil', { gated: 'yes' }, 'gated', 'true or false');
    refuses('abmil', { dropout: null }, 'dropout', 'null');
    refuses('mi-net', { hidden: 256 }, 'hidden', 'list');
    refuses('mi-net', { hidden: ['a'] }, 'hidden', 'whole numbers');
  });

  it('rates in [0, 1), weights ≥ 0', () => {
    refuses('abmil', { dropout: 1.5 }, 'dropout', '[0, 1)');
    refuses('abmil', { dropout: 1 }, 'dropout');
    refuses('abmil', { dropout: -0.1 }, 'dropout');
    refuses('clam-sb', { bagWeight: -1 }, 'bagWeight', '≥ 0');
  });

  it('named choices: one of the implemented ones, with a suggestion', () => {
    refuses('abmil', { activation: 'swish' }, 'activation', 'relu, gelu');
    refuses('abmil', { attention: 'gatd' }, 'attention', 'did you mean "gated"');
    refuses('mean-mil', { pooling: 'median' }, 'pooling');
    refuses('sa-abmilp', { kernel: 'cosine' }, 'kernel', 'rbf');
  });

  it('valid values in range are accepted', () => {
    for (const [name, config] of [
      ['abmil', { embedDim: 8, dropout: 0, gated: true, attention: 'relu', activation: 'relu' }],
      ['mi-net', { hidden: [8, 4] }],
      ['sa-abmilp', { kernel: 'rbf' }],
    ] as const)
      createModel(name, { inputDim: 4, ...config }).dispose();
  });
});
