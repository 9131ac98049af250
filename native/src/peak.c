/*
 * peak.c: the FMA peak of this CPU, measured (a probe), so the benchmark can report matrix products
 * as a fraction of what the hardware does right now (turbo, AVX-512 clock offsets and other
 * processes on a shared machine all move it; a datasheet number would not).
 *
 * Each thread runs `iters` rounds of 16 independent multiply-adds on the widest vectors the CPU
 * has (AVX-512, else AVX2+FMA, else SSE multiply + add): 16 chains hide the 4-cycle FMA latency
 * on two FMA ports. Returns GFLOP/s over the wall time of the whole burst.
 */
#define _POSIX_C_SOURCE 200809L
#include "peak.h"
#include "gemm.h"
#include <pthread.h>
#include <string.h>
#include <time.h>

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CHAINS(type, set1, fma, reduce_width)                                         \
  type acc[16];                                                                       \
  const type x = set1(1.0000001f), y = set1(0.9999999f);                              \
  for (int i = 0; i < 16; i++) acc[i] = set1((float)i);                               \
  for (long it = 0; it < iters; it++) {                                               \
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) acc[i] = fma(acc[i], x, y); \
  }                                                                                   \
  float sum = 0;                                                                      \
  for (int i = 0; i < 16; i++) {                                                      \
    float lanes[reduce_width];                                                        \
    memcpy(lanes, &acc[i], sizeof lanes);                                             \
    sum += lanes[0];                                                                  \
  }                                                                                   \
  return sum;

__attribute__((target("avx512f"))) static float chains512(long iters) {
  CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}
__attribute__((target("avx2,fma"))) static float chains256(long iters) {
  CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}
static inline __m128 mul_add(__m128 a, __m128 b, __m128 c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
static float chains128(long iters) { CHAINS(__m128, _mm_set1_ps, mul_add, 4) }

int peak_lanes(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
  return 4;
}

/* vdpbf16ps: 32 bfloat16 multiply-adds into 16 float32 lanes per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static float chains_bf16(long iters) {
  __m512 acc[16];
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.f), _mm512_set1_ps(1.f));
  const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++) {
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  }
  float sum = 0;
  for (int i = 0; i < 16; i++) {
    float lanes[16];
    memcpy(lanes, &acc[i], sizeof lanes);
    sum += lanes[0];
  }
  return sum;
}

static float chains(long iters) {
  switch (peak_lanes()) {
    case 16:
      return chains512(iters);
    case 8:
      return chains256(iters);
    default:
      return chains128(iters);
  }
}
#else
int peak_lanes(void) { return 1; }
static float chains_bf16(long iters) {
  (void)iters;
  return 0.f;
}
static float chains(long iters) {
  float acc[16];
  for (int i = 0; i < 16; i++) acc[i] = (float)i;
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < 16; i++) acc[i] = acc[i] * 1.0000001f + 0.9999999f;
  return acc[0];
}
#endif

static volatile float sink; /* keeps the chains from being optimised away */

typedef struct {
  long iters;
  float (*chains)(long);
} Burst;

static void *run(void *arg) {
  const Burst *b = arg;
  sink = b->chains(b->iters);
  return NULL;
}

/* GFLOP/s of `threads` threads each running `chains(iters)`, `flops_per_round` flops per round and thread. */
static double burst(int threads, long iters, float (*chains_fn)(long), double flops_per_round) {
  Burst b = {iters, chains_fn};
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  pthread_t t[64];
  int started = 0;
  const double t0 = seconds();
  for (; started < threads - 1; started++)
    if (pthread_create(&t[started], NULL, run, &b) != 0) break;
  run(&b);
  for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
  const double elapsed = seconds() - t0;
  return (double)(started + 1) * (double)iters * flops_per_round / elapsed / 1e9;
}

double fma_peak(int threads, long iters) {
  /* A multiply-add is 2 flops per lane; SSE's separate multiply and add count the same. */
  return burst(threads, iters, chains, 16.0 * peak_lanes() * 2.0);
}

double bf16_peak(int threads, long iters) {
  if (!bf16_supported()) return 0.0;
  /* The kernel bf16 products run on: AMX (4 tile products of 16 × 16 × 32 a round), or vdpbf16ps
   * (16 chains × 16 lanes × 2 products per lane); 2 flops per multiply-add. */
  if (strcmp(bf16_kernel(), "AMX") == 0) return burst(threads, iters, bf16_amx_chains, 4.0 * 16 * 16 * 32 * 2);
  return burst(threads, iters, chains_bf16, 16.0 * 16 * 2 * 2);
}
