#ifndef CBNN_KERNELS_H
#define CBNN_KERNELS_H
/*
 * Portable SIMD kernels for swift-bnn: GEMM micro-kernels with packing and cache blocking, Philox/
 * Box–Muller normal sampling and vectorised exp/log/softplus/sigmoid. Each has AVX-512, AVX2 and plain
 * variants; the best one the CPU supports is chosen once at run time (no compiler flags needed).
 * All functions are thread-safe; threading itself is left to the Swift callers.
 */
#include <stdint.h>

/* Name of the instruction set in use: "avx512", "avx2" or "plain". BNN_ISA=plain|avx2 forces a lower one. */
const char *bnn_kernels_isa_name(void);

/*
 * Single-threaded row-major C = alpha·op(A)·op(B) + beta·C (beta == 0: C is not read), with op(A) m × k
 * and op(B) k × n. Packing buffers are per thread and reused between calls.
 */
void bnn_sgemm(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc);

/* The register tile (rows × columns of C) of the kernel in use, for aligning work splits. */
void bnn_sgemm_micro_tile(int *mr, int *nr);

/* Overrides the cache-block sizes (k depth, rows of A, columns of B); values ≤ 0 keep the current one. */
void bnn_sgemm_set_blocking(long kc, long mc, long nc);

/* destination[i] = f(source[i]) for i < count; source may equal destination. */
void bnn_vexp(const float *source, float *destination, long count);
void bnn_vlog(const float *source, float *destination, long count);
void bnn_vlog1p(const float *source, float *destination, long count);
void bnn_vsoftplus(const float *source, float *destination, long count);
void bnn_vsigmoid(const float *source, float *destination, long count);

/*
 * destination[j] = mean + standardDeviation·z[start + j] for j < count, where z is the standard-normal
 * stream of `key` (Philox4x32-10 counters + Box–Muller); a pure function of (key, index).
 */
void bnn_normal_fill(float *destination, long start, long count, uint64_t key, float mean,
                     float standardDeviation);

/* One Philox4x32-10 block (scalar), for known-answer tests. */
void bnn_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t output[4]);

#endif
