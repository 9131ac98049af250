/**
 * SSL pretraining checkpoints (`milkit ssl pretrain --out encoder.ckpt`): the patch network, Adam's
 * moments of the trained parameters and its step, the pretraining config, step and loss history —
 * enough to resume exactly, and to load the encoder for feature extraction.
 */
import type * as tf from '@tensorflow/tfjs';
import { MilkitDataError } from '../data/errors';
import { SslNetwork } from '../ssl/network';
import type { PretrainConfig, StepRecord } from '../ssl/pretrain';
import { type RunFingerprint, fingerprintDifferences } from './fingerprint';
import { type Checkpoint, readCheckpoint, writeCheckpoint } from './format';
import { type NamedVariables, assignTensors, variableTensors } from './variables';

interface SslMeta {
  config: PretrainConfig;
  /** Steps done. */
  step: number;
  history: StepRecord[];
  optimizerStep: number;
}

export interface SslPretrainingState {
  network: SslNetwork;
  /** Adam's step and, per trained parameter (by its network name), its first and second moments. */
  optimizer: { step: number; moments: [name: string, m: tf.Variable, v: tf.Variable][] };
  config: PretrainConfig;
  step: number;
  history: StepRecord[];
  /** What the resume must match (the config apart from `steps`, the patches). */
  fingerprint: RunFingerprint;
}

const networkVariables = (net: SslNetwork): NamedVariables => [...net.params];
const OWNER = 'the SSL network';

export async function saveSslPretraining(file: string, s: SslPretrainingState): Promise<void> {
  const { moments } = s.optimizer;
  const meta: SslMeta = { config: s.config, step: s.step, history: s.history, optimizerStep: s.optimizer.step };
  writeCheckpoint(file, {
    kind: 'ssl-pretraining',
    fingerprint: s.fingerprint,
    meta,
    tensors: [
      ...(await variableTensors('network/', networkVariables(s.network))),
      ...(await variableTensors(
        'optimizer/m/',
        moments.map(([n, m]) => [n, m]),
      )),
      ...(await variableTensors(
        'optimizer/v/',
        moments.map(([n, , v]) => [n, v]),
      )),
    ],
  });
}

/**
 * Restores an interrupted pretraining into `network` and the optimiser's moment variables; a
 * checkpoint of other settings or other patches is refused, naming what differs.
 */
export function restoreSslPretraining(
  file: string,
  s: Pick<SslPretrainingState, 'network' | 'fingerprint'> & { moments: SslPretrainingState['optimizer']['moments'] },
): { step: number; history: StepRecord[]; optimizerStep: number } {
  const ck = readCheckpoint<SslMeta>(file, 'ssl-pretraining');
  const diff = ck.fingerprint ? fingerprintDifferences(ck.fingerprint, s.fingerprint) : ['no fingerprint recorded'];
  if (diff.length)
    throw new MilkitDataError(
      `cannot resume: the checkpoint was written with a different configuration or patches ` +
        `(${diff.join('; ')}); only \`steps\` may change: use another --out, or the original settings`,
      { file, field: 'fingerprint' },
    );
  assignTensors(
    file,
    ck.tensors,
    'optimizer/m/',
    s.moments.map(([n, m]) => [n, m]),
    `the optimiser of ${OWNER}`,
  );
  assignTensors(
    file,
    ck.tensors,
    'optimizer/v/',
    s.moments.map(([n, , v]) => [n, v]),
    `the optimiser of ${OWNER}`,
  );
  assignTensors(file, ck.tensors, 'network/', networkVariables(s.network), OWNER);
  return { step: ck.meta.step, history: ck.meta.history, optimizerStep: ck.meta.optimizerStep };
}

function configOf(ck: Checkpoint<Partial<SslMeta>>): PretrainConfig {
  const c = ck.meta?.config;
  if (!c || typeof c.net !== 'object' || typeof c.seed !== 'number')
    throw new MilkitDataError('the header has no pretraining config (net, seed)', {
      file: ck.file,
      field: 'meta.config',
    });
  return c;
}

/** Loads the encoder of a pretraining checkpoint (for feature extraction); the caller disposes it. */
export function loadSslNetwork(file: string): {
  network: SslNetwork;
  config: PretrainConfig;
  step: number;
  history: StepRecord[];
} {
  const ck = readCheckpoint<Partial<SslMeta>>(file, 'ssl-pretraining');
  const config = configOf(ck);
  const network = new SslNetwork(config.net, config.seed);
  try {
    assignTensors(file, ck.tensors, 'network/', networkVariables(network), OWNER);
  } catch (err) {
    network.dispose();
    throw err;
  }
  return { network, config, step: ck.meta.step ?? 0, history: ck.meta.history ?? [] };
}
