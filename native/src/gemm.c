/*
 * gemm.c: milkit's own single-precision matrix product for AVX-512 CPUs, packed in the GotoBLAS
 * way (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", TOMS 2008).
 *
 * Why: on the AVX-512 Xeons milkit runs on, OpenBLAS 0.3.21's SkylakeX/Cooperlake sgemm and
 * Debian's BLIS 0.9 (built without an AVX-512 kernel: it runs its Haswell one) stay well below the
 * FMA peak on the [8000 × 1024]·[1024 × 512] projection and its gradient products; this kernel is
 * as fast or faster on each of them (README, "Performance"). Other CPUs (AVX2 and older) keep
 * OpenBLAS, whose Haswell kernels are near their peak there (blas.c chooses at run time).
 *
 * C = op(A)·op(B) + beta·C (beta 0 or 1), row-major as tfjs stores tensors, op = transpose or not.
 *
 * Layout: op(B) is packed once per K-slab into NR-column panels ([kc block][panel][k][NR], zero
 * padded), shared by the threads; each thread claims MC-row chunks of C and packs its rows of op(A)
 * per kc block into MR-row micro-panels ([panel][k][MR]). The micro-kernel keeps a 14 × 32 tile of
 * C in 28 zmm registers and feeds each pair of FMAs with one broadcast of A; the B micro-panel
 * (kc × 32) stays in L1 across the chunk's micro-panels. 14 rows beat 12 (the 12 × 32 tile of the
 * first version) by ~5 % in the kernel alone: fewer loads per FMA. Work is claimed dynamically so a
 * thread that the OS deschedules (the machines are shared) does not hold the others up.
 *
 * gemm_reference is the plain triple loop (double accumulation) that the tests compare against.
 */
#define _POSIX_C_SOURCE 200809L
#include "gemm.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>

#define MR    14
#define NR    32
#define KC    256
#define MC    112
#define KSLAB 2048

static inline float at_a(const GemmArgs *g, size_t i, size_t k) {
  return g->ta ? g->A[k * g->lda + i] : g->A[i * g->lda + k];
}
static inline float at_b(const GemmArgs *g, size_t k, size_t j) {
  return g->tb ? g->B[j * g->ldb + k] : g->B[k * g->ldb + j];
}

void gemm_reference(const GemmArgs *g) {
  for (size_t i = 0; i < (size_t)g->M; i++)
    for (size_t j = 0; j < (size_t)g->N; j++) {
      double acc = 0;
      for (size_t k = 0; k < (size_t)g->K; k++) acc += (double)at_a(g, i, k) * at_b(g, k, j);
      float *c = g->C + i * g->ldc + j;
      *c = (float)(acc + (g->beta != 0.f ? (double)*c : 0.0));
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))

/*
 * Packing moves every element of A and B once per product, so it is vectorised: a plain copy loop
 * cost ~15 % of the projection's time. `transpose16` loads `rows` (≤ 16) rows of `cols` (≤ 16)
 * floats, row q at src + q·ld, and stores column c as 16 lanes at dst + c·dst_ld under `lanes`
 * (rows ≥ `rows` read as 0). The shuffle network is the usual 4-stage 16 × 16 transpose.
 */
AVX512 static void transpose16(const float *src, size_t ld, size_t rows, size_t cols, float *dst, size_t dst_ld,
                               __mmask16 lanes) {
  const __mmask16 m = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int q = 0; q < 16; q++) r[q] = (size_t)q < rows ? _mm512_maskz_loadu_ps(m, src + q * ld) : _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int q = 0; q < 16; q += 2) {
    t[q] = _mm512_unpacklo_ps(r[q], r[q + 1]);
    t[q + 1] = _mm512_unpackhi_ps(r[q], r[q + 1]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < 16; q += 4) {
    r[q] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[q]), _mm512_castps_pd(t[q + 2])));
    r[q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[q]), _mm512_castps_pd(t[q + 2])));
    r[q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[q + 1]), _mm512_castps_pd(t[q + 3])));
    r[q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[q + 1]), _mm512_castps_pd(t[q + 3])));
  }
  /* r[4g + e] now holds, in 128-bit lane j, column 4j + e of rows 4g … 4g+3. */
