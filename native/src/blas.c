/*
 * milkit_blas: single-precision matrix products through the system OpenBLAS, for tfjs kernels.
 *
 * Why: tfjs-wasm's XNNPACK matMul reaches ~25-40 GFLOP/s on this machine; OpenBLAS sgemm with
 * AVX-512 reaches ~220. The operands are not copied: the caller passes the wasm heap (an
 * ArrayBuffer) and byte offsets of the tensors inside it, and sgemm reads and writes there.
 *
 * matmul(heap, batch, m, n, k, transA, transB, offA, strideA, offB, strideB, offC,
 *        offBias, biasLen, act, leak)
 *   C[i] = act(op(A[i]) · op(B[i]) + bias) for i < batch; A[i] at offA + i·strideA (bytes), a
 *   stride of 0 broadcasts; op transposes when the flag is set (row-major, as tfjs stores).
 *   offBias < 0: no bias; biasLen 1 (scalar), n (per column) or m·n (a full matrix). act: 0 linear, 1 relu,
 *   2 sigmoid, 3 relu6, 4 elu, 5 leakyrelu (slope `leak`).
 * activation(heap, offX, offY, count, act): y = act(x), act 1 gelu (exact, erf), 2 tanh, 3 sigmoid, 4 relu.
 * activationGrad(heap, offDy, offZ, offG, rows, cols, act, offDb): g = dy ⊙ act′(z) for the
 *   pre-activation z, and db = Σ_rows g when offDb ≥ 0 (the bias gradient, in the same pass).
 * dropout(heap, offX, offY, count, state, threshold, scale): y = x·scale where the seeded
 *   uniform draw u_i < threshold/2^32, else 0; u_i is mulberry32 at state + (i+1)·0x6d2b79f5, the
 *   exact stream of src/random.ts (Rng.next), so masks equal the JS ones bit for bit.
 * depthwise(heap, offX, offW, offY, h, w, c, kh, kw, padTop, padLeft, outH, outW, mode): depthwise
 *   2-D convolution of one NHWC image, stride 1, dilation 1, one output per channel, zero padding.
 *   mode 0: y[i,j,c] = Σ_ab x[i+a−pt, j+b−pl, c]·w[a,b,c]; mode 1: the same with the filter flipped
 *   (w[kh−1−a, kw−1−b, c], the input gradient); mode 2: filter gradient, offY → dW [kh, kw, c] and
 *   offW → dy [outH, outW, c]: dW[a,b,c] = Σ_ij x[i+a−pt, j+b−pl, c]·dy[i,j,c].
 * adam(heap, offθ, offM, offV, offG, offθ2, offM2, offV2, count, l2, decoupled, wd, β1, 1−β1, β2, 1−β2,
 *   1−lr·wd, √bc2, ε, lr/bc1): one Adam step (src/train/optimizer.ts), new values at the *2 offsets.
 * info() → { threads, core, config, smallProductWork, smallProducts }; setThreads(n[, smallWork]).
 *   Products of fewer than smallWork multiply-adds (m·n·k, default 2^24) run on one thread and the
 *   thread count is restored after them; smallProducts counts them.
 */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include <node_api.h>

/* Vectorised loops are compiled for AVX-512, AVX2 and baseline x86-64, chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, NULL, "milkit_blas: N-API call failed");     \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

static double num(napi_env env, napi_value v, int *ok) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) *ok = 0;
  return d;
}

static void activate(float *c, size_t count, int act, float leak) {
  switch (act) {
    case 1:
      for (size_t i = 0; i < count; i++) c[i] = c[i] > 0.f ? c[i] : 0.f;
      break;
    case 2:
      for (size_t i = 0; i < count; i++) c[i] = 1.f / (1.f + expf(-c[i]));
      break;
    case 3:
      for (size_t i = 0; i < count; i++) c[i] = c[i] < 0.f ? 0.f : (c[i] > 6.f ? 6.f : c[i]);
      break;
    case 4:
      for (size_t i = 0; i < count; i++) c[i] = c[i] > 0.f ? c[i] : expm1f(c[i]);
      break;
    case 5:
      for (size_t i = 0; i < count; i++) c[i] = c[i] > 0.f ? c[i] : leak * c[i];
      break;
    default:
      break;
  }
}

/*
 * Threads: OpenBLAS wakes its workers for every product above a tiny size, and a woken worker
 * then spins (sched_yield) ~0.1 s waiting for more. For small products that costs more than it
 * saves: training on MUSK1's tiny bags with 2 threads spent 30 s of system time next to 52 s of
 * user time, with the same wall time as 1 thread. Measured crossover (2 cores): 2 threads win
 * from ~1.7e7 multiply-adds ([256 × 512]·[512 × 128]), lose below ~1.1e7.
 */
