/** Training: optimiser, schedules, early stopping, checkpoints, cross-validation, progress events. */
export * from './config';
export * from './earlyStopping';
export * from './events';
export { type FoldResult, type EpochRecord, type BagPredictions, type ModelFactory, trainFold } from './fold';
export * from './optimizer';
export * from './predict';
export * from './protocols';
export * from './results';
export * from './schedule';
export { trainStep, type StepResult } from './step';
export * from './targets';
export * from './trainer';
export * from './randomState';
export * from './reproduction';
