/*
 * Element-wise kernels of milkit_blas: activations and their gradient, dropout, the Adam step.
 * Written so gcc vectorises every loop (no branches, no libm calls): erf by Abramowitz-Stegun 7.1.26
 * (|err| ≤ 1.5e-7, the formula tfjs's own Erf kernel uses), tanh by Cephes (polynomial below 0.625),
 * exp_approx (common.h). On x86-64 each loop is compiled for AVX-512, AVX2 and baseline, chosen at
 * load time (VECTOR_CLONES).
 */
#include "common.h"

/* Φ(z) and φ(z) (standard normal cdf and pdf) with one exp. */
static inline void normal_cdf_pdf(float z, float *cdf, float *pdf) {
  const float x = z * 0.70710678118654752f, ax = x < 0.f ? -x : x;
  const float t = 1.f / (1.f + 0.3275911f * ax);
  const float e = exp_approx(-x * x);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float erf_abs = 1.f - poly * e;
  const float erf = x < 0.f ? -erf_abs : erf_abs;
  *cdf = 0.5f * (1.f + erf);
  *pdf = e * 0.39894228040143268f;
}

static inline float tanh_approx(float x) {
  const float ax = x < 0.f ? -x : x;
  const float z = x * x;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) *
          z * x +
      x;
  const float big_abs = 1.f - 2.f / (exp_approx(2.f * ax) + 1.f);
  const float big = x < 0.f ? -big_abs : big_abs;
  return ax < 0.625f ? small : big;
}

static inline float sigmoid_approx(float x) { return 1.f / (1.f + exp_approx(-x)); }

VECTOR_CLONES static void activation_forward(const float *restrict x, float *restrict y, size_t count, int act) {
  switch (act) {
    case 1:
      for (size_t i = 0; i < count; i++) {
        float cdf, pdf;
        normal_cdf_pdf(x[i], &cdf, &pdf);
        y[i] = x[i] * cdf;
      }
      break;
    case 2:
      for (size_t i = 0; i < count; i++) y[i] = tanh_approx(x[i]);
      break;
    case 3:
      for (size_t i = 0; i < count; i++) y[i] = sigmoid_approx(x[i]);
      break;
    case 4:
      for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    default:
      for (size_t i = 0; i < count; i++) y[i] = x[i];
  }
}

VECTOR_CLONES static void activation_backward(const float *restrict dy, const float *restrict z, float *restrict g,
                                              size_t cols, int act) {
  switch (act) {
    case 1:
      for (size_t j = 0; j < cols; j++) {
        float cdf, pdf;
        normal_cdf_pdf(z[j], &cdf, &pdf);
        g[j] = dy[j] * (cdf + z[j] * pdf);
      }
      break;
    case 2:
      for (size_t j = 0; j < cols; j++) {
        const float t = tanh_approx(z[j]);
        g[j] = dy[j] * (1.f - t * t);
      }
      break;
    case 3:
      for (size_t j = 0; j < cols; j++) {
        const float s = sigmoid_approx(z[j]);
        g[j] = dy[j] * s * (1.f - s);
      }
      break;
    case 4:
      for (size_t j = 0; j < cols; j++) {
        const float d = dy[j];
        g[j] = z[j] > 0.f ? d : 0.f;
      }
      break;
    default:
      for (size_t j = 0; j < cols; j++) g[j] = dy[j];
  }
}

VECTOR_CLONES void add_row(float *restrict acc, const float *restrict row, size_t cols) {
  for (size_t j = 0; j < cols; j++) acc[j] += row[j];
}

VECTOR_CLONES void scaled(float *y, const float *x, float a, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a * x[i];
}

napi_value activation(napi_env env, napi_callback_info info) {
  double a[4];
  Heap heap;
  if (!heap_args(env, info, "activation", 4, a, &heap)) return NULL;
  const float *x = heap_floats(&heap, a[0], a[2]);
  float *y = heap_floats(&heap, a[1], a[2]);
  if (!heap.ok) return NULL;
  activation_forward(x, y, (size_t)a[2], (int)a[3]);
  return NULL;
}

