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
/* Runs the product on up to `threads` threads; returns 0 (C untouched) when the CPU lacks AVX-512 or memory is short.
 */
int gemm_avx512(const GemmArgs *g, int threads);
/* The plain triple loop with double accumulation, for tests. */
void gemm_reference(const GemmArgs *g);

/*
 * The opt-in bf16 product (bf16.c): C = A·op(B) + beta·C from bfloat16 products with float32 sums,
 * each operand split into a high and a low bfloat16 part (three products: float32-level results).
 * op(B) is packed once (bf16_pack_b) and reused.
 */
/* 1 when this CPU has AVX-512 BF16 (cpuid leaf 7.1, EAX bit 5) and the OS saves AVX-512 state. */
int bf16_supported(void);
/* Words (uint32, two bf16 each) that bf16_pack_b writes for op(B) [K × N]. */
size_t bf16_packed_words(int K, int N);
/* Packs op(B) (B [K × N] row-major, or [N × K] when tb) for gemm_bf16. */
void bf16_pack_b(const float *B, size_t ldb, int tb, int K, int N, uint32_t *out);
/* Runs the product on up to `threads` threads (A not transposed); 0 (C untouched) when unsupported. */
int gemm_bf16(const GemmArgs *g, const uint32_t *bpacked, int threads);
/* Rows i0 … i0+rows (≤ 112) of C over all of K and N, `scratch` ≥ 2 × 112 × 128 words (gemm.c's chunks). */
void bf16_rows(const GemmArgs *g, const uint32_t *bpacked, size_t i0, size_t rows, void *scratch);
/* The kernel bf16 products run on: "AMX", "AVX512-BF16", or "" (none). */
const char *bf16_kernel(void);
/* The AMX peak probe's loop: `iters` rounds of 4 independent tile products (65,536 flops each round). */
float bf16_amx_chains(long iters);
/* Chooses AMX tiles (1) or vdpbf16ps (0); 0 when that kernel cannot run here. */
int bf16_choose(int amx);

#endif
