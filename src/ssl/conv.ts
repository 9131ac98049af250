/**
 * 3 × 3 'same' convolution (stride 1) with a gradient made of forward convolutions only.
 *
 * Why: tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter kernel, so `tf.grad` through
 * `tf.conv2d` fails on wasm, and its Conv2DBackpropInput (what conv2dTranspose runs) is ~10× slower
 * than Conv2D (measured on [64, 32, 32, 16], 3 × 3 × 16 → 16: forward 16 ms, conv2dTranspose
 * 164 ms). Both gradients are rewritten as plain XNNPACK convolutions:
 *  - input gradient: dy convolved with the filter rotated by 180° and its channels swapped (14 ms);
 *  - filter gradient: the zero-padded input with batch and channel axes swapped `[Cin, H+2, W+2, B]`
 *    convolved ('valid') with dy used as an `[H, W, B, Cout]` filter → `[Cin, 3, 3, Cout]` (27 ms;
 *    an im2col + transposed matMul took ~400 ms).
 */
import * as tf from '@tensorflow/tfjs';

/** Input gradient of a stride-1 'same' 3 × 3 convolution. */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.conv2d(dy, tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same'));
}

/** Filter gradient `[3, 3, Cin, Cout]` of a stride-1 'same' 3 × 3 convolution. */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const xt = tf.transpose(
      tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      [3, 1, 2, 0],
    ) as tf.Tensor4D;
    const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xt, f, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * `tf.conv2d(x, w, 1, 'same')` for a 3 × 3 filter `w` `[3, 3, Cin, Cout]`, fast and differentiable on every backend.
 */
export const conv3x3 = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  if (w.shape[0] !== 3 || w.shape[1] !== 3)
    throw new Error(`conv3x3 needs a [3, 3, Cin, Cout] filter, got [${w.shape}]`);
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, 'same'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [inputGrad(dy, ws), filterGrad(xs, dy)];
    },
  };
}) as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