static int threads = 1;
static double small_work = 16777216.0;
static double small_products = 0;

/* c = a_r·b (+ c when it holds the bias): one row of an outer product. */
VECTOR_CLONES static void outer_row(float *restrict c, float a, const float *restrict b, size_t n, int accumulate) {
  if (accumulate) for (size_t j = 0; j < n; j++) c[j] += a * b[j];
  else for (size_t j = 0; j < n; j++) c[j] = a * b[j];
}

/* C = act-less op(A)·op(B) (+ bias) for one batch entry. */
static void product(const float *A, const float *B, float *C, int M, int N, int K, int ta, int tb, const float *bias, size_t biasLen) {
  float beta = 0.f;
  if (bias) {
    // Bias first, then the product accumulates onto it (beta = 1): one pass over C instead of two.
    for (int r = 0; r < M; r++) {
      float *row = C + (size_t)r * N;
      if (biasLen == 1) for (int j = 0; j < N; j++) row[j] = bias[0];
      else if (biasLen == (size_t)N) for (int j = 0; j < N; j++) row[j] = bias[j];
      else for (int j = 0; j < N; j++) row[j] = bias[(size_t)r * N + j];
    }
    beta = 1.f;
  }
  /*
   * Vector shapes (a·h pooling, its gradients, the score layer) go to sgemv or an outer-product
   * loop: OpenBLAS 0.3.21's sgemm packs the whole matrix operand for them first (~3-5x slower).
   * A side of length 1 is contiguous whether or not it is transposed.
   */
  if (K == 1) {
    for (int r = 0; r < M; r++) outer_row(C + (size_t)r * N, A[r], B, (size_t)N, bias != NULL);
    return;
  }
  if (M == 1 || N == 1) {
    if (!bias) for (int j = 0; j < M * N; j++) C[j] = 0.f; /* beta = 1 below: never read garbage (NaN·0) */
    if (M == 1) {
      /* c[1 × N] = a · op(B): B [K × N] → Bᵀa; B [N × K] (transposed) → B·a. */
      if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.f, B, K, A, 1, 1.f, C, 1);
      else cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.f, B, N, A, 1, 1.f, C, 1);
    } else {
      /* c[M × 1] = op(A) · b: A [M × K] → A·b; A [K × M] (transposed) → Aᵀb. */
      if (ta) cblas_sgemv(CblasRowMajor, CblasTrans, K, M, 1.f, A, M, B, 1, 1.f, C, 1);
      else cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.f, A, K, B, 1, 1.f, C, 1);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A,
              ta ? M : K, B, tb ? K : N, beta, C, N);
}