#pragma GCC unroll 4
  for (int e = 0; e < 4; e++) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0x88), v1 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0xdd);
    const __m512 w0 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0x88),
                 w1 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0xdd);
    const __m512 col[4] = {_mm512_shuffle_f32x4(v0, w0, 0x88), _mm512_shuffle_f32x4(v1, w1, 0x88),
                           _mm512_shuffle_f32x4(v0, w0, 0xdd), _mm512_shuffle_f32x4(v1, w1, 0xdd)};
#pragma GCC unroll 4
    for (int h = 0; h < 4; h++) /* col[h] is column 4h + e */
      if ((size_t)(4 * h + e) < cols) _mm512_mask_storeu_ps(dst + (4 * h + e) * dst_ld, lanes, col[h]);
  }
}

/* Rows i0 … i0+rows of op(A), columns k0 … k0+kc, as MR-row micro-panels [k][MR] (zero padded). */
AVX512 static void pack_a(const GemmArgs *g, size_t i0, size_t rows, size_t k0, size_t kc, float *restrict out) {
  const __mmask16 all = (__mmask16)((1u << MR) - 1);
  if (g->ta) {
    /* op(A)[i][k] = A[k][i]: each k reads one contiguous run of `rows` floats, a page apart from the
     * next k, so rows are walked once each and fetched ahead (the hardware prefetcher stops at pages). */
    for (size_t k = 0; k < kc; k++) {
      const float *src = g->A + (k0 + k) * g->lda + i0;
      if (k + 16 < kc)
        for (size_t x = 0; x < rows; x += 16) _mm_prefetch((const char *)(src + 16 * g->lda + x), _MM_HINT_T0);
      for (size_t p = 0; p < rows; p += MR) {
        const size_t r = rows - p < MR ? rows - p : MR;
        _mm512_mask_storeu_ps(out + p * kc + k * MR, all, _mm512_maskz_loadu_ps((__mmask16)((1u << r) - 1), src + p));
      }
    }
    return;
  }
  for (size_t p = 0; p < rows; p += MR) {
    const size_t r = rows - p < MR ? rows - p : MR;
    for (size_t k = 0; k < kc; k += 16)
      transpose16(g->A + (i0 + p) * g->lda + k0 + k, g->lda, r, kc - k < 16 ? kc - k : 16, out + p * kc + k * MR, MR,
                  all);
  }
}

