/*
 * bf16.c: the opt-in bfloat16 inference product for CPUs with AVX-512 BF16.
 *
 * Why: the projection [N × D]·[D × E] dominates attention-MIL inference, and bfloat16 products with
 * float32 sums are what the matrix units of recent Xeons (AMX) run fastest. One bfloat16 keeps 8 bits
 * of mantissa, which moved AB-MIL's probabilities on MUSK1 and colon by up to 1e-3; so each operand is
 * split into a high part h = bf16(x) and a low part l = bf16(x − h), and a·b is summed as
 * h_a·h_b + l_a·h_b + h_a·l_b (the dropped l_a·l_b is ~2^-16 of |a|·|b|, below float32's own sum
 * errors over long K): float32-level results from three bfloat16 products (the "bf16x3" scheme).
 * Training never uses it.
 *
 * Two kernels, chosen at run time: AMX tiles (tdpbf16ps, 16 × 16 × 32 multiply-adds per instruction)
 * where the CPU has AMX-BF16 and Linux grants the tile state (arch_prctl), else AVX-512 BF16's
 * vdpbf16ps (32 multiply-adds per instruction). Measured on the project's Xeon (AVX-512 BF16 and
 * AMX): vdpbf16ps issues one per 2 cycles where float32 FMAs issue two per cycle, i.e. half the
 * multiply-adds per cycle of float32, so without AMX the bf16 path is slower there than float32
 * (npm run bench prints both; float32 stays the default).
 *
 * C = A·op(B) + beta·C, A [M × K] row-major (not transposed), beta 0 or 1.
 * Layout: op(B) is packed once per weight (bf16_pack_b), in KC-row blocks of NR-column panels,
 * each row pair k, k+1 of a column as one 32-bit word (bf16(B[k]) low, bf16(B[k+1]) high), which is
 * what vdpbf16ps and AMX's B tiles pair up: [block][panel][K/2 words][NR], high parts then low parts. A is converted
 * per MC-row chunk and KC block into MR-row micro-panels, each row's pairs contiguous: [micro-panel][MR][KC/2 words] (a
 * row of A converts to bf16 in place order, no transpose needed; the kernel broadcasts one word per row and k pair).
 * The micro-kernel holds a 14 × 32 float32 tile of C in 28 zmm registers, as the float32 kernel (gemm.c) does, and the
 * threads share gemm.c's pool.
 */
#define _GNU_SOURCE /* syscall() for arch_prctl */
#include "gemm.h"
#include <string.h>

#define MR 14
#define NR 32
#define KC 256 /* blocks of KC/2 = 128 words: a multiple of AMX's 16-word tile depth */

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
/* Words of a block of kc rows of op(B) (or columns of A): pairs, padded with zeros to 16 (one AMX tile). */
static size_t block_words(size_t kc) { return ((kc + 1) / 2 + 15) / 16 * 16; }

/* Rounds to the nearest bfloat16, ties to even (as vcvtne2ps2bf16), returned as a float. */
static float bf16_round(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) u |= 0x400000u; /* NaN stays a quiet NaN */
  else if ((u & 0x7f800000u) == 0) u &= 0x80000000u; /* denormals read as zero, as the instruction does */
  else u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  memcpy(&x, &u, 4);
  return x;
}

static uint32_t bf16_bits(float x) {
  const float r = bf16_round(x);
  uint32_t u;
  memcpy(&u, &r, 4);
  return u >> 16;
}

/* One layout of op(B) (full blocks are 128 words: the padding is the last block's). */
static size_t layout_words(int K, int N) { return block_words((size_t)K) * (((size_t)N + NR - 1) / NR) * NR; }

size_t bf16_packed_words(int K, int N) { return 2 * layout_words(K, N); /* high parts, then low parts */ }

