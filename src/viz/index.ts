/** Notebook output schemas (pure; shared by milkit-kernel and milkit-jupyterlab). */
export * from './schema';
export * from './attention';
export * from './masking';
export * from './training';
export * from './results';
export * from './validate';
export * from './scale';
export * from './static';
