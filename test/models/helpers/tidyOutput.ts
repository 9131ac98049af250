import * as tf from '@tensorflow/tfjs';
import type { MilOutput } from '../../../src/models';

/**
 * `tf.tidy` for a model's forward pass: frees the intermediates, keeps the output's tensors.
 * The casts are needed only for the types: MilOutput is an interface without an index signature,
 * so it is not a `TensorContainer`, although tidy keeps every tensor field of the returned object.
 */
export const tidyOutput = (forward: () => MilOutput): MilOutput =>
  tf.tidy(() => forward() as unknown as tf.TensorContainer) as unknown as MilOutput;