void bf16_pack_b(const float *B, size_t ldb, int tb, int K, int N, uint32_t *out) {
  const size_t panels = ((size_t)N + NR - 1) / NR, low = layout_words(K, N);
  for (size_t k0 = 0; k0 < (size_t)K; k0 += KC) {
    const size_t kc = min_size(KC, (size_t)K - k0), kcw = block_words(kc);
    uint32_t *block = out + k0 / 2 * panels * NR;
    for (size_t p = 0; p < panels; p++)
      for (size_t w = 0; w < kcw; w++)
        for (size_t j = 0; j < NR; j++) {
          const size_t col = p * NR + j, k = k0 + 2 * w;
          float even = 0.f, odd = 0.f;            /* rows k and k + 1 */
          if (col < (size_t)N && k < (size_t)K) { /* words past K are padding */
            even = tb ? B[col * ldb + k] : B[k * ldb + col];
            if (k + 1 < (size_t)K) odd = tb ? B[col * ldb + k + 1] : B[(k + 1) * ldb + col];
          }
          const size_t at = (p * kcw + w) * NR + j;
          block[at] = bf16_bits(even) | bf16_bits(odd) << 16;
          block[at + low] = bf16_bits(even - bf16_round(even)) | bf16_bits(odd - bf16_round(odd)) << 16;
        }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define BF16 __attribute__((target("avx512f,avx512bf16")))

int bf16_supported(void) {
  static int known = -1;
  if (known < 0) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    known = gemm_avx512_supported() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);
  }
  return known;
}

/* bf16 → float32 of 16 values (exact: bf16 is float32's upper half). */
BF16 static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

/*
 * Rows i0 … i0+rows of A, columns k0 … k0+kc, as bf16 words row by row (row r at out + r·stride
 * words), zero padded to `padded` rows and to `stride` words: the high parts bf16(a) at `out`, the
 * low parts bf16(a − bf16(a)) at `out + padded·stride`.
 */
BF16 static void pack_a(const GemmArgs *g, size_t i0, size_t rows, size_t padded, size_t k0, size_t kc, size_t stride,
                        uint32_t *restrict out) {
  const size_t used = (kc + 1) / 2;
  uint32_t *const low = out + padded * stride;
  for (size_t r = 0; r < padded; r++) {
    uint32_t *dst = out + r * stride, *lo_dst = low + r * stride;
    if (r >= rows) {
      memset(dst, 0, stride * 4);
      memset(lo_dst, 0, stride * 4);
      continue;
    }
    const float *src = g->A + (i0 + r) * g->lda + k0;
    for (size_t k = 0; k < kc; k += 32) {
      const size_t n = min_size(32, kc - k);
      const __mmask16 lo = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
      const __mmask16 hi = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
      const __m512 x0 = _mm512_maskz_loadu_ps(lo, src + k), x1 = _mm512_maskz_loadu_ps(hi, src + k + 16);
      const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
      const __m512 r0 = _mm512_sub_ps(x0, widen(_mm512_castsi512_si256(v)));
      const __m512 r1 = _mm512_sub_ps(x1, widen(_mm512_extracti64x4_epi64(v, 1)));
      const size_t words = (n + 1) / 2;
      const __mmask16 m = words >= 16 ? 0xffff : (__mmask16)((1u << words) - 1);
      _mm512_mask_storeu_epi32(dst + k / 2, m, v);
      _mm512_mask_storeu_epi32(lo_dst + k / 2, m, (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
    }
    if (stride > used) {
      memset(dst + used, 0, (stride - used) * 4);
      memset(lo_dst + used, 0, (stride - used) * 4);
    }
  }
}

/* The MR × NR tile at C (row stride ldc) = a·b (+ C when `add`), `rows` ≤ MR, `cols` ≤ NR. */
BF16 static void kernel(size_t kcw, const uint32_t *restrict a, const uint32_t *restrict b, float *restrict C,
                        size_t ldc, size_t rows, size_t cols, int add) {
  __m512 c[MR][2];
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (size_t w = 0; w < kcw; w++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + w * NR), b1 = (__m512bh)_mm512_loadu_si512(b + w * NR + 16);
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * kcw + w]);
      c[r][0] = _mm512_dpbf16_ps(c[r][0], x, b0);
      c[r][1] = _mm512_dpbf16_ps(c[r][1], x, b1);
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

/* vdpbf16ps: per KC block, the chunk's rows packed, then MR × NR tiles. */
BF16 static void avx512_rows(const GemmArgs *g, const uint32_t *bpacked, size_t i0, size_t rows, uint32_t *apack) {
  const size_t panels = ((size_t)g->N + NR - 1) / NR;
  for (size_t k0 = 0; k0 < (size_t)g->K; k0 += KC) {
    const size_t kc = min_size(KC, (size_t)g->K - k0), kcw = block_words(kc);
    const int add = k0 > 0 || g->beta != 0.f;
    const size_t padded = (rows + MR - 1) / MR * MR;
    pack_a(g, i0, rows, padded, k0, kc, kcw, apack);
    const uint32_t *block = bpacked + k0 / 2 * panels * NR, *alow = apack + padded * kcw;
    const size_t blow = layout_words(g->K, g->N);
    for (size_t p = 0; p < panels; p++) {
      const size_t j0 = p * NR, cols = min_size(NR, (size_t)g->N - j0);
      const uint32_t *b = block + p * kcw * NR;
      for (size_t q = 0; q < rows; q += MR) {
        float *c = g->C + (i0 + q) * g->ldc + j0;
        const size_t r = min_size(MR, rows - q);
        kernel(kcw, apack + q * kcw, b, c, g->ldc, r, cols, add);      /* high · high */
        kernel(kcw, alow + q * kcw, b, c, g->ldc, r, cols, 1);         /* low · high */
        kernel(kcw, apack + q * kcw, b + blow, c, g->ldc, r, cols, 1); /* high · low */
      }
    }
  }
}

/* ---- AMX: tiles 0-3 hold a 32 × 32 block of C, 4-5 two 16-row slices of A, 6-7 two 16-column halves of a B panel ----
 */
#include <sys/syscall.h>
#include <unistd.h>
#define AMX __attribute__((target("avx512f,avx512bf16,amx-tile,amx-bf16")))

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} TileConfig;

