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
 * Files: blas.c (matmul, threads, argument checks, the module), gemm.c (the AVX-512 sgemm), peak.c
 * (the FMA probe), elementwise.c (activations, dropout,
 * Adam), rows.c (softmax, LayerNorm, segment means), depthwise.c, pinv.c; common.h shares helpers.
 * info() → { threads, core, config, smallProductWork, smallProducts, gemm, fmaLanes, bf16, bf16Kernel };
 *   setThreads(n[, smallWork]).
 *   gemm names the kernel of the general products: milkit's own (gemm.c) on AVX-512 CPUs, else
 *   OpenBLAS; setGemm("milkit" | "openblas") chooses. selfTest() checks it against a double-precision
 *   loop; fmaPeak(threads, iters) is the FMA probe (peak.c), bf16Peak the same for vdpbf16ps.
 * bf16Pack, matmulBf16, bf16SelfTest: the opt-in bfloat16 inference product (bf16.c), where
 *   info().bf16 says the CPU has AVX-512 BF16; info().bf16Kernel names its kernel ("AMX" tiles where
 *   the CPU and Linux allow them, else "AVX512-BF16"), setBf16Kernel("amx" | "avx512") chooses.
 *   Products of fewer than smallWork multiply-adds (m·n·k, default 2^24) run on one thread and the
 *   thread count is restored after them; smallProducts counts them.
 */
#include "common.h"
#include "gemm.h"
#include "peak.h"

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
static int threads_now = 1; /* 1 inside a small product (few_threads_begin), else `threads` */
static double small_work = 16777216.0;
static double small_products = 0;

/*
 * Which sgemm runs the general products: milkit's packed AVX-512 kernel (gemm.c) where the CPU has
 * AVX-512, OpenBLAS otherwise. setGemm("openblas") switches back, e.g. to compare the two.
 */
static int own_gemm = -1; /* -1: not decided yet (decided on first use from the CPU) */
static int use_own_gemm(void) {
  if (own_gemm < 0) own_gemm = gemm_avx512_supported();
  return own_gemm;
}

/* c = a_r·b (+ c when it holds the bias): one row of an outer product. */
VECTOR_CLONES static void outer_row(float *restrict c, float a, const float *restrict b, size_t n, int accumulate) {
  if (accumulate)
    for (size_t j = 0; j < n; j++) c[j] += a * b[j];
  else
    for (size_t j = 0; j < n; j++) c[j] = a * b[j];
}

