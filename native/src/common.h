/* Shared by the milkit_blas sources (see blas.c for the entry points and why they exist). */
#ifndef MILKIT_COMMON_H
#define MILKIT_COMMON_H
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

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "milkit_blas: N-API call failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

/*
 * Arguments of an entry point (blas.c): `heap_args` reads (heap, n numbers) into `a`; `heap_floats`
 * hands out `count` floats at byte offset `off`, checked to lie inside the heap. The first failure
 * throws a JS error and clears `ok`, later calls return NULL: check `ok` once after taking them all.
 */
typedef struct {
  napi_env env;
  char *base;
  size_t bytes;
  int ok;
} Heap;
int heap_args(napi_env env, napi_callback_info info, const char *name, size_t n, double *a, Heap *heap);
float *heap_floats(Heap *heap, double off, double count);
/* Throws "milkit_blas.<name>: bad shape"; returns NULL for `return bad_shape(...)`. */
napi_value bad_shape(napi_env env, const char *name);
/* Products of fewer than `work` multiply-adds run on one OpenBLAS thread (blas.c): begin returns whether it switched.
 */
int few_threads_begin(double work);
void few_threads_end(int switched);

/* Vector helpers (elementwise.c). */
void add_row(float *restrict acc, const float *restrict row, size_t cols);
void scaled(float *y, const float *x, float a, size_t n);

/* exp by range reduction + Cephes polynomial (~1 ulp), branch-free so loops using it vectorise. */
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
  union {
    int32_t i;
    float f;
  } scale = {(n + 127) << 23};
  return p * scale.f;
}

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

/* Entry points (one file each family). */
napi_value activation(napi_env env, napi_callback_info info);
napi_value activation_grad(napi_env env, napi_callback_info info);
napi_value dropout(napi_env env, napi_callback_info info);
napi_value adam(napi_env env, napi_callback_info info);
napi_value depthwise(napi_env env, napi_callback_info info);
napi_value pinv(napi_env env, napi_callback_info info);
napi_value softmax(napi_env env, napi_callback_info info);
napi_value softmaxGrad(napi_env env, napi_callback_info info);
napi_value segmentMeans(napi_env env, napi_callback_info info);
napi_value layerNorm(napi_env env, napi_callback_info info);
napi_value layerNormGrad(napi_env env, napi_callback_info info);

#endif