static int amx_granted = -1;

/* AMX-BF16 and AMX-TILE (cpuid 7.0 EDX bits 22, 24), and Linux's permission for the tile state. */
static int amx_supported(void) {
  if (amx_granted < 0) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    amx_granted = bf16_supported() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1u) && (d >> 24 & 1u) &&
                  syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
  }
  return amx_granted;
}

AMX static void amx_configure(void) {
  static __thread int configured; /* the tile configuration is per thread and stays until released */
  if (configured) return;
  TileConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
  configured = 1;
}

/* Scratch for the chunk's rows of A over all of K (thread-local, grown on demand). */
static uint32_t *amx_scratch(size_t words) {
  static __thread uint32_t *buf;
  static __thread size_t cap;
  if (words > cap) {
    free(buf);
    buf = aligned_alloc(64, (words * 4 + 63) / 64 * 64);
    cap = buf ? words : 0;
  }
  return buf;
}

AMX static int amx_rows(const GemmArgs *g, const uint32_t *bpacked, size_t i0, size_t rows) {
  const size_t panels = ((size_t)g->N + NR - 1) / NR, K = (size_t)g->K;
  const size_t kw = block_words(K), padded = (rows + 15) / 16 * 16;
  uint32_t *a = amx_scratch(2 * padded * kw);
  if (!a) return 0;
  const uint32_t *alow = a + padded * kw;
  const size_t blow = layout_words(g->K, g->N);
  pack_a(g, i0, rows, padded, 0, K, kw, a);
  amx_configure();
  float tile[32 * 32] __attribute__((aligned(64)));
  for (size_t p = 0; p < panels; p++) {
    const size_t j0 = p * NR, cols = min_size(NR, (size_t)g->N - j0);
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    for (size_t r0 = 0; r0 < padded; r0 += 32) {
      const int two = r0 + 16 < padded;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (size_t k0 = 0; k0 < K; k0 += KC) {
        const size_t kcw = block_words(min_size(KC, K - k0));
        const uint32_t *b = bpacked + k0 / 2 * panels * NR + p * kcw * NR;
        const size_t at = r0 * kw + k0 / 2;
        /* high · high, low · high, high · low (a·b to ~2^-16 of |a|·|b|: the low · low term is below it) */
        const uint32_t *as[3] = {a + at, alow + at, a + at}, *bs[3] = {b, b, b + blow};
        for (int t = 0; t < 3; t++)
          for (size_t w = 0; w < kcw; w += 16) {
            _tile_loadd(6, bs[t] + w * NR, NR * 4);
            _tile_loadd(7, bs[t] + w * NR + 16, NR * 4);
            _tile_loadd(4, as[t] + w, kw * 4);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            if (two) {
              _tile_loadd(5, as[t] + 16 * kw + w, kw * 4);
              _tile_dpbf16ps(2, 5, 6);
              _tile_dpbf16ps(3, 5, 7);
            }
          }
      }
      _tile_stored(0, tile, 32 * 4);
      _tile_stored(1, tile + 16, 32 * 4);
      if (two) {
        _tile_stored(2, tile + 16 * 32, 32 * 4);
        _tile_stored(3, tile + 16 * 32 + 16, 32 * 4);
      }
      for (size_t r = 0; r < 32 && r0 + r < rows; r++) {
        float *row = g->C + (i0 + r0 + r) * g->ldc + j0;
        __m512 c0 = _mm512_load_ps(tile + r * 32), c1 = _mm512_load_ps(tile + r * 32 + 16);
        if (g->beta != 0.f) {
          c0 = _mm512_add_ps(c0, _mm512_maskz_loadu_ps(m0, row));
          c1 = _mm512_add_ps(c1, _mm512_maskz_loadu_ps(m1, row + 16));
        }
        _mm512_mask_storeu_ps(row, m0, c0);
        _mm512_mask_storeu_ps(row + 16, m1, c1);
      }
    }
  }
  return 1;
}

