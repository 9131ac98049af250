export * from './csv';
export * from './csvRows';
export * from './h5';
