/**
 * Registry of data-set builders: name → builder. `milkit dataset <name>` and notebooks look them
 * up here; a new data set is one file plus one line below.
 */
import { type DatasetBuilder } from './types';
import { mnistBags } from './mnistBags';
import { mnistWsi } from './mnistWsi';
import { musk1 } from './musk1';
import { colon } from './colon';
import { breast } from './breast';

export * from './types';
export { musk1 } from './musk1';
export { mnistBags, loadMnist, type MnistBagsOptions, type MnistImages } from './mnistBags';
export { mnistWsi, hardenDigit, type MnistWsiOptions } from './mnistWsi';
export { type Musk1Options } from './musk1';
export * from './colon';
export * from './breast';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each builder has its own options type
export const DATASETS: Record<string, DatasetBuilder<any>> = {
  [musk1.name]: musk1,
  [mnistBags.name]: mnistBags,
  [mnistWsi.name]: mnistWsi,
  [colon.name]: colon,
  [breast.name]: breast,
};

/** A builder by name, or an error listing the known names. */
export function datasetBuilder(name: string): DatasetBuilder<Record<string, unknown>> {
  const b = DATASETS[name];
  if (!b) throw new Error(`unknown data set "${name}"; known: ${Object.keys(DATASETS).join(', ')}`);
  return b;
}