/* C = act-less op(A)·op(B) (+ bias) for one batch entry. */
static void product(const float *A, const float *B, float *C, int M, int N, int K, int ta, int tb, const float *bias,
                    size_t biasLen) {
  float beta = 0.f;
  if (bias) {
    // Bias first, then the product accumulates onto it (beta = 1): one pass over C instead of two.
    for (int r = 0; r < M; r++) {
      float *row = C + (size_t)r * N;
      if (biasLen == 1)
        for (int j = 0; j < N; j++) row[j] = bias[0];
      else if (biasLen == (size_t)N)
        for (int j = 0; j < N; j++) row[j] = bias[j];
      else
        for (int j = 0; j < N; j++) row[j] = bias[(size_t)r * N + j];
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
    if (!bias)
      for (int j = 0; j < M * N; j++) C[j] = 0.f; /* beta = 1 below: never read garbage (NaN·0) */
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
  if (use_own_gemm()) {
    const GemmArgs g = {.ta = ta,
                        .tb = tb,
                        .M = M,
                        .N = N,
                        .K = K,
                        .A = A,
                        .B = B,
                        .lda = (size_t)(ta ? M : K),
                        .ldb = (size_t)(tb ? K : N),
                        .ldc = (size_t)N,
                        .beta = beta,
                        .C = C};
    if (gemm_avx512(&g, threads_now)) return; /* 0: out of memory for the packed panels, OpenBLAS does it */
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
  const double batch = num(env, argv[1], &ok), m = num(env, argv[2], &ok), n = num(env, argv[3], &ok),
               k = num(env, argv[4], &ok);
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
      lastA > (double)heapBytes || lastB > (double)heapBytes || lastC > (double)heapBytes ||
      lastBias > (double)heapBytes || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX ||
      (offBias >= 0 && biasLen != 1 && biasLen != n && biasLen != m * n)) {
    napi_throw_range_error(env, NULL, "milkit_blas.matmul: shape or offset outside the heap");
    return NULL;
  }
  char *base = (char *)heap;
  const int M = (int)m, N = (int)n, K = (int)k;
  const int ta = transA != 0, tb = transB != 0;
  const int single = few_threads_begin(m * n * k);
  for (int64_t i = 0; i < (int64_t)batch; i++) {
    const float *A = (const float *)(base + (size_t)(offA + i * strideA));
    const float *B = (const float *)(base + (size_t)(offB + i * strideB));
    float *C = (float *)(base + (size_t)(offC + i * cBytes));
    const float *bias = offBias >= 0 ? (const float *)(base + (size_t)offBias) : NULL;
    product(A, B, C, M, N, K, ta, tb, bias, (size_t)biasLen);
    activate(C, (size_t)M * N, (int)act, (float)leak);
  }
  few_threads_end(single);
  return NULL;
}

/*
 * bf16Pack(heap, offB, k, n, transB) → ArrayBuffer: op(B) [k × n] packed for matmulBf16 (bf16.c),
 * once per weight. matmulBf16(heap, m, n, k, offA, packed, offC, offBias, biasLen, act, leak):
 * C = act(A·op(B) + bias) with A [m × k] and op(B) rounded to bfloat16, float32 sums; bias as in matmul.
 */
static napi_value bf16_pack(napi_env env, napi_callback_info info) {
  double a[5];
  Heap heap;
  if (!heap_args(env, info, "bf16Pack", 4, a, &heap)) return NULL;
  const double k = a[1], n = a[2];
  if (!(k >= 1 && n >= 1 && k <= INT32_MAX && n <= INT32_MAX)) return bad_shape(env, "bf16Pack");
  const float *B = heap_floats(&heap, a[0], k * n);
  if (!heap.ok) return NULL;
  const size_t words = bf16_packed_words((int)k, (int)n);
  void *data = NULL;
  napi_value out;
  CHECK(napi_create_arraybuffer(env, words * 4 + 64, &data, &out)); /* + 64: aligned start inside it */
  uint32_t *packed = (uint32_t *)(((uintptr_t)data + 63) & ~(uintptr_t)63);
  bf16_pack_b(B, (size_t)(a[3] ? k : n), a[3] != 0, (int)k, (int)n, packed);
  return out;
}

static napi_value matmul_bf16(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *heap = NULL, *data = NULL;
  size_t heapBytes = 0, packedBytes = 0;
  double a[11];
  int ok = argc == 11 && napi_get_arraybuffer_info(env, argv[0], &heap, &heapBytes) == napi_ok &&
           napi_get_arraybuffer_info(env, argv[5], &data, &packedBytes) == napi_ok;
  for (size_t i = 1; ok && i < 11; i++) ok = i == 5 || napi_get_value_double(env, argv[i], &a[i]) == napi_ok;
  if (!ok) {
    napi_throw_type_error(
        env, NULL, "milkit_blas.matmulBf16: expected (heap, m, n, k, offA, packed, offC, offBias, biasLen, act, leak)");
    return NULL;
  }
  const double m = a[1], n = a[2], k = a[3], offA = a[4], offC = a[6], offBias = a[7], biasLen = a[8];
  if (!(m >= 1 && n >= 1 && k >= 1 && m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX) || offA < 0 || offC < 0 ||
      offA + m * k * 4 > (double)heapBytes || offC + m * n * 4 > (double)heapBytes ||
      (offBias >= 0 &&
       (offBias + biasLen * 4 > (double)heapBytes || (biasLen != 1 && biasLen != n && biasLen != m * n))) ||
      (double)packedBytes < (double)bf16_packed_words((int)k, (int)n) * 4 + 64) {
    napi_throw_range_error(env, NULL, "milkit_blas.matmulBf16: shape or offset outside the heap or the packed weights");
    return NULL;
  }
  char *base = heap;
  const int M = (int)m, N = (int)n, K = (int)k;
  float *C = (float *)(base + (size_t)offC);
  float beta = 0.f;
  if (offBias >= 0) {
    const float *bias = (const float *)(base + (size_t)offBias);
    for (int r = 0; r < M; r++)
      for (int j = 0; j < N; j++)
        C[(size_t)r * N + j] = bias[biasLen == 1 ? 0 : biasLen == n ? (size_t)j : (size_t)r * N + j];
    beta = 1.f;
  }
  const GemmArgs g = {.M = M,
                      .N = N,
                      .K = K,
                      .A = (const float *)(base + (size_t)offA),
                      .lda = (size_t)K,
                      .ldc = (size_t)N,
                      .beta = beta,
                      .C = C};
  const int single = few_threads_begin(m * n * k / 2); /* half the work of a float32 product */
  const int done = gemm_bf16(&g, (const uint32_t *)(((uintptr_t)data + 63) & ~(uintptr_t)63), threads_now);
  few_threads_end(single);
  if (!done) {
    napi_throw_error(env, NULL, "milkit_blas.matmulBf16: this CPU has no AVX-512 BF16 (check bf16 in info())");
    return NULL;
  }
  activate(C, (size_t)M * N, (int)a[9], (float)a[10]);
  return NULL;
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
static char *heap_and_numbers(napi_env env, napi_callback_info info, const char *name, size_t n, double *a,
                              size_t *heapBytes) {
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

int heap_args(napi_env env, napi_callback_info info, const char *name, size_t n, double *a, Heap *heap) {
  heap->env = env;
  heap->bytes = 0;
  heap->base = heap_and_numbers(env, info, name, n, a, &heap->bytes);
  heap->ok = heap->base != NULL;
  return heap->ok;
}

float *heap_floats(Heap *heap, double off, double count) {
  if (!heap->ok) return NULL;
  if (!inside(heap->env, off, count * 4, heap->bytes)) {
    heap->ok = 0;
    return NULL;
  }
  return (float *)(heap->base + (size_t)off);
}

napi_value bad_shape(napi_env env, const char *name) {
  char msg[96];
  snprintf(msg, sizeof msg, "milkit_blas.%s: bad shape", name);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

int few_threads_begin(double work) {
  const int single = threads > 1 && work < small_work;
  if (single) {
    openblas_set_num_threads(1);
    threads_now = 1;
    small_products++;
  }
  return single;
}

void few_threads_end(int switched) {
  if (switched) {
    openblas_set_num_threads(threads);
    threads_now = threads;
  }
}

static const char *gemm_name(void) { return use_own_gemm() ? "milkit AVX-512 14x32" : "OpenBLAS"; }

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
  napi_value gemm;
  CHECK(napi_create_string_utf8(env, gemm_name(), NAPI_AUTO_LENGTH, &gemm));
  CHECK(napi_set_named_property(env, out, "gemm", gemm));
  napi_value lanes;
  CHECK(napi_create_int32(env, peak_lanes(), &lanes));
  CHECK(napi_set_named_property(env, out, "fmaLanes", lanes));
  napi_value bf16, bf16k;
  CHECK(napi_get_boolean(env, bf16_supported(), &bf16));
  CHECK(napi_set_named_property(env, out, "bf16", bf16));
  CHECK(napi_create_string_utf8(env, bf16_kernel(), NAPI_AUTO_LENGTH, &bf16k));
  CHECK(napi_set_named_property(env, out, "bf16Kernel", bf16k));
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
  threads = threads_now = n;
  small_work = work;
  openblas_set_num_threads(n);
  return NULL;
}

/* setBf16Kernel("amx" | "avx512") → whether that kernel now runs the bf16 products (bf16.c). */
static napi_value set_bf16_kernel(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1], result;
  char name[16] = "";
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, NULL) != napi_ok ||
      (strcmp(name, "amx") != 0 && strcmp(name, "avx512") != 0)) {
    napi_throw_type_error(env, NULL, "milkit_blas.setBf16Kernel: expected \"amx\" or \"avx512\"");
    return NULL;
  }
  CHECK(napi_get_boolean(env, bf16_choose(strcmp(name, "amx") == 0), &result));
  return result;
}

/* setGemm("milkit" | "openblas") → whether that kernel now runs the general products. */
static napi_value set_gemm(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1], result;
  char name[16] = "";
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, NULL) != napi_ok ||
      (strcmp(name, "milkit") != 0 && strcmp(name, "openblas") != 0)) {
    napi_throw_type_error(env, NULL, "milkit_blas.setGemm: expected \"milkit\" or \"openblas\"");
    return NULL;
  }
  own_gemm = strcmp(name, "milkit") == 0 ? gemm_avx512_supported() : 0;
  CHECK(napi_get_boolean(env, own_gemm == (strcmp(name, "milkit") == 0), &result));
  return result;
}