static napi_value matmul(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 16) {
    napi_throw_type_error(env, NULL, "milkit_blas.matmul: expected 16 arguments");
    return NULL;
  }
  void *heap = NULL;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heapBytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "milkit_blas.matmul: first argument must be an ArrayBuffer");
    return NULL;
  }
  int ok = 1;
  const double batch = num(env, argv[1], &ok), m = num(env, argv[2], &ok), n = num(env, argv[3], &ok), k = num(env, argv[4], &ok);
  const double transA = num(env, argv[5], &ok), transB = num(env, argv[6], &ok);
  const double offA = num(env, argv[7], &ok), strideA = num(env, argv[8], &ok);
  const double offB = num(env, argv[9], &ok), strideB = num(env, argv[10], &ok);
  const double offC = num(env, argv[11], &ok), offBias = num(env, argv[12], &ok), biasLen = num(env, argv[13], &ok);
  const double act = num(env, argv[14], &ok), leak = num(env, argv[15], &ok);
  if (!ok) {
    napi_throw_type_error(env, NULL, "milkit_blas.matmul: arguments 2-16 must be numbers");
    return NULL;
  }
  // Every byte touched must lie inside the heap: a wrong offset must throw, not corrupt memory.
  const double cBytes = m * n * 4;
  const double lastA = offA + (batch - 1) * strideA + m * k * 4, lastB = offB + (batch - 1) * strideB + k * n * 4;
  const double lastC = offC + batch * cBytes, lastBias = offBias < 0 ? 0 : offBias + biasLen * 4;
  if (batch < 1 || m < 1 || n < 1 || k < 1 || offA < 0 || offB < 0 || offC < 0 || strideA < 0 || strideB < 0 ||
      lastA > (double)heapBytes || lastB > (double)heapBytes || lastC > (double)heapBytes || lastBias > (double)heapBytes ||
      m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || (offBias >= 0 && biasLen != 1 && biasLen != n && biasLen != m * n)) {
    napi_throw_range_error(env, NULL, "milkit_blas.matmul: shape or offset outside the heap");
    return NULL;
  }
  char *base = (char *)heap;
  const int M = (int)m, N = (int)n, K = (int)k;
  const int ta = transA != 0, tb = transB != 0;
  const int single = threads > 1 && m * n * k < small_work;
  if (single) {
    openblas_set_num_threads(1);
    small_products++;
  }
  for (int64_t i = 0; i < (int64_t)batch; i++) {
    const float *A = (const float *)(base + (size_t)(offA + i * strideA));
    const float *B = (const float *)(base + (size_t)(offB + i * strideB));
    float *C = (float *)(base + (size_t)(offC + i * cBytes));
    const float *bias = offBias >= 0 ? (const float *)(base + (size_t)offBias) : NULL;
    product(A, B, C, M, N, K, ta, tb, bias, (size_t)biasLen);
    activate(C, (size_t)M * N, (int)act, (float)leak);
  }
  if (single) openblas_set_num_threads(threads);
  return NULL;
}


/*
 * Element-wise activations, written so gcc vectorises every loop (no branches, no libm calls):
 * exp by range reduction + Cephes polynomial (~1 ulp), erf by Abramowitz-Stegun 7.1.26 (|err| ≤
 * 1.5e-7, the formula tfjs's own Erf kernel uses), tanh by Cephes (polynomial below 0.625).
 * On x86-64 each loop is compiled for AVX-512, AVX2 and baseline, chosen at load time (VECTOR_CLONES).
 */
static inline float exp_approx(float x) {
  x = x < -87.f ? -87.f : (x > 88.f ? 88.f : x);
  const float t = x * 1.44269504088896341f + 0.5f;
  const int n = (int)(t + 128.f) - 128; /* floor for t > -128 */
  const float fn = (float)n;
  float r = x - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  union { int32_t i; float f; } scale = { (n + 127) << 23 };
  return p * scale.f;
}

/* Φ(z) and φ(z) (standard normal cdf and pdf) with one exp. */
static inline void normal_cdf_pdf(float z, float *cdf, float *pdf) {
  const float x = z * 0.70710678118654752f, ax = x < 0.f ? -x : x;
  const float t = 1.f / (1.f + 0.3275911f * ax);
  const float e = exp_approx(-x * x);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float erf_abs = 1.f - poly * e;
  const float erf = x < 0.f ? -erf_abs : erf_abs;
  *cdf = 0.5f * (1.f + erf);
  *pdf = e * 0.39894228040143268f;
}

