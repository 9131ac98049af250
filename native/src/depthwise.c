/* Stride-1 depthwise convolution of one NHWC image and its gradients (see blas.c's index for the call). */
#include "common.h"

/* acc[c] += x[c]·w[c] over one pixel's channels (the vectorised inner loop of the convolution). */
VECTOR_CLONES static void fma_row(float *restrict acc, const float *restrict x, const float *restrict w, size_t c) {
  for (size_t k = 0; k < c; k++) acc[k] += x[k] * w[k];
}

/*
 * Few channels (TransMIL's residual conv: 8 heads, [L, 64, 8]): one tap's contribution to a whole
 * output row is one long contiguous multiply-add, x[row of the input] ⊙ the tap's weights repeated
 * every c floats, instead of ow calls of a c-float loop (c = 8 left the vector unit idle: ~10×
 * slower). `tiled` holds each tap's weights repeated across the widest row, [kh·kw, ow·c].
 */
static int depthwise_few_channels(const float *x, const float *wt, float *y, long h, long w, long c, long kh, long kw,
                                  long pt, long pl, long oh, long ow, int mode) {
  const size_t row = (size_t)ow * c;
  float *tiled = malloc(sizeof(float) * (size_t)kh * kw * row);
  if (!tiled) return 0;
  if (mode == 2) {
    /* Accumulate Σ_i x ⊙ dy per tap across whole rows, then fold each row's ow pixels into dW. */
    for (size_t t = 0; t < (size_t)kh * kw * row; t++) tiled[t] = 0.f;
    for (long a = 0; a < kh; a++)
      for (long b = 0; b < kw; b++) {
        float *acc = tiled + (a * kw + b) * row;
        const long j0 = pl - b > 0 ? pl - b : 0, j1 = w + pl - b < ow ? w + pl - b : ow;
        if (j1 <= j0) continue;
        for (long i = 0; i < oh; i++) {
          const long xi = i + a - pt;
          if (xi < 0 || xi >= h) continue;
          fma_row(acc + j0 * c, x + (xi * w + j0 + b - pl) * c, wt + (i * ow + j0) * c, (size_t)(j1 - j0) * c);
        }
      }
    for (long t = 0; t < kh * kw; t++)
      for (long k = 0; k < c; k++) {
        float s = 0.f;
        for (long j = 0; j < ow; j++) s += tiled[t * row + j * c + k];
        y[t * c + k] = s;
      }
    free(tiled);
    return 1;
  }
  for (long a = 0; a < kh; a++)
    for (long b = 0; b < kw; b++) {
      const long fa = mode == 1 ? kh - 1 - a : a, fb = mode == 1 ? kw - 1 - b : b;
      for (long j = 0; j < ow; j++)
        for (long k = 0; k < c; k++) tiled[(a * kw + b) * row + j * c + k] = wt[(fa * kw + fb) * c + k];
    }
  for (size_t t = 0; t < (size_t)oh * row; t++) y[t] = 0.f;
  for (long i = 0; i < oh; i++)
    for (long a = 0; a < kh; a++) {
      const long xi = i + a - pt;
      if (xi < 0 || xi >= h) continue;
      for (long b = 0; b < kw; b++) {
        const long j0 = pl - b > 0 ? pl - b : 0, j1 = w + pl - b < ow ? w + pl - b : ow;
        if (j1 > j0)
          fma_row(y + (i * ow + j0) * c, x + (xi * w + j0 + b - pl) * c, tiled + (a * kw + b) * row + j0 * c,
                  (size_t)(j1 - j0) * c);
      }
    }
  free(tiled);
  return 1;
}

static void depthwise_run(const float *x, const float *wt, float *y, long h, long w, long c, long kh, long kw, long pt,
                          long pl, long oh, long ow, int mode) {
  if (c < 32 && depthwise_few_channels(x, wt, y, h, w, c, kh, kw, pt, pl, oh, ow, mode)) return;

  if (mode == 2) {
    /* y is dW [kh, kw, c]; wt is dy [oh, ow, c]. */
    for (long t = 0; t < kh * kw * c; t++) y[t] = 0.f;
    for (long a = 0; a < kh; a++)
      for (long b = 0; b < kw; b++) {
        float *dw = y + (a * kw + b) * c;
        for (long i = 0; i < oh; i++) {
          const long xi = i + a - pt;
          if (xi < 0 || xi >= h) continue;
          for (long j = 0; j < ow; j++) {
            const long xj = j + b - pl;
            if (xj < 0 || xj >= w) continue;
            fma_row(dw, x + (xi * w + xj) * c, wt + (i * ow + j) * c, (size_t)c);
          }
        }
      }
    return;
  }
  for (long t = 0; t < oh * ow * c; t++) y[t] = 0.f;
  for (long i = 0; i < oh; i++)
    for (long j = 0; j < ow; j++) {
      float *out = y + (i * ow + j) * c;
      for (long a = 0; a < kh; a++) {
        const long xi = i + a - pt;
        if (xi < 0 || xi >= h) continue;
        for (long b = 0; b < kw; b++) {
          const long xj = j + b - pl;
          if (xj < 0 || xj >= w) continue;
          const long fa = mode == 1 ? kh - 1 - a : a, fb = mode == 1 ? kw - 1 - b : b;
          fma_row(out, x + (xi * w + xj) * c, wt + (fa * kw + fb) * c, (size_t)c);
        }
      }
    }
}

napi_value depthwise(napi_env env, napi_callback_info info) {
  double a[13];
  Heap heap;
  if (!heap_args(env, info, "depthwise", 13, a, &heap)) return NULL;
  const long h = (long)a[3], w = (long)a[4], c = (long)a[5], kh = (long)a[6], kw = (long)a[7];
  const long pt = (long)a[8], pl = (long)a[9], oh = (long)a[10], ow = (long)a[11];
  const int mode = (int)a[12];
  if (h < 1 || w < 1 || c < 1 || kh < 1 || kw < 1 || oh < 1 || ow < 1 || pt < 0 || pl < 0 || mode < 0 || mode > 2)
    return bad_shape(env, "depthwise");
  const double image = (double)h * w * c, filter = (double)kh * kw * c, out = (double)oh * ow * c;
  /* mode 2: w is dy (an output-sized image) and y the filter gradient. */
  const float *x = heap_floats(&heap, a[0], image), *wt = heap_floats(&heap, a[1], mode == 2 ? out : filter);
  float *y = heap_floats(&heap, a[2], mode == 2 ? filter : out);
  if (!heap.ok) return NULL;
  depthwise_run(x, wt, y, h, w, c, kh, kw, pt, pl, oh, ow, mode);
  return NULL;
}
