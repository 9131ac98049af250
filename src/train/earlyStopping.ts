/**
 * Early stopping on a monitored metric (pure). MHIM-MIL's rule: stopping can fire only after
 * `minEpochs` epochs, once `patience` epochs in a row brought no improvement over the best value.
 */
export interface EarlyStoppingOptions {
  patience: number;
  /** Epochs that always run before stopping may fire (MHIM `max_epoch`). */
  minEpochs?: number;
  /** 'max' for AUC / accuracy / C-index, 'min' for a loss. */
  mode: 'max' | 'min';
  /** Improvement smaller than this does not count (default 0: any strict improvement). */
  minDelta?: number;
}

export interface EarlyStoppingState {
  best: number;
  bestEpoch: number;
  /** Epochs since the last improvement. */
  waited: number;
}

export function initialStoppingState(): EarlyStoppingState {
  return { best: NaN, bestEpoch: -1, waited: 0 };
}

/** Records an epoch's monitored value; says whether it is the new best and whether to stop now. */
export function observeEpoch(
  state: EarlyStoppingState,
  epoch: number,
  value: number,
  opts: EarlyStoppingOptions,
): { state: EarlyStoppingState; improved: boolean; stop: boolean } {
  const delta = opts.minDelta ?? 0;
  const better =
    Number.isFinite(value) &&
    (Number.isNaN(state.best) || (opts.mode === 'max' ? value > state.best + delta : value < state.best - delta));
  const next: EarlyStoppingState = better
    ? { best: value, bestEpoch: epoch, waited: 0 }
    : { ...state, waited: state.waited + 1 };
  const stop = !better && next.waited >= opts.patience && epoch + 1 >= (opts.minEpochs ?? 0);
  return { state: next, improved: better, stop };
}
