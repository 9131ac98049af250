/**
 * Seeded inverted dropout (training only). The keep mask is drawn in JS from the model's dropout
 * stream and uploaded once: reproducible for a seed on every backend, and faster on wasm than
 * tf.dropout, whose seeded generator runs element by element in JS anyway.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random';
import { nativeDenseAvailable, nativeDropout } from '../../backend/nativeOps';

export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean, rng: Rng): T {
  if (!training || rate <= 0) return x;
  if (rate >= 1) throw new Error(`dropout rate must be < 1, got ${rate}`);
  // Native path: the same mask from the same stream, drawn in one vectorised pass (nativeOps.ts).
  if (x.dtype === 'float32' && nativeDenseAvailable()) return nativeDropout(x, rate, rng);
  const keep = 1 - rate;
  const scale = 1 / keep;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? scale : 0;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)) as T);
}
