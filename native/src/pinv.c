#include "common.h"

/*
 * Moore–Penrose iteration of Nyström attention (src/models/layers/nystrom.ts), one [m × m] matrix:
 *   xz = x·z, p1 = 7xz − xz·xz, p2 = 15xz − xz·p1, z ← 3.25z − 0.25·z·p2   (= ¼z(13I − xz(15I − xz(7I − xz))))
 * Forward keeps every iterate (z, xz, p1, p2 per step) in `keep` when given; the backward pass
 * walks them in reverse:
 *   dz_in = 3.25dz − 0.25dz·p2ᵀ, dp2 = −0.25zᵀdz, dxz = 15dp2 − dp2·p1ᵀ, dp1 = −xzᵀdp2,
 *   dxz += 7dp1 − dp1·xzᵀ − xzᵀdp1, dx += dxz·zᵀ, dz_in += xᵀdxz.
 * Why native: through tfjs each step is 4 products + 6 element-wise kernels per head, and its
 * gradient twice that, ~3,000 kernel calls per TransMIL step on [256 × 256] matrices.
 */
static void gemm(const float *A, const float *B, float *C, int m, int ta, int tb, float alpha, float beta) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, m, m, alpha, A, m, B, m,
              beta, C, m);
}

/* keep: [iterations][4][m·m], each step's z, xz, p1, p2 (the backward pass reads them). */
static void pinv_forward(const float *x, const float *z0, float *z, float *keep, int m, int iterations) {
  const size_t mm = (size_t)m * m;
  memcpy(keep, z0, mm * sizeof(float));
  for (int it = 0; it < iterations; it++) {
    float *cur = keep + (size_t)it * 4 * mm, *xz = cur + mm, *p1 = cur + 2 * mm, *p2 = cur + 3 * mm;
    float *next = it + 1 < iterations ? keep + (size_t)(it + 1) * 4 * mm : z;
    gemm(x, cur, xz, m, 0, 0, 1.f, 0.f);
    scaled(p1, xz, 7.f, mm);
    gemm(xz, xz, p1, m, 0, 0, -1.f, 1.f);
    scaled(p2, xz, 15.f, mm);
    gemm(xz, p1, p2, m, 0, 0, -1.f, 1.f);
    scaled(next, cur, 3.25f, mm);
    gemm(cur, p2, next, m, 0, 0, -0.25f, 1.f);
  }
}

/* dz: gradient of the last iterate (overwritten); dx accumulates (+=); dz0 receives the start's gradient. */
static void pinv_backward(const float *x, const float *keep, float *dz, float *dx, float *dz0, int m, int iterations,
                          float *scratch) {
  const size_t mm = (size_t)m * m;
  float *dzin = scratch, *dp2 = scratch + mm, *dxz = scratch + 2 * mm, *dp1 = scratch + 3 * mm;
  for (int it = iterations - 1; it >= 0; it--) {
    const float *z = keep + (size_t)it * 4 * mm, *xz = z + mm, *p1 = z + 2 * mm, *p2 = z + 3 * mm;
    scaled(dzin, dz, 3.25f, mm);
    gemm(dz, p2, dzin, m, 0, 1, -0.25f, 1.f);
    gemm(z, dz, dp2, m, 1, 0, -0.25f, 0.f);
    scaled(dxz, dp2, 15.f, mm);
    gemm(dp2, p1, dxz, m, 0, 1, -1.f, 1.f);
    gemm(xz, dp2, dp1, m, 1, 0, -1.f, 0.f);
    for (size_t i = 0; i < mm; i++) dxz[i] += 7.f * dp1[i];
    gemm(dp1, xz, dxz, m, 0, 1, -1.f, 1.f);
    gemm(xz, dp1, dxz, m, 1, 0, -1.f, 1.f);
    gemm(dxz, z, dx, m, 0, 1, 1.f, 1.f);
    gemm(x, dxz, dzin, m, 1, 0, 1.f, 1.f);
    memcpy(dz, dzin, mm * sizeof(float));
  }
  memcpy(dz0, dz, mm * sizeof(float));
}

/*
 * pinv(heap, offX, offZ0, offZ, batch, m, iterations, offDz, offDx, offDz0, offKeep): batch
 * matrices [m × m] at consecutive offsets. offDz < 0: forward, Z from X and Z0, and with
 * offKeep ≥ 0 the iterates written there ([batch][iterations][4][m·m]) for the backward pass.
 * offDz ≥ 0: backward (offZ unused), dX and dZ0 of dZ from the iterates at offKeep.
 */
napi_value pinv(napi_env env, napi_callback_info info) {
  double a[10];
  Heap heap;
  if (!heap_args(env, info, "pinv", 10, a, &heap)) return NULL;
  const long batch = (long)a[3], m = (long)a[4], iterations = (long)a[5];
  const int backward = a[6] >= 0, kept = a[9] >= 0;
  if (batch < 1 || m < 1 || m > 46340 || iterations < 1 || iterations > 1000) return bad_shape(env, "pinv");
  if (backward && !kept) {
    napi_throw_range_error(env, NULL, "milkit_blas.pinv: the backward pass needs the kept iterates");
    return NULL;
  }
  const size_t mm = (size_t)m * m, keepFloats = (size_t)iterations * 4 * mm;
  const double count = (double)batch * mm;
  const float *x = heap_floats(&heap, a[0], count), *z0 = heap_floats(&heap, a[1], count);
  float *z = backward ? NULL : heap_floats(&heap, a[2], count);
  const float *dzIn = backward ? heap_floats(&heap, a[6], count) : NULL;
  float *dx = backward ? heap_floats(&heap, a[7], count) : NULL,
        *dz0 = backward ? heap_floats(&heap, a[8], count) : NULL;
  float *iterates = kept ? heap_floats(&heap, a[9], count * iterations * 4) : NULL;
  if (!heap.ok) return NULL;
  float *scratch = malloc(sizeof(float) * (5 * mm + (kept ? 0 : keepFloats)));
  if (!scratch) {
    napi_throw_error(env, NULL, "milkit_blas.pinv: out of memory");
    return NULL;
  }
  const int single = few_threads_begin((double)mm * m);
  for (long b = 0; b < batch; b++) {
    const size_t o = (size_t)b * mm;
    float *keep = kept ? iterates + (size_t)b * keepFloats : scratch;
    if (!backward) {
      pinv_forward(x + o, z0 + o, z + o, keep, (int)m, (int)iterations);
    } else {
      float *dz = scratch;
      memcpy(dz, dzIn + o, mm * sizeof(float));
      for (size_t i = 0; i < mm; i++) dx[o + i] = 0.f;
      pinv_backward(x + o, keep, dz, dx + o, dz0 + o, (int)m, (int)iterations, scratch + mm);
    }
  }
  few_threads_end(single);
  free(scratch);
  return NULL;
}
