/* milkit's packed AVX-512 sgemm (gemm.c): C = op(A)·op(B) + beta·C, row-major, beta 0 or 1. */
#ifndef MILKIT_GEMM_H
#define MILKIT_GEMM_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
  int ta, tb, M, N, K;
  const float *A, *B;
  size_t lda, ldb, ldc;
  float beta;
  float *C;
} GemmArgs;

/* 1 when this CPU runs the AVX-512 kernel (checked once with cpuid). */
int gemm_avx512_supported(void);
/* Runs the product on up to `threads` threads; returns 0 (C untouched) when the CPU lacks AVX-512 or memory is short. */
int gemm_avx512(const GemmArgs *g, int threads);
/* The plain triple loop with double accumulation, for tests. */
void gemm_reference(const GemmArgs *g);
#endif
