/**
 * k × k 'valid' convolution (stride 1) and 2 × 2 max pooling whose gradients run on every backend.
 *
 * Why: tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter and no MaxPoolGrad kernel, so
 * `tf.grad` through `tf.conv2d` or `tf.maxPool` fails on wasm. As in src/ssl/conv.ts (3 × 3 'same'),
 * both convolution gradients are written as forward convolutions:
 *  - input gradient: dy zero-padded by k − 1, convolved ('valid') with the filter rotated by 180°
 *    and its in/out channels swapped;
 *  - filter gradient: the input with batch and channel axes swapped `[Cin, H, W, B]`, convolved
 *    ('valid') with dy used as an `[Ho, Wo, B, Cout]` filter → `[Cin, k, k, Cout]`.
 * Max pooling is two reshape + max reductions, whose gradient is element-wise.
 */
import * as tf from '@tensorflow/tfjs';

/** `tf.conv2d(x, w, 1, 'valid')` for a square k × k filter `[k, k, Cin, Cout]`, differentiable on wasm. */
export const convValid = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  if (w.shape[0] !== w.shape[1]) throw new Error(`convValid needs a square filter, got [${w.shape}]`);
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, 'valid'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const k = ws.shape[0];
      const dx = tf.tidy(() => {
        const padded = tf.pad(dy, [
          [0, 0],
          [k - 1, k - 1],
          [k - 1, k - 1],
          [0, 0],
        ]);
        return tf.conv2d(padded, tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
      });
      const dw = tf.tidy(() => {
        const xt = tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D;
        const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
        return tf.transpose(tf.conv2d(xt, f, 1, 'valid'), [1, 2, 0, 3]);
      });
      return [dx, dw];
    },
  };
}) as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** 2 × 2 max pooling, stride 2, of `[B, H, W, C]` with even H and W. */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`maxPool2 needs even height and width, got ${h} × ${w}`);
    const rows = tf.max(tf.reshape(x, [b * (h / 2), 2, w * c]), 1); // max over row pairs
    const cols = tf.max(tf.reshape(rows, [b * (h / 2) * (w / 2), 2, c]), 1); // max over column pairs
    return tf.reshape(cols, [b, h / 2, w / 2, c]) as tf.Tensor4D;
  });
}