/* NR-column panel `j0` of op(B), rows k0 … k0+kc, as [k][NR] (zero padded). */
AVX512 static void pack_b(const GemmArgs *g, size_t j0, size_t k0, size_t kc, float *restrict out) {
  const size_t cols = (size_t)g->N - j0 < NR ? (size_t)g->N - j0 : NR;
  if (!g->tb) {
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    for (size_t k = 0; k < kc; k++) {
      const float *src = g->B + (k0 + k) * g->ldb + j0;
      _mm512_store_ps(out + k * NR, _mm512_maskz_loadu_ps(m0, src));
      _mm512_store_ps(out + k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
  } else {
    /* op(B)[k][j] = B[j][k]: 16 × 16 blocks of B transposed into the panel. */
    for (size_t h = 0; h < NR; h += 16) {
      const size_t r = cols > h ? (cols - h < 16 ? cols - h : 16) : 0;
      for (size_t k = 0; k < kc; k += 16)
        transpose16(g->B + (j0 + h) * g->ldb + k0 + k, g->ldb, r, kc - k < 16 ? kc - k : 16, out + k * NR + h, NR,
                    0xffff);
    }
  }
}

/*
 * The micro-kernel: the MR × NR tile at C (row stride ldc) = a·b (+ C when `add`), for `rows` ≤ MR
 * rows and `cols` ≤ NR columns. a: [kc][MR], b: [kc][NR], both packed.
 */
AVX512 static void kernel(size_t kc, const float *restrict a, const float *restrict b, float *restrict C, size_t ldc,
                          size_t rows, size_t cols, int add) {
  __m512 c[MR][2];
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b + k * NR), b1 = _mm512_load_ps(b + k * NR + 16);
    _mm_prefetch((const char *)(a + k * MR + 8 * MR), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      const __m512 x = _mm512_set1_ps(a[k * MR + r]);
      c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) {
    if ((size_t)r >= rows) break;
    float *row = C + r * ldc;
    if (add) {
      c[r][0] = _mm512_add_ps(c[r][0], _mm512_maskz_loadu_ps(m0, row));
      c[r][1] = _mm512_add_ps(c[r][1], _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, c[r][0]);
    _mm512_mask_storeu_ps(row + 16, m1, c[r][1]);
  }
}

/* ---- threads: a small pool that sleeps between products (no spinning on a shared machine) ---- */

typedef struct {
  const GemmArgs *g;
  size_t k0, kslab, panels, chunks;
  float *bpack;          /* [kc block][panel][KC][NR] */
  const uint32_t *bf16b; /* set: op(B) already packed for the bf16 kernel (bf16.c), no slabs */
  atomic_size_t next_panel, packed, next_chunk, done_chunks, left;
  size_t joined; /* workers that took this job (under pool_lock) */
  int first_slab;
} Job;

AVX512 static void pack_panels(Job *job) {
  const GemmArgs *g = job->g;
  size_t p;
  while ((p = atomic_fetch_add(&job->next_panel, 1)) < job->panels) {
    for (size_t kb = 0; kb < job->kslab; kb += KC) {
      const size_t kc = job->kslab - kb < KC ? job->kslab - kb : KC;
      float *dst = job->bpack + (kb / KC) * job->panels * KC * NR + p * kc * NR;
      pack_b(g, p * NR, job->k0 + kb, kc, dst);
    }
    atomic_fetch_add(&job->packed, 1);
  }
}

AVX512 static void compute_chunks(Job *job, float *apack) {
  const GemmArgs *g = job->g;
  size_t ch;
  while ((ch = atomic_fetch_add(&job->next_chunk, 1)) < job->chunks) {
    const size_t i0 = ch * MC, rows = (size_t)g->M - i0 < MC ? (size_t)g->M - i0 : MC;
    if (job->bf16b) {
      bf16_rows(g, job->bf16b, i0, rows, apack);
      atomic_fetch_add(&job->done_chunks, 1);
      continue;
    }
    for (size_t kb = 0; kb < job->kslab; kb += KC) {
      const size_t kc = job->kslab - kb < KC ? job->kslab - kb : KC;
      const int add = !(job->first_slab && kb == 0) || g->beta != 0.f;
      pack_a(g, i0, rows, job->k0 + kb, kc, apack);
      const float *bblock = job->bpack + (kb / KC) * job->panels * KC * NR;
      for (size_t p = 0; p < job->panels; p++) {
        const size_t j0 = p * NR, cols = (size_t)g->N - j0 < NR ? (size_t)g->N - j0 : NR;
        for (size_t q = 0; q < rows; q += MR)
          kernel(kc, apack + q * kc, bblock + p * kc * NR, g->C + (i0 + q) * g->ldc + j0, g->ldc,
                 rows - q < MR ? rows - q : MR, cols, add);
      }
    }
    atomic_fetch_add(&job->done_chunks, 1);
  }
}

static void wait_for(atomic_size_t *counter, size_t target) {
  for (int spin = 0; atomic_load(counter) < target; spin++) {
    if (spin < 64) _mm_pause();
    else sched_yield();
  }
}

static void run_job(Job *job, float *apack) {
  pack_panels(job);
  wait_for(&job->packed, job->panels);
  compute_chunks(job, apack);
}

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static Job *pool_job;
static unsigned long pool_generation;
static int pool_size; /* worker threads started (the caller is one more) */
static int pool_wanted;

static void *worker(void *arg) {
  const int id = (int)(intptr_t)arg;
  float *apack = aligned_alloc(64, (size_t)MC * KC * sizeof(float));
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&pool_lock);
    while (pool_generation == seen) pthread_cond_wait(&pool_wake, &pool_lock);
    seen = pool_generation;
    Job *job = id < pool_wanted && apack ? pool_job : NULL;
    if (job) job->joined++;
    pthread_mutex_unlock(&pool_lock);
    if (job) {
      run_job(job, apack);
      atomic_fetch_add(&job->left, 1);
    }
  }
  return NULL;
}

static void ensure_pool(int workers) {
  while (pool_size < workers) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, (void *)(intptr_t)pool_size) != 0) break;
    pool_size++;
  }
}