/* The AMX probe (peak.c): `iters` rounds of 4 independent tdpbf16ps (65,536 flops a round). */
AMX float bf16_amx_chains(long iters) {
  if (!amx_supported()) return 0.f;
  amx_configure();
  _tile_zero(4);
  _tile_zero(6);
  _tile_zero(7);
  for (long it = 0; it < iters; it++) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 4, 6);
    _tile_dpbf16ps(3, 4, 7);
  }
  float tile[16 * 16] __attribute__((aligned(64)));
  _tile_stored(0, tile, 64);
  return tile[0];
}

static int use_amx = -1; /* -1: not chosen yet (AMX where granted) */

const char *bf16_kernel(void) {
  if (!bf16_supported()) return "";
  if (use_amx < 0) use_amx = amx_supported();
  return use_amx ? "AMX" : "AVX512-BF16";
}

int bf16_choose(int amx) {
  if (!bf16_supported() || (amx && !amx_supported())) return 0;
  use_amx = amx;
  return 1;
}

void bf16_rows(const GemmArgs *g, const uint32_t *bpacked, size_t i0, size_t rows, void *scratch) {
  if (use_amx < 0) use_amx = amx_supported();
  if (use_amx && amx_rows(g, bpacked, i0, rows)) return;
  avx512_rows(g, bpacked, i0, rows, scratch);
}
#else
int bf16_supported(void) { return 0; }
const char *bf16_kernel(void) { return ""; }
float bf16_amx_chains(long iters) {
  (void)iters;
  return 0.f;
}
int bf16_choose(int amx) {
  (void)amx;
  return 0;
}
void bf16_rows(const GemmArgs *g, const uint32_t *bpacked, size_t i0, size_t rows, void *scratch) {
  (void)g, (void)bpacked, (void)i0, (void)rows, (void)scratch;
}
#endif
