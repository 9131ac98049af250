/**
 * Training protocols: a paper's whole setting (model options, optimiser, schedule, epochs, selection,
 * preprocessing) under one name, so `milkit train --protocol ilse2018 --model gabmil` or
 * `new Trainer(withProtocol('ilse2018', 'gabmil'))` runs what the paper ran. Explicit options override
 * the preset, and the name is recorded in the run's config (`config.protocol`). Pure data: what each
 * setting is, and where it was read, is in its `source`; what could not be read is in `notes`.
 */
import { closest } from '../didYouMean';
import type { TrainConfig } from './config';

export interface Protocol {
  /** One line for listings. */
  title: string;
  paper: string;
  /** Where the settings come from (the paper's section/table, the authors' code). */
  source: string;
  /** Model options per model the paper ran; the first is the default model. */
  models: Record<string, Record<string, unknown>>;
  train: Partial<TrainConfig>;
  /** What the protocol could not take from the paper, and how it was filled. */
  notes: string;
}

export const PROTOCOLS = {
  ilse2018: {
    title: "Ilse et al.'s MIL-benchmark network and optimiser (MUSK1): 166-256-128-64 ReLU, attention 64, Adam 5e-4",
    paper: 'Ilse, Tomczak & Welling, Attention-based Deep Multiple Instance Learning, ICML 2018',
    source:
      'the paper, §4.1 and appendix (Table 7: fc-256, fc-128, fc-64 with ReLU and dropout, then (gated) attention ' +
      'pooling with 64 hidden units and one output; Table 8, MUSK1: Adam β = (0.9, 0.999), lr 5e-4, weight decay ' +
      '5e-3, 100 epochs); the network is that of Wang et al. 2018 (mi-Net), whose code standardises the features ' +
      'and runs 5 × 10-fold cross-validation, reporting the test accuracy after the last epoch; PyTorch’s default ' +
      'Linear init, as the authors’ model code (AMLab-Amsterdam/AttentionDeepMIL, model.py) never re-initialises',
    models: {
      abmil: {
        hidden: [256, 128],
        embedDim: 64,
        activation: 'relu',
        dropout: 0.5,
        attention: 'tanh',
        attentionDim: 64,
        weightInit: 'torch',
      },
      gabmil: {
        hidden: [256, 128],
        embedDim: 64,
        activation: 'relu',
        dropout: 0.5,
        gated: true,
        attentionDim: 64,
        attentionDropout: 0,
        weightInit: 'torch',
      },
    },
    train: {
      epochs: 100,
      lr: 5e-4,
      schedule: 'constant',
      weightDecay: 5e-3,
      weightDecayMode: 'l2',
      accumulate: 1,
      standardize: true,
      selectOn: 'last',
    },
    notes:
      'The authors published code only for MNIST-bags (AMLab-Amsterdam/AttentionDeepMIL, no MUSK script). ' +
      'Dropout rate 0.5 is torch nn.Dropout()’s default (the appendix gives no rate); the bag output is a ' +
      '2-class softmax instead of one sigmoid unit (the same model family); features are standardised with ' +
      'the training fold’s statistics (mi-Net’s code uses all bags’ statistics, test bags included). That code ' +
      'names "no validation set, no early stopping" among its simplifications, so the paper had both, but ' +
      'neither the validation share nor the criterion is published: the weights after the last epoch are ' +
      'tested (early stopping on 10 % of each training fold measured worse: experiments/protocols.md).',
  },
  'loss-attention': {
    title:
      "Shi et al.'s loss-based attention as in the authors' code: λ = 2 on the mean weighted instance loss, Adam 5e-4",
    paper: 'Shi, Xing, Xie, Zhang, Cui & Yang, Loss-Based Attention for Deep Multiple Instance Learning, AAAI 2020',
    source:
      'the authors’ code (xsshi2015/Loss-Attention, MIL/main.py, model.py, weight_loss.py): Adam β = (0.9, 0.999), ' +
      ('lr 5e-4, weight decay 1e-4, 50 epochs, batch 1 bag, loss ' +
        '= CE(bag) + 2 · mean_i(α_i · CE(instance_i, bag label)), ') +
      ('dropout 0.5 after each hidden layer; the MUSK network is the ' +
        'paper’s choice of Ilse et al.’s benchmark MLP (256-128-64)'),
    models: {
      'loss-attention': { hidden: [256, 128, 64], dropout: 0.5, instanceLossWeight: 2, instanceLossReduction: 'mean' },
    },
    train: {
      epochs: 50,
      lr: 5e-4,
      schedule: 'constant',
      weightDecay: 1e-4,
      weightDecayMode: 'l2',
      accumulate: 1,
      standardize: true,
      selectOn: 'last',
    },
    notes:
      'The authors’ code reports, per run, the best test accuracy over the epochs (np.amax over a test ' +
      'evaluation after every epoch): model selection on the test set. This preset keeps the weights after ' +
      'the last epoch; `--select test --monitor accuracy` reproduces the authors’ selection (on MUSK1 it ' +
      'lifts the accuracy from 0.871 to 0.948, past the published 0.917: experiments/protocols.md). The ' +
      'paper’s temporal-ensembling consistency term is not in the MIL code and not here.',
  },
} as const satisfies Record<string, Protocol>;

export type ProtocolName = keyof typeof PROTOCOLS;

/** The named protocol, or an error that lists the names (with a did-you-mean). */
export function getProtocol(name: string): Protocol & { name: string } {
  const p = (PROTOCOLS as Record<string, Protocol>)[name];
  if (!p) {
    const hint = closest(name, Object.keys(PROTOCOLS));
    throw new Error(
      `unknown protocol "${name}"${hint ? ` (did you mean ${hint}?)` : ''}; ` +
        `protocols: ${Object.keys(PROTOCOLS).join(', ')}`,
    );
  }
  return { name, ...p };
}

/** Every protocol with its models, for listings (`milkit train --help`). */
export function listProtocols(): { name: string; title: string; models: string[] }[] {
  return Object.entries(PROTOCOLS).map(([name, p]) => ({ name, title: p.title, models: Object.keys(p.models) }));
}

/**
 * A Trainer's options from a protocol: the model (default the protocol's first) with the protocol's
 * options under `modelConfig`, and the protocol's training config under `train` (explicit values
 * win in both), with `protocol` recorded in the config.
 */
export function withProtocol(
  name: string,
  model?: string,
  overrides: { modelConfig?: Record<string, unknown>; train?: Partial<TrainConfig> } = {},
): { model: { name: string; config: Record<string, unknown> }; config: Partial<TrainConfig> } {
  const p = getProtocol(name);
  const models = Object.keys(p.models);
  const chosen = model ?? models[0];
  if (!(chosen in p.models))
    throw new Error(`protocol ${name} defines the models ${models.join(', ')}; got --model ${chosen}`);
  const defined = <T extends object>(o: T | undefined) =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    model: { name: chosen, config: { ...p.models[chosen], ...defined(overrides.modelConfig) } },
    config: { ...p.train, ...defined(overrides.train), protocol: name },
  };
}