/*
 * selfTest() → largest error of the active sgemm over products that exercise every transpose case,
 * edge tiles and more than one K slab, relative to max |C| of a double-precision triple loop.
 * Why: OpenBLAS builds pick their kernels from the CPU model (or OPENBLAS_CORETYPE), and some
 * pairings compute wrong results; milkit trusts a kernel only after it got these right.
 */
static napi_value self_test(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  static const int shapes[][3] = {{37, 53, 29}, {130, 70, 300}, {64, 512, 1024}, {9, 33, 4500}};
  double worst = 0;
  uint32_t state = 12345;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int t = 0; t < 4; t++) {
      const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = t & 1, tb = t >> 1;
      float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
      float *C = malloc((size_t)M * N * sizeof(float)), *R = malloc((size_t)M * N * sizeof(float));
      if (!A || !B || !C || !R) {
        free(A), free(B), free(C), free(R);
        napi_throw_error(env, NULL, "milkit_blas.selfTest: out of memory");
        return NULL;
      }
      for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = (float)((state = state * 1664525u + 1013904223u) >> 8) / 16777216.f - .5f;
      for (size_t i = 0; i < (size_t)K * N; i++)
        B[i] = (float)((state = state * 1664525u + 1013904223u) >> 8) / 16777216.f - .5f;
      product(A, B, C, M, N, K, ta, tb, NULL, 0);
      const GemmArgs g = {.ta = ta,
                          .tb = tb,
                          .M = M,
                          .N = N,
                          .K = K,
                          .A = A,
                          .B = B,
                          .lda = (size_t)(ta ? M : K),
                          .ldb = (size_t)(tb ? K : N),
                          .ldc = (size_t)N,
                          .beta = 0.f,
                          .C = R};
      gemm_reference(&g);
      double diff = 0, scale = 0;
      for (size_t i = 0; i < (size_t)M * N; i++) {
        const double d = fabs((double)C[i] - R[i]);
        diff = d > diff || d != d ? d : diff; /* NaN counts as the worst */
        scale = fabs(R[i]) > scale ? fabs(R[i]) : scale;
      }
      const double rel = diff / (scale > 0 ? scale : 1);
      worst = rel > worst || rel != rel ? rel : worst;
      free(A), free(B), free(C), free(R);
    }
  napi_value out;
  CHECK(napi_create_double(env, worst, &out));
  return out;
}

