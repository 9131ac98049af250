/**
 * MHIM's teacher–student consistency loss: a soft cross-entropy over the embedding dimensions (not
 * the classes), L = −Σ_d softmax(z_t/τ)_d · log_softmax(z_s/τ_s)_d, with τ = 0.1 and τ_s = 1 in
 * the code. Its value sits near ln(D) (≈ 6.24 for 512-d embeddings) and barely moves in training.
 */
import * as tf from '@tensorflow/tfjs';

export function consistencyLoss(
  teacher: tf.Tensor,
  student: tf.Tensor,
  temperature = 0.1,
  studentTemperature = 1,
): tf.Scalar {
  return tf.tidy(() => {
    if (teacher.size !== student.size) {
      throw new Error(`consistency loss: teacher embedding has ${teacher.size} values, student ${student.size}`);
    }
    const p = tf.softmax(tf.div(tf.reshape(teacher, [-1]), temperature));
    const logQ = tf.logSoftmax(tf.div(tf.reshape(student, [-1]), studentTemperature));
    return tf.neg(tf.sum(tf.mul(p, logQ))) as tf.Scalar;
  });
}
