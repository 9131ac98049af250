/* The measured FMA peak (peak.c). */
#ifndef MILKIT_PEAK_H
#define MILKIT_PEAK_H
/* Float lanes of the vectors the probe uses: 16 (AVX-512), 8 (AVX2+FMA), 4 (SSE). */
int peak_lanes(void);
/* GFLOP/s of `threads` threads each running `iters` rounds of 16 vector multiply-adds. */
double fma_peak(int threads, long iters);
/* The same for the kernel of the bf16 products (AMX tile products, else vdpbf16ps); 0 on CPUs without AVX-512 BF16. */
double bf16_peak(int threads, long iters);
#endif
