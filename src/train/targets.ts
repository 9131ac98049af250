/**
 * Turns a cohort's bag labels into training targets: class labels, or discrete-time survival bins
 * cut at the quartiles of the cohort's uncensored times (MHIM bins the whole cohort once; only the
 * loss uses the bins, the C-index uses the raw times).
 */
import type { BagInfo } from '../data/bag';
import { survivalBins } from '../metrics/survival';
import type { Target } from '../models/types';

export type Task = { kind: 'class'; numClasses: number } | { kind: 'survival'; numBins: number; edges: number[] };

/**
 * `classes`: the cohort's class names (`milkit.classes`); they fix the number of outputs, so a named
 * 3-class cohort whose bags happen to use only labels 0 and 1 still trains 3 outputs.
 */
export function taskOf(
  bags: readonly BagInfo[],
  survivalBinCount: number,
  classes?: readonly string[],
): { task: Task; targets: Target[] } {
  const survival = bags.length > 0 && bags.every((b) => b.time !== undefined && b.event !== undefined);
  if (survival) {
    const { edges, bins } = survivalBins(
      bags.map((b) => b.time!),
      bags.map((b) => b.event!),
      survivalBinCount,
    );
    return {
      task: { kind: 'survival', numBins: survivalBinCount, edges },
      targets: bags.map((b, i) => ({
        kind: 'survival',
        bin: bins[i],
        censored: b.event === 0,
        numBins: survivalBinCount,
      })),
    };
  }
  const missing = bags.find((b) => b.label === undefined);
  if (missing) throw new Error(`bag "${missing.id}" has no class label (and the cohort is not a survival cohort)`);
  const maxLabel = bags.reduce((m, b) => Math.max(m, b.label!), -1);
  if (classes && maxLabel >= classes.length)
    throw new Error(`bag labels go up to ${maxLabel}, but the cohort names ${classes.length} classes`);
  const numClasses = Math.max(2, classes?.length ?? maxLabel + 1);
  return {
    task: { kind: 'class', numClasses },
    targets: bags.map((b) => ({ kind: 'class', label: b.label!, numClasses })),
  };
}

/** Number of model outputs for a task. */
export function outputsOf(task: Task): number {
  return task.kind === 'class' ? task.numClasses : task.numBins;
}

/** The metric monitored by default: AUC (binary), macro accuracy (multi-class, as MHIM), C-index (survival). */
export function defaultMonitor(task: Task): string {
  if (task.kind === 'survival') return 'cIndex';
  return task.numClasses === 2 ? 'auc' : 'balancedAccuracy';
}

/** Targets of (new) bags under a trained model's task: survival bins use the training edges. */
export function targetsForTask(task: Task, bags: readonly BagInfo[]): Target[] {
  return bags.map((b) => {
    if (task.kind === 'survival') {
      if (b.time === undefined || b.event === undefined)
        throw new Error(`bag "${b.id}" has no survival time/event, but the model was trained for survival`);
      let bin = 0;
      while (bin < task.numBins - 1 && b.time >= task.edges[bin + 1]) bin++;
      return { kind: 'survival', bin, censored: b.event === 0, numBins: task.numBins };
    }
    if (b.label === undefined || b.label >= task.numClasses)
      throw new Error(`bag "${b.id}" has label ${b.label}, the model knows classes 0..${task.numClasses - 1}`);
    return { kind: 'class', label: b.label, numClasses: task.numClasses };
  });
}
