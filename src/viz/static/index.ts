/** Static figures of every view (pure SVG/HTML strings): notebook fallbacks and `milkit report`. */
export * from './svg';
export * from './chart';
export * from './views';
export * from './trainingView';
export * from './resultsView';
