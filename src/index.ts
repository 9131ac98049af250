/**
 * milkit: Multiple Instance Learning on TensorFlow.js.
 * `milkit/core` holds the browser-safe pure parts (masking, metrics, splits, viz schemas).
 */
export * from './core';
export * from './backend';
export * from './data';
export * from './models';
export * from './registry';
export * from './data/convert';
export * from './data/datasets';
export * from './data/images';
export * from './ssl';
export * from './slides';
export * from './train';
export * from './persist';
export * from './mhim';
export * from './data/splitFile';
export * from './sweep';