/*
 * bf16SelfTest() → largest error of the (split) bf16 product against a double-precision product,
 * relative to max |C| (~1e-6 when correct, like float32; a single bfloat16 product would be ~1e-3),
 * over edge tiles, odd K, more than one K block and a bias; -1 on CPUs without AVX-512 BF16.
 */
static napi_value bf16_self_test(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  static const int shapes[][4] = {{37, 53, 29, 0}, {130, 70, 301, 1}, {200, 512, 1024, 0}, {9, 33, 600, 1}};
  double worst = bf16_supported() ? 0 : -1;
  uint32_t state = 54321;
  for (size_t s = 0; worst >= 0 && s < sizeof shapes / sizeof shapes[0]; s++) {
    const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], tb = shapes[s][3];
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)M * N * sizeof(float)), *R = malloc((size_t)M * N * sizeof(float));
    uint32_t *P = aligned_alloc(64, (bf16_packed_words(K, N) * 4 + 63) / 64 * 64);
    if (!A || !B || !C || !R || !P) {
      free(A), free(B), free(C), free(R), free(P);
      napi_throw_error(env, NULL, "milkit_blas.bf16SelfTest: out of memory");
      return NULL;
    }
    for (size_t i = 0; i < (size_t)M * K; i++)
      A[i] = (float)((state = state * 1664525u + 1013904223u) >> 8) / 16777216.f - .5f;
    for (size_t i = 0; i < (size_t)K * N; i++)
      B[i] = (float)((state = state * 1664525u + 1013904223u) >> 8) / 16777216.f - .5f;
    for (size_t i = 0; i < (size_t)M * N; i++) C[i] = R[i] = (float)(i % 7) - 3.f; /* beta = 1 */
    bf16_pack_b(B, (size_t)(tb ? K : N), tb, K, N, P);
    const GemmArgs g = {.M = M, .N = N, .K = K, .A = A, .lda = (size_t)K, .ldc = (size_t)N, .beta = 1.f, .C = C};
    gemm_bf16(&g, P, threads_now);
    const GemmArgs r = {.tb = tb,
                        .M = M,
                        .N = N,
                        .K = K,
                        .A = A,
                        .B = B,
                        .lda = (size_t)K,
                        .ldb = (size_t)(tb ? K : N),
                        .ldc = (size_t)N,
                        .beta = 1.f,
                        .C = R};
    gemm_reference(&r);
    double diff = 0, scale = 0;
    for (size_t i = 0; i < (size_t)M * N; i++) {
      const double d = fabs((double)C[i] - R[i]);
      diff = d > diff || d != d ? d : diff;
      scale = fabs(R[i]) > scale ? fabs(R[i]) : scale;
    }
    const double rel = diff / (scale > 0 ? scale : 1);
    worst = rel > worst || rel != rel ? rel : worst;
    free(A), free(B), free(C), free(R), free(P);
  }
  napi_value out;
  CHECK(napi_create_double(env, worst, &out));
  return out;
}

