/**
 * Browser-safe entry point (`milkit/core`): pure TypeScript with no tfjs, Node or filesystem imports,
 * shared by the trainer, the kernel helpers and the JupyterLab plugin (so the plugin runs the very
 * same masking code the library trains with). Only add modules here that import nothing but each other.
 */
export * from './random';
export * from './didYouMean';
export * from './data/errors';
export * from './data/splits';
export * from './data/standardize';
export * from './mhim/masking';
export * from './viz';
export * from './metrics';
export * from './train/events';
export * from './data/summary';
export * from './ssl/augment';
export * from './ssl/probe';
export * from './models/kmeans';
export * from './slides/overlay';
export * from './slides/view';
