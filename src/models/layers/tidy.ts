import * as tf from '@tensorflow/tfjs';

/** `tf.tidy` for functions returning a plain object of tensors (interfaces lack tfjs's index signature). */
export function tidyObject<T extends object>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}
