export * from './csv';
export * from './csvRows';
export * from './h5';
export * from './labels';
export * from './table';
