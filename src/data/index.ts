export * from './bag';
export * from './cohort';
export * from './errors';
export * from './format';
export * from './writer';
