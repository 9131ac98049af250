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
 * info() → { threads, core, config }; setThreads(n).
 */
#include <math.h>
#include <stdint.h>
#include <cblas.h>
#include <node_api.h>

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
  for (int64_t i = 0; i < (int64_t)batch; i++) {
    const float *A = (const float *)(base + (size_t)(offA + i * strideA));
    const float *B = (const float *)(base + (size_t)(offB + i * strideB));
    float *C = (float *)(base + (size_t)(offC + i * cBytes));
    float beta = 0.f;
    if (offBias >= 0) {
      // Bias first, then sgemm accumulates onto it (beta = 1): one pass over C instead of two.
      const float *bias = (const float *)(base + (size_t)offBias);
      for (int r = 0; r < M; r++) {
        float *row = C + (size_t)r * N;
        if (biasLen == 1) for (int j = 0; j < N; j++) row[j] = bias[0];
        else if (biasLen == n) for (int j = 0; j < N; j++) row[j] = bias[j];
        else for (int j = 0; j < N; j++) row[j] = bias[(size_t)r * N + j];
      }
      beta = 1.f;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A,
                ta ? M : K, B, tb ? K : N, beta, C, N);
    activate(C, (size_t)M * N, (int)act, (float)leak);
  }
  return NULL;
}

static napi_value info(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value out, threads, core, config;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_set_named_property(env, out, "threads", threads));
  CHECK(napi_set_named_property(env, out, "core", core));
  CHECK(napi_set_named_property(env, out, "config", config));
  return out;
}

static napi_value set_threads(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "milkit_blas.setThreads: expected a positive integer");
    return NULL;
  }
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