/* The arguments (threads >= 1, iterations >= 1) of a peak probe, or 0 after throwing a TypeError. */
static int peak_args(napi_env env, napi_callback_info cbinfo, const char *usage, int32_t *n, int64_t *iters) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], n) != napi_ok || napi_get_value_int64(env, argv[1], iters) != napi_ok ||
      *n < 1 || *iters < 1) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* bf16Peak(threads, iters) → GFLOP/s of one burst of the vdpbf16ps probe (peak.c); 0 without AVX-512 BF16. */
static napi_value bf16_peak_js(napi_env env, napi_callback_info cbinfo) {
  int32_t n = 0;
  int64_t iters = 0;
  napi_value out;
  if (!peak_args(env, cbinfo, "milkit_blas.bf16Peak: expected (threads >= 1, iterations >= 1)", &n, &iters))
    return NULL;
  CHECK(napi_create_double(env, bf16_peak(n, (long)iters), &out));
  return out;
}

/* fmaPeak(threads, iters) → GFLOP/s of one burst of the FMA probe (peak.c). */
static napi_value fma_peak_js(napi_env env, napi_callback_info cbinfo) {
  int32_t n = 0;
  int64_t iters = 0;
  napi_value out;
  if (!peak_args(env, cbinfo, "milkit_blas.fmaPeak: expected (threads >= 1, iterations >= 1)", &n, &iters)) return NULL;
  CHECK(napi_create_double(env, fma_peak(n, (long)iters), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setGemm", NULL, set_gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"selfTest", NULL, self_test, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fmaPeak", NULL, fma_peak_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bf16Pack", NULL, bf16_pack, NULL, NULL, NULL, napi_enumerable, NULL},
      {"matmulBf16", NULL, matmul_bf16, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bf16SelfTest", NULL, bf16_self_test, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bf16Peak", NULL, bf16_peak_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setBf16Kernel", NULL, set_bf16_kernel, NULL, NULL, NULL, napi_enumerable, NULL},
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
