/**
 * The command registry: `milkit <name>` runs the Command its loader returns. A new command is one
 * file exporting a `Command` plus one line here.
 *
 * Commands load lazily (require on first use): train/eval/predict pull in TensorFlow.js, which
 * takes over a second to load, and `milkit inspect` or `milkit --version` should not pay for it.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loading is the point of this file */
import { type Command } from '../command';

const LOADERS: Record<string, () => Command> = {
  info: () => (require('./info') as typeof import('./info')).info,
  convert: () => (require('./convert') as typeof import('./convert')).convert,
  inspect: () => (require('./inspect') as typeof import('./inspect')).inspect,
  dataset: () => (require('./dataset') as typeof import('./dataset')).dataset,
  splits: () => (require('./splits') as typeof import('./splits')).splits,
  train: () => (require('./train') as typeof import('./train')).train,
  eval: () => (require('./eval') as typeof import('./eval')).evalCommand,
  predict: () => (require('./predict') as typeof import('./predict')).predict,
  ssl: () => (require('./ssl') as typeof import('./ssl')).ssl,
  sweep: () => (require('./sweep') as typeof import('./sweep')).sweep,
  report: () => (require('./report') as typeof import('./report')).report,
  demo: () => (require('./demo') as typeof import('./demo')).demo,
  slides: () => (require('./slides') as typeof import('./slides')).slides,
  heatmap: () => (require('./heatmap') as typeof import('./heatmap')).heatmap,
};

/** Names of all commands, in help order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

/** The command called `name`, or undefined. */
export function command(name: string): Command | undefined {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]() : undefined;
}

/** Every command (loads them all: for the help overview). */
export function allCommands(): Command[] {
  return COMMAND_NAMES.map((n) => LOADERS[n]());
}