static inline float tanh_approx(float x) {
  const float ax = x < 0.f ? -x : x;
  const float z = x * x;
  const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
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

VECTOR_CLONES static void activation_backward(const float *restrict dy, const float *restrict z, float *restrict g, size_t cols, int act) {
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

VECTOR_CLONES static void add_row(float *restrict acc, const float *restrict row, size_t cols) {
  for (size_t j = 0; j < cols; j++) acc[j] += row[j];
}

/* Reads `count` numbers from argv[from..]; returns 0 (with a JS exception pending) on failure. */
static int numbers(napi_env env, napi_value *argv, size_t from, size_t count, double *out) {
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_double(env, argv[from + i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "milkit_blas: expected numbers after the heap");
      return 0;
    }
  }
  return 1;
}

static char *heap_of(napi_env env, napi_value v, size_t *bytes) {
  void *heap = NULL;
  if (napi_get_arraybuffer_info(env, v, &heap, bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "milkit_blas: first argument must be an ArrayBuffer");
    return NULL;
  }
  return (char *)heap;
}

/* The entry points take (heap, n numbers): checks the count, returns the heap (NULL with a JS
 * exception pending on failure) and the numbers in `a`. */
#define MAX_ARGS 20
static char *heap_and_numbers(napi_env env, napi_callback_info info, const char *name, size_t n, double *a, size_t *heapBytes) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != n + 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "milkit_blas.%s: expected %zu arguments", name, n + 1);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  char *heap = heap_of(env, argv[0], heapBytes);
  return heap && numbers(env, argv, 1, n, a) ? heap : NULL;
}

static int inside(napi_env env, double off, double bytes, size_t heapBytes) {
  if (off < 0 || off + bytes > (double)heapBytes || ((int64_t)off & 3) != 0) {
    napi_throw_range_error(env, NULL, "milkit_blas: offset outside the heap");
    return 0;
  }
  return 1;
}

static napi_value activation(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[4];
  char *heap = heap_and_numbers(env, info, "activation", 4, a, &heapBytes);
  if (!heap) return NULL;
  const double count = a[2];
  if (!inside(env, a[0], count * 4, heapBytes) || !inside(env, a[1], count * 4, heapBytes)) return NULL;
  activation_forward((const float *)(heap + (size_t)a[0]), (float *)(heap + (size_t)a[1]), (size_t)count, (int)a[3]);
  return NULL;
}

static napi_value activation_grad(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[7];
  char *heap = heap_and_numbers(env, info, "activationGrad", 7, a, &heapBytes);
  if (!heap) return NULL;
  const double rows = a[3], cols = a[4], offDb = a[6];
  const double bytes = rows * cols * 4;
  if (!inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], bytes, heapBytes) || !inside(env, a[2], bytes, heapBytes)) return NULL;
  if (offDb >= 0 && !inside(env, offDb, cols * 4, heapBytes)) return NULL;
  const float *dy = (const float *)(heap + (size_t)a[0]), *z = (const float *)(heap + (size_t)a[1]);
  float *g = (float *)(heap + (size_t)a[2]);
  float *db = offDb >= 0 ? (float *)(heap + (size_t)offDb) : NULL;
  const size_t R = (size_t)rows, C = (size_t)cols;
  if (db) for (size_t j = 0; j < C; j++) db[j] = 0.f;
  for (size_t r = 0; r < R; r++) {
    activation_backward(dy + r * C, z + r * C, g + r * C, C, (int)a[5]);
    if (db) add_row(db, g + r * C, C); /* the row is still in cache */
  }
  return NULL;
}


/* Each draw depends only on its index (mulberry32's state is a counter), so the loop vectorises. */
VECTOR_CLONES static void dropout_mask_mul(const float *restrict x, float *restrict y, size_t count, uint32_t state, uint64_t threshold, float scale) {
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

static napi_value dropout(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[6];
  char *heap = heap_and_numbers(env, info, "dropout", 6, a, &heapBytes);
  if (!heap) return NULL;
  const double count = a[2];
  if (!inside(env, a[0], count * 4, heapBytes) || !inside(env, a[1], count * 4, heapBytes)) return NULL;
  if (a[3] < 0 || a[3] > 4294967295.0 || a[4] < 0 || a[4] > 4294967296.0) {
    napi_throw_range_error(env, NULL, "milkit_blas.dropout: state or threshold out of range");
    return NULL;
  }
  dropout_mask_mul((const float *)(heap + (size_t)a[0]), (float *)(heap + (size_t)a[1]), (size_t)count, (uint32_t)a[3], (uint64_t)a[4], (float)a[5]);
  return NULL;
}


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
static int depthwise_few_channels(const float *x, const float *wt, float *y, long h, long w, long c, long kh, long kw, long pt, long pl, long oh, long ow, int mode) {
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
        if (j1 > j0) fma_row(y + (i * ow + j0) * c, x + (xi * w + j0 + b - pl) * c, tiled + (a * kw + b) * row + j0 * c, (size_t)(j1 - j0) * c);
      }
    }
  free(tiled);
  return 1;
}

