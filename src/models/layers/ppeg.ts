/**
 * PPEG, TransMIL's pyramid position encoding generator (Shao et al., NeurIPS 2021, §3.3): tokens `[N, C]` are
 * laid out row-major on a ⌈√N⌉ × ⌈√N⌉ grid (the missing cells filled by repeating the first
 * tokens), zero-padded up to at least 7 × 7, then x + dwconv7(x) + dwconv5(x) + dwconv3(x);
 * the padding is cropped off again.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamScope, torchDefaultUniform } from './params';

const KERNELS = [7, 5, 3] as const;
const MIN_SIDE = 7;

export class PPEG {
  private readonly convs: { filter: tf.Variable; bias: tf.Variable }[];

  constructor(
    scope: ParamScope,
    readonly dim: number,
  ) {
    // Depthwise Conv2d(dim, dim, k, groups=dim) with bias, PyTorch default init (fan-in k²).
    this.convs = KERNELS.map((k) => {
      const s = scope.scope(`conv${k}`);
      return {
        filter: s.add('filter', torchDefaultUniform(s.rng, [k, k, dim, 1], k * k)),
        bias: s.add('bias', torchDefaultUniform(s.rng, [dim], k * k)),
      };
    });
  }

  /** Every weight (for gradient checkpointing of a block that contains PPEG). */
  variables(): tf.Variable[] {
    return this.convs.flatMap(({ filter, bias }) => [filter, bias]);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, c] = x.shape;
      let side = Math.ceil(Math.sqrt(n));
      const repeat = side * side - n;
      let grid: tf.Tensor2D = repeat > 0 ? tf.concat([x, tf.slice(x, [0, 0], [repeat, c])]) : x;
      if (side < MIN_SIDE) {
        grid = tf.concat([grid, tf.zeros([MIN_SIDE * MIN_SIDE - side * side, c])]);
        side = MIN_SIDE;
      }
      const img = tf.reshape(grid, [1, side, side, c]) as tf.Tensor4D;
      // dwconv7(x) + dwconv5(x) + dwconv3(x) = one dwconv with the three kernels summed (centred):
      // a third of the depthwise work, which is the slow part of PPEG on wasm.
      const kernel = tf.addN(this.convs.map(({ filter }) => centre(filter as tf.Tensor4D, KERNELS[0])));
      const bias = tf.addN(this.convs.map(({ bias }) => bias));
      const y = tf.add(img, tf.add(tf.depthwiseConv2d(img, kernel as tf.Tensor4D, 1, 'same'), bias));
      return tf.slice(tf.reshape(y, [side * side, c]), [0, 0], [n, c]) as tf.Tensor2D;
    });
  }
}

/** Zero-pads a k×k depthwise filter to size×size around its centre. */
function centre(filter: tf.Tensor4D, size: number): tf.Tensor4D {
  const p = (size - filter.shape[0]) / 2;
  return p === 0
    ? filter
    : tf.pad(filter, [
        [p, p],
        [p, p],
        [0, 0],
        [0, 0],
      ]);
}
