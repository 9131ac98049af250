/** Self-supervised patch encoder: augmentations (also in milkit/core), network, objectives, pretraining, extraction. */
export * from './augment';
export { conv3x3 } from './conv';
export * from './extract';
export * from './losses';
export * from './network';
export * from './pretrain';
export * from './sources';
export * from './endToEnd';
export * from './probe';