static void depthwise_run(const float *x, const float *wt, float *y, long h, long w, long c, long kh, long kw, long pt, long pl, long oh, long ow, int mode) {
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

static napi_value depthwise(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[13];
  char *heap = heap_and_numbers(env, info, "depthwise", 13, a, &heapBytes);
  if (!heap) return NULL;
  const long h = (long)a[3], w = (long)a[4], c = (long)a[5], kh = (long)a[6], kw = (long)a[7];
  const long pt = (long)a[8], pl = (long)a[9], oh = (long)a[10], ow = (long)a[11];
  const int mode = (int)a[12];
  if (h < 1 || w < 1 || c < 1 || kh < 1 || kw < 1 || oh < 1 || ow < 1 || pt < 0 || pl < 0 || mode < 0 || mode > 2) {
    napi_throw_range_error(env, NULL, "milkit_blas.depthwise: bad shape");
    return NULL;
  }
  const double xBytes = (double)h * w * c * 4, fBytes = (double)kh * kw * c * 4, oBytes = (double)oh * ow * c * 4;
  const double wBytes = mode == 2 ? oBytes : fBytes, yBytes = mode == 2 ? fBytes : oBytes;
  if (!inside(env, a[0], xBytes, heapBytes) || !inside(env, a[1], wBytes, heapBytes) || !inside(env, a[2], yBytes, heapBytes)) return NULL;
  depthwise_run((const float *)(heap + (size_t)a[0]), (const float *)(heap + (size_t)a[1]), (float *)(heap + (size_t)a[2]), h, w, c, kh, kw, pt, pl, oh, ow, mode);
  return NULL;
}

VECTOR_CLONES static void scaled(float *y, const float *x, float a, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a * x[i];
}

/*
 * Row softmax and its gradient. Why: TransMIL's Nyström maps ([8192 × 256] and [256 × 8192] per
 * head) spent ~0.3 s of a 3.4 s step in tfjs-wasm's softmax (scalar exp) and the five kernels of
 * its gradient. softmax(heap, offX, offY, rows, cols); softmaxGrad(heap, offY, offDy, offDx, rows,
 * cols): dx = y ⊙ (dy − Σ_j dy_j·y_j) per row.
 */
/* Σ a·b (b = NULL: Σ a) and max a in 16 lanes, so gcc vectorises them (the lane order differs from a serial sum). */
static inline float lanes_dot(const float *restrict a, const float *restrict b, size_t n) {
  float acc[16] = {0};
  size_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; k++) acc[k] += b ? a[j + k] * b[j + k] : a[j + k];
  float s = 0.f;
  for (int k = 0; k < 16; k++) s += acc[k];
  for (; j < n; j++) s += b ? a[j] * b[j] : a[j];
  return s;
}

static inline float lanes_max(const float *restrict a, size_t n) {
  float acc[16];
  for (int k = 0; k < 16; k++) acc[k] = -INFINITY;
  size_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; k++) acc[k] = a[j + k] > acc[k] ? a[j + k] : acc[k];
  float m = -INFINITY;
  for (int k = 0; k < 16; k++) m = acc[k] > m ? acc[k] : m;
  for (; j < n; j++) m = a[j] > m ? a[j] : m;
  return m;
}

VECTOR_CLONES static void softmax_row(const float *restrict x, float *restrict y, size_t n) {
  const float mx = lanes_max(x, n);
  for (size_t j = 0; j < n; j++) y[j] = exp_approx(x[j] - mx);
  const float inv = 1.f / lanes_dot(y, NULL, n);
  for (size_t j = 0; j < n; j++) y[j] *= inv;
}

VECTOR_CLONES static void softmax_grad_row(const float *restrict y, const float *restrict dy, float *restrict dx, size_t n) {
  const float dot = lanes_dot(dy, y, n);
  for (size_t j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - dot);
}

