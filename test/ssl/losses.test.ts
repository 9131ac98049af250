import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { conv3x3 } from '../../src/ssl/conv';
import { ntXent, reconstructionLoss } from '../../src/ssl/losses';

/** Plain-JS NT-Xent (the formula, written out) for comparison. */
function ntXentRef(z1: number[][], z2: number[][], tau: number): number {
  const z = [...z1, ...z2].map((v) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  const b = z1.length;
  const dot = (a: number[], c: number[]) => a.reduce((s, x, i) => s + x * c[i], 0);
  let loss = 0;
  for (let i = 0; i < 2 * b; i++) {
    const pos = i < b ? i + b : i - b;
    let denom = 0;
    for (let k = 0; k < 2 * b; k++) if (k !== i) denom += Math.exp(dot(z[i], z[k]) / tau);
    loss += -Math.log(Math.exp(dot(z[i], z[pos]) / tau) / denom);
  }
  return loss / (2 * b);
}

describe('ssl/losses: NT-Xent, reconstruction, conv3x3 gradient', () => {
  it('NT-Xent equals the hand-computed value log(1 + 2/e) for orthogonal pairs at τ = 1', () => {
    // z1 = z2 = [[1,0],[0,1]]: each anchor has similarity 1 with its partner and 0 with the other two,
    // so every term is −log(e / (e + 1 + 1)) = log(1 + 2/e) ≈ 0.551445.
    const z = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const loss = ntXent(z, z, 1);
    assert.ok(Math.abs(loss.dataSync()[0] - Math.log(1 + 2 / Math.E)) < 1e-6);
    assert.ok(Math.abs(Math.log(1 + 2 / Math.E) - 0.551445) < 1e-6);
    tf.dispose([z, loss]);
  });

  it('NT-Xent matches the written-out formula on unnormalised vectors and is scale-invariant', () => {
    const z1 = [
      [0.3, -1.2, 2.0],
      [1.5, 0.2, -0.7],
      [-0.4, 0.9, 0.1],
    ];
    const z2 = [
      [0.5, -1.0, 1.6],
      [1.1, 0.6, -0.2],
      [0.8, -0.3, 0.4],
    ];
    for (const tau of [0.1, 0.5, 2]) {
      const got = tf.tidy(() => ntXent(tf.tensor2d(z1), tf.tensor2d(z2), tau).dataSync()[0]);
      assert.ok(Math.abs(got - ntXentRef(z1, z2, tau)) < 1e-4, `τ=${tau}: ${got} vs ${ntXentRef(z1, z2, tau)}`);
      const scaled = tf.tidy(
        () => ntXent(tf.mul(tf.tensor2d(z1), 7) as tf.Tensor2D, tf.tensor2d(z2), tau).dataSync()[0],
      );
      assert.ok(Math.abs(scaled - got) < 1e-4);
    }
    assert.throws(() => ntXent(tf.zeros([2, 2]), tf.zeros([2, 2]), 0), /temperature/);
  });

  it('reconstruction: mean squared error, or over masked pixels only', () => {
    tf.tidy(() => {
      const target = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      const recon = tf.tensor4d([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 3]);
      assert.ok(Math.abs(reconstructionLoss(recon, target).dataSync()[0] - 3 / 12) < 1e-7);
      const maskFirst = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
      assert.ok(Math.abs(reconstructionLoss(recon, target, maskFirst).dataSync()[0] - 1) < 1e-7);
      const maskOther = tf.tensor4d([0, 1, 1, 0], [1, 2, 2, 1]);
      assert.equal(reconstructionLoss(recon, target, maskOther).dataSync()[0], 0);
    });
  });

  it('conv3x3 custom gradient equals autodiff of an im2col reference and finite differences', () => {
    const [b, h, w, cin, cout] = [2, 5, 4, 3, 2];
    const x = tf.randomNormal([b, h, w, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const k = tf.randomNormal([3, 3, cin, cout], 0, 1, 'float32', 2) as tf.Tensor4D;
    const r = tf.randomNormal([b, h, w, cout], 0, 1, 'float32', 3);
    // Reference convolution from slices and a matMul: every op has a built-in gradient on every backend.
    const reference = (xx: tf.Tensor4D, kk: tf.Tensor4D) => {
      const padded = tf.pad(xx, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
      const cols: tf.Tensor[] = [];
      for (let dy = 0; dy < 3; dy++)
        for (let dx = 0; dx < 3; dx++) cols.push(tf.slice(padded, [0, dy, dx, 0], [b, h, w, cin]));
      return tf.reshape(
        tf.matMul(tf.reshape(tf.concat(cols, 3), [b * h * w, 9 * cin]), tf.reshape(kk, [9 * cin, cout])),
        [b, h, w, cout],
      );
    };
    const lossOf = (conv: (a: tf.Tensor4D, c: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, c as tf.Tensor4D), r));
    const ours = tf.grads(lossOf(conv3x3));
    const ref = tf.grads(lossOf(reference));
    const [gx, gk] = ours([x, k]);
    const [rx, rk] = ref([x, k]);
    const maxDiff = (a: tf.Tensor, c: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]);
    assert.ok(maxDiff(tf.conv2d(x, k, 1, 'same'), reference(x, k)) < 1e-4, 'forward');
    assert.ok(maxDiff(gx, rx) < 1e-4, `input gradient differs by ${maxDiff(gx, rx)}`);
    assert.ok(maxDiff(gk, rk) < 1e-4, `filter gradient differs by ${maxDiff(gk, rk)}`);
    // Central finite differences on a few filter entries (float32: loose tolerance).
    const f = lossOf(conv3x3);
    const kv = k.dataSync().slice();
    const gkv = gk.dataSync();
    for (const idx of [0, 7, 23, kv.length - 1]) {
      const eps = 1e-2;
      const at = (d: number) =>
        tf.tidy(() => {
          const kk = kv.slice();
          kk[idx] += d;
          return f(x, tf.tensor4d(kk, k.shape)).dataSync()[0];
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(fd - gkv[idx]) < 2e-2 * Math.max(1, Math.abs(fd)), `entry ${idx}: fd ${fd} vs ${gkv[idx]}`);
    }
    tf.dispose([x, k, r, gx, gk, rx, rk]);
  });
});
