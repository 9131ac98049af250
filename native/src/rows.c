/* Row-wise kernels of milkit_blas: softmax and its gradient, Nyström landmark means, LayerNorm. */
#include "common.h"

/*
 * Row softmax and its gradient. Why: TransMIL's Nyström maps ([8192 × 256] and [256 × 8192] per
 * head) spent ~0.3 s of a 3.4 s step in tfjs-wasm's softmax (scalar exp) and the five kernels of
 * its gradient. softmax(heap, offX, offY, rows, cols); softmaxGrad(heap, offY, offDy, offDx, rows,
 * cols): dx = y ⊙ (dy − Σ_j dy_j·y_j) per row.
 */
VECTOR_CLONES static void softmax_row(const float *restrict x, float *restrict y, size_t n) {
  const float mx = lanes_max(x, n);
  for (size_t j = 0; j < n; j++) y[j] = exp_approx(x[j] - mx);
  const float inv = 1.f / lanes_dot(y, NULL, n);
  for (size_t j = 0; j < n; j++) y[j] *= inv;
}

VECTOR_CLONES static void softmax_grad_row(const float *restrict y, const float *restrict dy, float *restrict dx,
                                           size_t n) {
  const float dot = lanes_dot(dy, y, n);
  for (size_t j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - dot);
}