int gemm_avx512_supported(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx512f") ? 1 : 0;
  }
  return known;
}

/* Runs `job` on the caller and `helpers` pool threads and returns when every chunk is done. */
static void run_on_pool(Job *job, int helpers, float *apack) {
  atomic_init(&job->next_panel, job->bf16b ? job->panels : 0);
  atomic_init(&job->packed, job->bf16b ? job->panels : 0);
  atomic_init(&job->next_chunk, 0);
  atomic_init(&job->done_chunks, 0);
  atomic_init(&job->left, 0);
  if (helpers > 0) {
    pthread_mutex_lock(&pool_lock);
    pool_job = job;
    pool_wanted = helpers;
    pool_generation++;
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
  }
  run_job(job, apack);
  /* The chunks' C rows are written by whoever claimed them: wait for all before returning.
   * A worker that wakes late finds no job; one that took it is waited for (`job` is on the caller's stack). */
  wait_for(&job->done_chunks, job->chunks);
  size_t joined = 0;
  if (helpers > 0) {
    pthread_mutex_lock(&pool_lock);
    pool_job = NULL;
    joined = job->joined;
    pthread_mutex_unlock(&pool_lock);
  }
  wait_for(&job->left, joined);
}

static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER; /* one product at a time uses the pool */

/* Helper threads for a product of `chunks` row chunks (pool started on demand); call under `serial`. */
static int helpers_for(size_t chunks, int threads) {
  int helpers = threads - 1;
  if ((size_t)helpers > chunks - 1) helpers = (int)chunks - 1;
  if (helpers > 0) ensure_pool(helpers);
  return helpers > pool_size ? pool_size : helpers;
}

int gemm_avx512(const GemmArgs *g, int threads) {
  if (!gemm_avx512_supported()) return 0;
  const size_t panels = ((size_t)g->N + NR - 1) / NR;
  const size_t kslab = (size_t)g->K < 2 * KSLAB ? (size_t)g->K : KSLAB;
  float *bpack = aligned_alloc(64, ((kslab + KC - 1) / KC) * panels * KC * NR * sizeof(float));
  float *apack = aligned_alloc(64, (size_t)MC * KC * sizeof(float));
  if (!bpack || !apack) {
    free(bpack);
    free(apack);
    return 0;
  }
  const size_t chunks = ((size_t)g->M + MC - 1) / MC;
  pthread_mutex_lock(&serial);
  const int helpers = helpers_for(chunks, threads);
  for (size_t k0 = 0; k0 < (size_t)g->K; k0 += kslab) {
    Job job = {.g = g,
               .k0 = k0,
               .kslab = (size_t)g->K - k0 < kslab ? (size_t)g->K - k0 : kslab,
               .panels = panels,
               .chunks = chunks,
               .bpack = bpack,
               .first_slab = k0 == 0};
    run_on_pool(&job, helpers, apack);
  }
  pthread_mutex_unlock(&serial);
  free(bpack);
  free(apack);
  return 1;
}

int gemm_bf16(const GemmArgs *g, const uint32_t *bpacked, int threads) {
  if (!bf16_supported() || g->ta) return 0;
  (void)bf16_kernel(); /* chooses AMX or vdpbf16ps here, before the pool threads run bf16_rows */
  float *apack = aligned_alloc(64, (size_t)MC * KC * sizeof(float)); /* ≥ MC rows × KC/2 words: bf16_rows' scratch */
  if (!apack) return 0;
  const size_t chunks = ((size_t)g->M + MC - 1) / MC;
  pthread_mutex_lock(&serial);
  Job job = {.g = g,
             .kslab = (size_t)g->K,
             .panels = ((size_t)g->N + NR - 1) / NR,
             .chunks = chunks,
             .bf16b = bpacked,
             .first_slab = 1};
  run_on_pool(&job, helpers_for(chunks, threads), apack);
  pthread_mutex_unlock(&serial);
  free(apack);
  return 1;
}
#else
int gemm_avx512_supported(void) { return 0; }
int gemm_avx512(const GemmArgs *g, int threads) {
  (void)g;
  (void)threads;
  return 0;
}
int gemm_bf16(const GemmArgs *g, const uint32_t *bpacked, int threads) {
  (void)g;
  (void)bpacked;
  (void)threads;
  return 0;
}
#endif
