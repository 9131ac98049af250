/**
 * A bag from host memory onto the device, refused with one clear error when it cannot fit.
 *
 * Why the check: the wasm backend's heap is a 32-bit address space (at most 4 GiB) that never
 * shrinks, and past its end tfjs-wasm fails with "memory access out of bounds" in the middle of a
 * model, or worse, before that, allocations can land on live tensors. A bag is refused before it is
 * uploaded when it alone would leave less than a quarter of the heap for the model's activations.
 */
import * as tf from '@tensorflow/tfjs';
import type { StepBag } from './types';

/** The wasm heap's hard limit (wasm32 addresses). */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** Throws the one readable error when a `[numInstances × dim]` bag cannot fit the device. */
export function checkBagFits(id: string, numInstances: number, dim: number): void {
  if (tf.getBackend() !== 'wasm') return; // tfjs-node and cpu use the process's memory
  const bytes = numInstances * dim * 4;
  const inUse = tf.memory().numBytes;
  if (bytes + inUse <= WASM_HEAP_BYTES * 0.75) return;
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GB`;
  throw new Error(
    `bag "${id}": ${numInstances} × ${dim} features (${gb(bytes)}) do not fit the wasm heap next to the ` +
      `model (${gb(inUse)} in use, limit ${gb(WASM_HEAP_BYTES)}). Fix: use a model that pools huge bags ` +
      `in blocks (abmil), split or subsample the bag, or run on the tensorflow backend (MILKIT_BACKEND=tensorflow).`,
  );
}

/** A step bag as a tensor `[N, D]` (checked: the host array must hold N × D values, and fit the device). */
export function uploadBag(bag: StepBag): tf.Tensor2D {
  if (bag.features.length !== bag.numInstances * bag.dim)
    throw new Error(`bag "${bag.id}": ${bag.features.length} values for ${bag.numInstances} × ${bag.dim}`);
  checkBagFits(bag.id, bag.numInstances, bag.dim);
  return tf.tensor2d(bag.features, [bag.numInstances, bag.dim]);
}
