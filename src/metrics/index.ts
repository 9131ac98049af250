/** Pure metrics (no tfjs, no Node): classification, AUC, thresholds, bootstrap, survival. */
export * from './auc';
export * from './bootstrap';
export * from './classification';
export * from './curves';
export * from './evaluate';
export * from './survival';
export * from './threshold';
export { meanSd, quantile } from './util';
