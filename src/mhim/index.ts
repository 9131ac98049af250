/** MHIM-MIL (tfjs parts). The pure masking code is exported from `milkit/core` (src/core.ts). */
export * from './config';
export * from './mhim';
export { type MhimInit } from './baselineInit';
export * from './grn';
export * from './scoring';
export * from './consistency';
export * from './ema';