napi_value activation_grad(napi_env env, napi_callback_info info) {
  double a[7];
  Heap heap;
  if (!heap_args(env, info, "activationGrad", 7, a, &heap)) return NULL;
  const double count = a[3] * a[4];
  const float *dy = heap_floats(&heap, a[0], count), *z = heap_floats(&heap, a[1], count);
  float *g = heap_floats(&heap, a[2], count);
  float *db = a[6] >= 0 ? heap_floats(&heap, a[6], a[4]) : NULL;
  if (!heap.ok) return NULL;
  const size_t R = (size_t)a[3], C = (size_t)a[4];
  if (db)
    for (size_t j = 0; j < C; j++) db[j] = 0.f;
  for (size_t r = 0; r < R; r++) {
    activation_backward(dy + r * C, z + r * C, g + r * C, C, (int)a[5]);
    if (db) add_row(db, g + r * C, C); /* the row is still in cache */
  }
  return NULL;
}

/* Each draw depends only on its index (mulberry32's state is a counter), so the loop vectorises. */
VECTOR_CLONES static void dropout_mask_mul(const float *restrict x, float *restrict y, size_t count, uint32_t state,
                                           uint64_t threshold, float scale) {
  if (threshold > 0xffffffffu) { /* every draw is kept */
    for (size_t i = 0; i < count; i++) y[i] = x[i] * scale;
    return;
  }
  const uint32_t thr = (uint32_t)threshold;
  for (size_t i = 0; i < count; i++) {
    uint32_t t = state + (uint32_t)(i + 1) * 0x6d2b79f5u;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    const uint32_t u = t ^ (t >> 14);
    const float m = u < thr ? scale : 0.f; /* x·0 as the JS mask multiply does (NaN stays NaN) */
    y[i] = x[i] * m;
  }
}

napi_value dropout(napi_env env, napi_callback_info info) {
  double a[6];
  Heap heap;
  if (!heap_args(env, info, "dropout", 6, a, &heap)) return NULL;
  const float *x = heap_floats(&heap, a[0], a[2]);
  float *y = heap_floats(&heap, a[1], a[2]);
  if (!heap.ok) return NULL;
  if (a[3] < 0 || a[3] > 4294967295.0 || a[4] < 0 || a[4] > 4294967296.0) {
    napi_throw_range_error(env, NULL, "milkit_blas.dropout: state or threshold out of range");
    return NULL;
  }
  dropout_mask_mul(x, y, (size_t)a[2], (uint32_t)a[3], (uint64_t)a[4], (float)a[5]);
  return NULL;
}

/*
 * One Adam step for one variable, in one pass: the float32 operations of src/train/optimizer.ts in
 * the same order (no contraction: -std=c11), so the result equals the tfjs ops bit for bit.
 * Why: through tfjs ops the step is 12 kernels, each a pass over the weights ([1024 × 512] for the
 * projection) plus an allocation.
 */
VECTOR_CLONES static void adam_update(const float *restrict th, const float *restrict m, const float *restrict v,
                                      const float *restrict g0, float *restrict th2, float *restrict m2,
                                      float *restrict v2, size_t count, const float *k, int l2, int decoupled) {
  const float wd = k[0], b1 = k[1], c1 = k[2], b2 = k[3], c2 = k[4], decay = k[5], root_bc2 = k[6], eps = k[7],
              step = k[8];
  for (size_t i = 0; i < count; i++) {
    const float g = l2 ? g0[i] + th[i] * wd : g0[i];
    const float mi = m[i] * b1 + g * c1;
    const float vi = v[i] * b2 + (g * g) * c2;
    const float base = decoupled ? th[i] * decay : th[i];
    m2[i] = mi;
    v2[i] = vi;
    th2[i] = base - (mi / (sqrtf(vi) / root_bc2 + eps)) * step;
  }
}

/* adam(heap, offTheta, offM, offV, offG, offTheta2, offM2, offV2, count, l2, decoupled, wd, beta1, 1-beta1,
 *      beta2, 1-beta2, 1-lr·wd, √bc2, eps, lr/bc1): the new θ, m and v at the *2 offsets. */
napi_value adam(napi_env env, napi_callback_info info) {
  double a[19];
  Heap heap;
  if (!heap_args(env, info, "adam", 19, a, &heap)) return NULL;
  float *p[7]; /* θ, m, v, g in; θ, m, v out */
  for (int i = 0; i < 7; i++) p[i] = heap_floats(&heap, a[i], a[7]);
  if (!heap.ok) return NULL;
  float k[9];
  for (int i = 0; i < 9; i++) k[i] = (float)a[10 + i];
  adam_update(p[0], p[1], p[2], p[3], p[4], p[5], p[6], (size_t)a[7], k, a[8] != 0, a[9] != 0);
  return NULL;
}