static napi_value softmax(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[4];
  char *heap = heap_and_numbers(env, info, "softmax", 4, a, &heapBytes);
  if (!heap) return NULL;
  const double bytes = a[2] * a[3] * 4;
  if (a[2] < 0 || a[3] < 1 || !inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], bytes, heapBytes)) return NULL;
  const size_t rows = (size_t)a[2], cols = (size_t)a[3];
  const float *x = (const float *)(heap + (size_t)a[0]);
  float *y = (float *)(heap + (size_t)a[1]);
  for (size_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
  return NULL;
}

static napi_value softmaxGrad(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[5];
  char *heap = heap_and_numbers(env, info, "softmaxGrad", 5, a, &heapBytes);
  if (!heap) return NULL;
  const double bytes = a[3] * a[4] * 4;
  if (a[3] < 0 || a[4] < 1 || !inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], bytes, heapBytes) || !inside(env, a[2], bytes, heapBytes)) return NULL;
  const size_t rows = (size_t)a[3], cols = (size_t)a[4];
  const float *y = (const float *)(heap + (size_t)a[0]), *dy = (const float *)(heap + (size_t)a[1]);
  float *dx = (float *)(heap + (size_t)a[2]);
  for (size_t r = 0; r < rows; r++) softmax_grad_row(y + r * cols, dy + r * cols, dx + r * cols, cols);
  return NULL;
}

/*
 * segmentMeans(heap, offX, offY, segments, length, cols, mode): Nyström landmarks.
 * mode 0: y[s] = mean of rows s·length … s·length + length − 1 of x [segments·length, cols];
 * mode 1 (its gradient): x is dy [segments, cols], y [segments·length, cols] = dy[s] / length.
 * Why: tfjs-wasm sums [m, l, d] over the middle axis through a transpose (160 calls per step).
 */
static napi_value segmentMeans(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[6];
  char *heap = heap_and_numbers(env, info, "segmentMeans", 6, a, &heapBytes);
  if (!heap) return NULL;
  const int grad = a[5] != 0;
  const double big = a[2] * a[3] * a[4] * 4, small = a[2] * a[4] * 4;
  if (a[2] < 1 || a[3] < 1 || a[4] < 1 || !inside(env, a[0], grad ? small : big, heapBytes) || !inside(env, a[1], grad ? big : small, heapBytes)) return NULL;
  const size_t segments = (size_t)a[2], length = (size_t)a[3], cols = (size_t)a[4];
  const float *x = (const float *)(heap + (size_t)a[0]);
  float *y = (float *)(heap + (size_t)a[1]);
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
VECTOR_CLONES static void layer_norm_row(const float *restrict x, const float *restrict gamma, const float *restrict beta, float *restrict y,
                                         float *restrict xhat, float *rstd, size_t n, float eps) {
  const float mean = lanes_dot(x, NULL, n) / (float)n;
  for (size_t j = 0; j < n; j++) xhat[j] = x[j] - mean;
  const float r = 1.f / sqrtf(lanes_dot(xhat, xhat, n) / (float)n + eps);
  for (size_t j = 0; j < n; j++) {
    xhat[j] *= r;
    y[j] = xhat[j] * gamma[j] + beta[j];
  }
  *rstd = r;
}

VECTOR_CLONES static void layer_norm_grad_row(const float *restrict dy, const float *restrict xhat, float rstd, const float *restrict gamma,
                                              float *restrict dx, float *restrict dgamma, float *restrict dbeta, size_t n) {
  for (size_t j = 0; j < n; j++) dx[j] = dy[j] * gamma[j]; /* g, in place */
  const float meanG = lanes_dot(dx, NULL, n) / (float)n, meanGx = lanes_dot(dx, xhat, n) / (float)n;
  for (size_t j = 0; j < n; j++) {
    dx[j] = (dx[j] - meanG - xhat[j] * meanGx) * rstd;
    dgamma[j] += dy[j] * xhat[j];
    dbeta[j] += dy[j];
  }
}

static napi_value layerNorm(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[9];
  char *heap = heap_and_numbers(env, info, "layerNorm", 9, a, &heapBytes);
  if (!heap) return NULL;
  const double rows = a[6], cols = a[7], bytes = rows * cols * 4;
  if (rows < 0 || cols < 1 || !inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], cols * 4, heapBytes) || !inside(env, a[2], cols * 4, heapBytes) ||
      !inside(env, a[3], bytes, heapBytes) || !inside(env, a[4], bytes, heapBytes) || !inside(env, a[5], rows * 4, heapBytes)) return NULL;
  const size_t n = (size_t)cols;
  const float *x = (const float *)(heap + (size_t)a[0]), *gamma = (const float *)(heap + (size_t)a[1]), *beta = (const float *)(heap + (size_t)a[2]);
  float *y = (float *)(heap + (size_t)a[3]), *xhat = (float *)(heap + (size_t)a[4]), *rstd = (float *)(heap + (size_t)a[5]);
  for (size_t r = 0; r < (size_t)rows; r++) layer_norm_row(x + r * n, gamma, beta, y + r * n, xhat + r * n, rstd + r, n, (float)a[8]);
  return NULL;
}