napi_value softmax(napi_env env, napi_callback_info info) {
  double a[4];
  Heap heap;
  if (!heap_args(env, info, "softmax", 4, a, &heap)) return NULL;
  if (a[2] < 0 || a[3] < 1) return bad_shape(env, "softmax");
  const float *x = heap_floats(&heap, a[0], a[2] * a[3]);
  float *y = heap_floats(&heap, a[1], a[2] * a[3]);
  if (!heap.ok) return NULL;
  const size_t rows = (size_t)a[2], cols = (size_t)a[3];
  for (size_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
  return NULL;
}

napi_value softmaxGrad(napi_env env, napi_callback_info info) {
  double a[5];
  Heap heap;
  if (!heap_args(env, info, "softmaxGrad", 5, a, &heap)) return NULL;
  if (a[3] < 0 || a[4] < 1) return bad_shape(env, "softmaxGrad");
  const float *y = heap_floats(&heap, a[0], a[3] * a[4]), *dy = heap_floats(&heap, a[1], a[3] * a[4]);
  float *dx = heap_floats(&heap, a[2], a[3] * a[4]);
  if (!heap.ok) return NULL;
  const size_t rows = (size_t)a[3], cols = (size_t)a[4];
  for (size_t r = 0; r < rows; r++) softmax_grad_row(y + r * cols, dy + r * cols, dx + r * cols, cols);
  return NULL;
}

/*
 * segmentMeans(heap, offX, offY, segments, length, cols, mode): Nyström landmarks.
 * mode 0: y[s] = mean of rows s·length … s·length + length − 1 of x [segments·length, cols];
 * mode 1 (its gradient): x is dy [segments, cols], y [segments·length, cols] = dy[s] / length.
 * Why: tfjs-wasm sums [m, l, d] over the middle axis through a transpose (160 calls per step).
 */
napi_value segmentMeans(napi_env env, napi_callback_info info) {
  double a[6];
  Heap heap;
  if (!heap_args(env, info, "segmentMeans", 6, a, &heap)) return NULL;
  if (a[2] < 1 || a[3] < 1 || a[4] < 1) return bad_shape(env, "segmentMeans");
  const int grad = a[5] != 0;
  const double all = a[2] * a[3] * a[4], means = a[2] * a[4];
  const float *x = heap_floats(&heap, a[0], grad ? means : all);
  float *y = heap_floats(&heap, a[1], grad ? all : means);
  if (!heap.ok) return NULL;
  const size_t segments = (size_t)a[2], length = (size_t)a[3], cols = (size_t)a[4];
  const float inv = 1.f / (float)length;
  for (size_t s = 0; s < segments; s++) {
    if (grad) {
      for (size_t r = 0; r < length; r++) scaled(y + (s * length + r) * cols, x + s * cols, inv, cols);
      continue;
    }
    float *out = y + s * cols;
    for (size_t j = 0; j < cols; j++) out[j] = 0.f;
    for (size_t r = 0; r < length; r++) add_row(out, x + (s * length + r) * cols, cols);
    scaled(out, out, inv, cols);
  }
  return NULL;
}

/*
 * LayerNorm over rows of [rows × cols] (src/models/layers/layerNorm.ts), forward and gradient.
 * layerNorm(heap, offX, offGamma, offBeta, offY, offXhat, offRstd, rows, cols, eps):
 *   μ, σ² = mean and (biased) variance of the row, rstd = 1/√(σ² + eps), x̂ = (x − μ)·rstd, y = x̂·γ + β.
 * layerNormGrad(heap, offDy, offXhat, offRstd, offGamma, offDx, offDgamma, offDbeta, rows, cols):
 *   g = dy·γ, dx = (g − mean(g) − x̂·mean(g·x̂))·rstd, dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
 * Why: through tfjs each is ~10 kernels over [N × 512] (TransMIL: 5 norms per step, at N = 8000).
 */
VECTOR_CLONES static void layer_norm_row(const float *restrict x, const float *restrict gamma,
                                         const float *restrict beta, float *restrict y, float *restrict xhat,
                                         float *rstd, size_t n, float eps) {
  const float mean = lanes_dot(x, NULL, n) / (float)n;
  for (size_t j = 0; j < n; j++) xhat[j] = x[j] - mean;
  const float r = 1.f / sqrtf(lanes_dot(xhat, xhat, n) / (float)n + eps);
  for (size_t j = 0; j < n; j++) {
    xhat[j] *= r;
    y[j] = xhat[j] * gamma[j] + beta[j];
  }
  *rstd = r;
}

VECTOR_CLONES static void layer_norm_grad_row(const float *restrict dy, const float *restrict xhat, float rstd,
                                              const float *restrict gamma, float *restrict dx, float *restrict dgamma,
                                              float *restrict dbeta, size_t n) {
  for (size_t j = 0; j < n; j++) dx[j] = dy[j] * gamma[j]; /* g, in place */
  const float meanG = lanes_dot(dx, NULL, n) / (float)n, meanGx = lanes_dot(dx, xhat, n) / (float)n;
  for (size_t j = 0; j < n; j++) {
    dx[j] = (dx[j] - meanG - xhat[j] * meanGx) * rstd;
    dgamma[j] += dy[j] * xhat[j];
    dbeta[j] += dy[j];
  }
}

napi_value layerNorm(napi_env env, napi_callback_info info) {
  double a[9];
  Heap heap;
  if (!heap_args(env, info, "layerNorm", 9, a, &heap)) return NULL;
  const double rows = a[6], cols = a[7];
  if (rows < 0 || cols < 1) return bad_shape(env, "layerNorm");
  const float *x = heap_floats(&heap, a[0], rows * cols), *gamma = heap_floats(&heap, a[1], cols),
              *beta = heap_floats(&heap, a[2], cols);
  float *y = heap_floats(&heap, a[3], rows * cols), *xhat = heap_floats(&heap, a[4], rows * cols),
        *rstd = heap_floats(&heap, a[5], rows);
  if (!heap.ok) return NULL;
  const size_t n = (size_t)cols;
  for (size_t r = 0; r < (size_t)rows; r++)
    layer_norm_row(x + r * n, gamma, beta, y + r * n, xhat + r * n, rstd + r, n, (float)a[8]);
  return NULL;
}

napi_value layerNormGrad(napi_env env, napi_callback_info info) {
  double a[9];
  Heap heap;
  if (!heap_args(env, info, "layerNormGrad", 9, a, &heap)) return NULL;
  const double rows = a[7], cols = a[8];
  if (rows < 0 || cols < 1) return bad_shape(env, "layerNormGrad");
  const float *dy = heap_floats(&heap, a[0], rows * cols), *xhat = heap_floats(&heap, a[1], rows * cols),
              *rstd = heap_floats(&heap, a[2], rows);
  const float *gamma = heap_floats(&heap, a[3], cols);
  float *dx = heap_floats(&heap, a[4], rows * cols), *dgamma = heap_floats(&heap, a[5], cols),
        *dbeta = heap_floats(&heap, a[6], cols);
  if (!heap.ok) return NULL;
  const size_t n = (size_t)cols;
  for (size_t j = 0; j < n; j++) dgamma[j] = dbeta[j] = 0.f;
  for (size_t r = 0; r < (size_t)rows; r++)
    layer_norm_grad_row(dy + r * n, xhat + r * n, rstd[r], gamma, dx + r * n, dgamma, dbeta, n);
  return NULL;
}