static napi_value layerNormGrad(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[9];
  char *heap = heap_and_numbers(env, info, "layerNormGrad", 9, a, &heapBytes);
  if (!heap) return NULL;
  const double rows = a[7], cols = a[8], bytes = rows * cols * 4;
  if (rows < 0 || cols < 1 || !inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], bytes, heapBytes) || !inside(env, a[2], rows * 4, heapBytes) ||
      !inside(env, a[3], cols * 4, heapBytes) || !inside(env, a[4], bytes, heapBytes) || !inside(env, a[5], cols * 4, heapBytes) || !inside(env, a[6], cols * 4, heapBytes)) return NULL;
  const size_t n = (size_t)cols;
  const float *dy = (const float *)(heap + (size_t)a[0]), *xhat = (const float *)(heap + (size_t)a[1]), *rstd = (const float *)(heap + (size_t)a[2]);
  const float *gamma = (const float *)(heap + (size_t)a[3]);
  float *dx = (float *)(heap + (size_t)a[4]), *dgamma = (float *)(heap + (size_t)a[5]), *dbeta = (float *)(heap + (size_t)a[6]);
  for (size_t j = 0; j < n; j++) dgamma[j] = dbeta[j] = 0.f;
  for (size_t r = 0; r < (size_t)rows; r++) layer_norm_grad_row(dy + r * n, xhat + r * n, rstd[r], gamma, dx + r * n, dgamma, dbeta, n);
  return NULL;
}

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
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, m, m, alpha, A, m, B, m, beta, C, m);
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
static void pinv_backward(const float *x, const float *keep, float *dz, float *dx, float *dz0, int m, int iterations, float *scratch) {
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
static napi_value pinv(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[10];
  char *heap = heap_and_numbers(env, info, "pinv", 10, a, &heapBytes);
  if (!heap) return NULL;
  const long batch = (long)a[3], m = (long)a[4], iterations = (long)a[5];
  const int backward = a[6] >= 0;
  if (batch < 1 || m < 1 || m > 46340 || iterations < 1 || iterations > 1000) {
    napi_throw_range_error(env, NULL, "milkit_blas.pinv: bad shape");
    return NULL;
  }
  const size_t mm = (size_t)m * m;
  const double bytes = (double)batch * mm * 4;
  if (!inside(env, a[0], bytes, heapBytes) || !inside(env, a[1], bytes, heapBytes)) return NULL;
  if (backward ? !inside(env, a[6], bytes, heapBytes) || !inside(env, a[7], bytes, heapBytes) || !inside(env, a[8], bytes, heapBytes)
               : !inside(env, a[2], bytes, heapBytes)) return NULL;
  const int kept = a[9] >= 0;
  const size_t keepFloats = (size_t)iterations * 4 * mm;
  if (backward && !kept) {
    napi_throw_range_error(env, NULL, "milkit_blas.pinv: the backward pass needs the kept iterates");
    return NULL;
  }
  if (kept && !inside(env, a[9], bytes * iterations * 4, heapBytes)) return NULL;
  float *scratch = malloc(sizeof(float) * (5 * mm + (kept ? 0 : keepFloats)));
  if (!scratch) {
    napi_throw_error(env, NULL, "milkit_blas.pinv: out of memory");
    return NULL;
  }
  const int single = threads > 1 && (double)mm * m < small_work;
  if (single) openblas_set_num_threads(1);
  for (long b = 0; b < batch; b++) {
    const size_t o = (size_t)b * mm * 4;
    const float *x = (const float *)(heap + (size_t)a[0] + o), *z0 = (const float *)(heap + (size_t)a[1] + o);
    float *keep = kept ? (float *)(heap + (size_t)a[9]) + (size_t)b * keepFloats : scratch;
    if (!backward) {
      pinv_forward(x, z0, (float *)(heap + (size_t)a[2] + o), keep, (int)m, (int)iterations);
    } else {
      float *dx = (float *)(heap + (size_t)a[7] + o), *dz = scratch;
      memcpy(dz, heap + (size_t)a[6] + o, mm * sizeof(float));
      for (size_t i = 0; i < mm; i++) dx[i] = 0.f;
      pinv_backward(x, keep, dz, dx, (float *)(heap + (size_t)a[8] + o), (int)m, (int)iterations, scratch + mm);
    }
  }
  if (single) openblas_set_num_threads(threads);
  free(scratch);
  return NULL;
}

/*
 * One Adam step for one variable, in one pass: the float32 operations of src/train/optimizer.ts in
 * the same order (no contraction: -std=c11), so the result equals the tfjs ops bit for bit.
 * Why: through tfjs ops the step is 12 kernels, each a pass over the weights ([1024 × 512] for the
 * projection) plus an allocation.
 */
VECTOR_CLONES static void adam_update(const float *restrict th, const float *restrict m, const float *restrict v, const float *restrict g0,
                                      float *restrict th2, float *restrict m2, float *restrict v2, size_t count, const float *k, int l2, int decoupled) {
  const float wd = k[0], b1 = k[1], c1 = k[2], b2 = k[3], c2 = k[4], decay = k[5], root_bc2 = k[6], eps = k[7], step = k[8];
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
static napi_value adam(napi_env env, napi_callback_info info) {
  size_t heapBytes = 0;
  double a[19];
  char *heap = heap_and_numbers(env, info, "adam", 19, a, &heapBytes);
  if (!heap) return NULL;
  const double count = a[7], bytes = count * 4;
  for (int i = 0; i < 7; i++)
    if (!inside(env, a[i], bytes, heapBytes)) return NULL;
  float k[9];
  for (int i = 0; i < 9; i++) k[i] = (float)a[10 + i];
  adam_update((const float *)(heap + (size_t)a[0]), (const float *)(heap + (size_t)a[1]), (const float *)(heap + (size_t)a[2]),
              (const float *)(heap + (size_t)a[3]), (float *)(heap + (size_t)a[4]), (float *)(heap + (size_t)a[5]), (float *)(heap + (size_t)a[6]),
              (size_t)count, k, a[8] != 0, a[9] != 0);
  return NULL;
}

static napi_value info(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value out, nthreads, core, config, work, count;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &nthreads));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_set_named_property(env, out, "threads", nthreads));
  CHECK(napi_set_named_property(env, out, "core", core));
  CHECK(napi_set_named_property(env, out, "config", config));
  CHECK(napi_create_double(env, small_work, &work));
  CHECK(napi_create_double(env, small_products, &count));
  CHECK(napi_set_named_property(env, out, "smallProductWork", work));
  CHECK(napi_set_named_property(env, out, "smallProducts", count));
  return out;
}

static napi_value set_threads(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t n = 0;
  double work = small_work;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 ||
      (argc > 1 && (napi_get_value_double(env, argv[1], &work) != napi_ok || !(work >= 0)))) {
    napi_throw_type_error(env, NULL, "milkit_blas.setThreads: expected a positive integer (and a work threshold >= 0)");
    return NULL;
  }
  threads = n;
  small_work = work;
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"activation", NULL, activation, NULL, NULL, NULL, napi_enumerable, NULL},
      {"activationGrad", NULL, activation_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dropout", NULL, dropout, NULL, NULL, NULL, napi_enumerable, NULL},
      {"depthwise", NULL, depthwise, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pinv", NULL, pinv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmax", NULL, softmax, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmaxGrad", NULL, softmaxGrad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"segmentMeans", NULL, segmentMeans, NULL, NULL, NULL, napi_enumerable, NULL},
      {"layerNorm", NULL, layerNorm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"layerNormGrad", NULL, layerNormGrad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, adam, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
