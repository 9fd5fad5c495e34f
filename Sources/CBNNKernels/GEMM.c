/*
 * Single-precision GEMM after Goto & van de Geijn, "Anatomy of high-performance matrix multiplication"
 * (ACM TOMS 34(3), 2008), in the loop order of BLIS: the k dimension is cut into KC-deep slabs; a
 * slab of op(A) (up to MC rows) is packed into MR-row micro-panels, a slab of op(B) (up to NC columns)
 * into NR-column micro-panels; then an MR × NR register-blocked micro-kernel multiplies one A
 * micro-panel (kept in L1) by each B micro-panel (streamed from L2).
 *
 * Matrices are addressed through row and column strides, so transposes and the "solve the transposed
 * problem" trick (Cᵀ = op(B)ᵀ·op(A)ᵀ, used when n is much narrower than a micro-tile) share one driver.
 * Packing pads partial micro-panels with zeros; partial tiles of C go through a small buffer.
 */
#include "CBNNKernels.h"
#include "KernelDispatch.h"
#include "GEMMPacking.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*bnn_kernel)(long kc, const float *a, const float *b, float *c, long rs, long cs, float alpha,
                           float beta, int mr, int nr);

/* C[i, j] = alpha·tile[i, j] + beta·C[i, j] for the valid mr × nr corner; beta == 0 never reads C. */
static void write_back(const float *tile, int tileColumns, float *c, long rs, long cs, float alpha, float beta,
                       int mr, int nr) {
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < nr; j++) {
            float value = alpha * tile[i * tileColumns + j];
            float *target = c + i * rs + j * cs;
            *target = beta == 0.0f ? value : value + beta * *target;
        }
    }
}

/* ---------------------------------------------------------------- plain (any CPU) */

enum { PLAIN_MR = 4, PLAIN_NR = 16 };

/* Fixed-size loops over a local accumulator tile: compilers vectorise the j loop for the baseline ISA. */
static void kernel_plain(long kc, const float *restrict a, const float *restrict b, float *c, long rs, long cs,
                         float alpha, float beta, int mr, int nr) {
    float acc[PLAIN_MR][PLAIN_NR] = {{0}};
    for (long p = 0; p < kc; p++) {
        for (int i = 0; i < PLAIN_MR; i++) {
            float x = a[i];
            for (int j = 0; j < PLAIN_NR; j++) acc[i][j] += x * b[j];
        }
        a += PLAIN_MR;
        b += PLAIN_NR;
    }
    write_back(&acc[0][0], PLAIN_NR, c, rs, cs, alpha, beta, mr, nr);
}

#if defined(__x86_64__)
/* ---------------------------------------------------------------- AVX2 + FMA: 6 × 16 */

enum { AVX2_MR = 6, AVX2_NR = 16 };

/* 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers. */
__attribute__((target("avx2,fma")))
static void kernel_avx2(long kc, const float *restrict a, const float *restrict b, float *c, long rs, long cs,
                        float alpha, float beta, int mr, int nr) {
    __m256 acc0[AVX2_MR], acc1[AVX2_MR];
    for (int i = 0; i < AVX2_MR; i++) {
        acc0[i] = _mm256_setzero_ps();
        acc1[i] = _mm256_setzero_ps();
    }
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b);
        __m256 b1 = _mm256_load_ps(b + 8);
#pragma unroll
        for (int i = 0; i < AVX2_MR; i++) {
            __m256 x = _mm256_broadcast_ss(a + i);
            acc0[i] = _mm256_fmadd_ps(x, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(x, b1, acc1[i]);
        }
        a += AVX2_MR;
        b += AVX2_NR;
    }
    __m256 va = _mm256_set1_ps(alpha);
    if (mr == AVX2_MR && nr == AVX2_NR && cs == 1) {
        __m256 vb = _mm256_set1_ps(beta);
#pragma unroll
        for (int i = 0; i < AVX2_MR; i++) {
            float *row = c + i * rs;
            __m256 v0 = _mm256_mul_ps(acc0[i], va), v1 = _mm256_mul_ps(acc1[i], va);
            if (beta != 0.0f) {
                v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), v0);
                v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), v1);
            }
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        }
    } else {
        float tile[AVX2_MR * AVX2_NR] __attribute__((aligned(32)));
        for (int i = 0; i < AVX2_MR; i++) {
            _mm256_store_ps(tile + i * AVX2_NR, acc0[i]);
            _mm256_store_ps(tile + i * AVX2_NR + 8, acc1[i]);
        }
        write_back(tile, AVX2_NR, c, rs, cs, alpha, beta, mr, nr);
    }
}

/* ---------------------------------------------------------------- AVX-512 + FMA: MR × 32 */

#ifndef AVX512_MR
#define AVX512_MR 8
#endif
enum { AVX512_NR = 32 };

/* 2·MR accumulators + 2 B vectors + 1 broadcast must fit the 32 zmm registers (MR ≤ 14). MR = 8 divides
   the filter counts of convolutions (32, 64) and common batch sizes, where 12 wasted up to a third of a
   panel, and measured no slower on square products. */
__attribute__((target("avx512f,fma")))
static void kernel_avx512(long kc, const float *restrict a, const float *restrict b, float *c, long rs, long cs,
                          float alpha, float beta, int mr, int nr) {
    __m512 acc0[AVX512_MR], acc1[AVX512_MR];
    for (int i = 0; i < AVX512_MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    /* Touch the C tile early so its lines arrive while the k loop runs. */
    for (int i = 0; i < mr; i++) {
        _mm_prefetch((const char *)(c + i * rs), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * rs + 16 * cs), _MM_HINT_T0);
    }
    for (long p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b);
        __m512 b1 = _mm512_load_ps(b + 16);
#pragma unroll
        for (int i = 0; i < AVX512_MR; i++) {
            __m512 x = _mm512_set1_ps(a[i]);
            acc0[i] = _mm512_fmadd_ps(x, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(x, b1, acc1[i]);
        }
        a += AVX512_MR;
        b += AVX512_NR;
    }
    __m512 va = _mm512_set1_ps(alpha);
    if (mr == AVX512_MR && nr == AVX512_NR && cs == 1) {
        __m512 vb = _mm512_set1_ps(beta);
#pragma unroll
        for (int i = 0; i < AVX512_MR; i++) {
            float *row = c + i * rs;
            __m512 v0 = _mm512_mul_ps(acc0[i], va), v1 = _mm512_mul_ps(acc1[i], va);
            if (beta != 0.0f) {
                v0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), v0);
                v1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), v1);
            }
            _mm512_storeu_ps(row, v0);
            _mm512_storeu_ps(row + 16, v1);
        }
    } else {
        float tile[AVX512_MR * AVX512_NR] __attribute__((aligned(64)));
        for (int i = 0; i < AVX512_MR; i++) {
            _mm512_store_ps(tile + i * AVX512_NR, acc0[i]);
            _mm512_store_ps(tile + i * AVX512_NR + 16, acc1[i]);
        }
        write_back(tile, AVX512_NR, c, rs, cs, alpha, beta, mr, nr);
    }
}
#endif

/* ---------------------------------------------------------------- driver */

typedef struct {
    int mr, nr;
    bnn_kernel kernel;
} gemm_isa;

static gemm_isa current_isa(void) {
#if defined(__x86_64__)
    switch (bnn_isa_level()) {
    case BNN_ISA_AVX512: return (gemm_isa){AVX512_MR, AVX512_NR, kernel_avx512};
    case BNN_ISA_AVX2: return (gemm_isa){AVX2_MR, AVX2_NR, kernel_avx2};
    default: break;
    }
#endif
    return (gemm_isa){PLAIN_MR, PLAIN_NR, kernel_plain};
}

/* Block sizes: KC·MR floats of A stay in L1, KC·NC of B in L2, MC·KC of A in L3. */
static long block_kc = 384, block_mc = 960, block_nc = 512;

void bnn_sgemm_set_blocking(long kc, long mc, long nc) {
    if (kc > 0) block_kc = kc;
    if (mc > 0) block_mc = mc;
    if (nc > 0) block_nc = nc;
}

/* Per-thread packing buffers, grown on demand and kept for the life of the thread, so the hot path does
   not allocate; a pthread key frees them when a (pool) thread exits. Aligned to 64 bytes for aligned
   vector loads of packed micro-panels. */
typedef struct {
    float *data;
    size_t floats;
} scratch_space;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void *pointer) {
    scratch_space *space = pointer;
    free(space->data);
    free(space);
}

static void scratch_make_key(void) { pthread_key_create(&scratch_key, scratch_release); }

float *bnn_scratch_buffer(size_t floats) {
    pthread_once(&scratch_once, scratch_make_key);
    scratch_space *space = pthread_getspecific(scratch_key);
    if (!space) {
        space = calloc(1, sizeof *space);
        if (!space) return NULL;
        pthread_setspecific(scratch_key, space);
    }
    if (floats > space->floats) {
        free(space->data);
        size_t bytes = ((floats * sizeof(float)) + 63) & ~(size_t)63;
        space->data = aligned_alloc(64, bytes);
        space->floats = space->data ? floats : 0;
    }
    return space->data;
}

#if defined(__x86_64__)
/* Packing that transposes (a panel's rows or columns lie along k in memory) as 8- or 16-lane gathers, one
   per k step, instead of one scalar move per value. Offsets are 32-bit: callers check the stride. */

/* out[p·8 + r] = a[r·rs + p] for r < 8, p < kc. */
__attribute__((target("avx512f,avx2")))
static void gather_panel_8(const float *a, long rs, long kc, float *restrict out) {
    __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)rs));
    for (long p = 0; p < kc; p++) _mm256_storeu_ps(out + p * 8, _mm256_i32gather_ps(a + p, offsets, 4));
}

/* out[p·32 + q] = b[q·cs + p] for q < 32, p < kc. */
__attribute__((target("avx512f")))
static void gather_panel_32(const float *b, long cs, long kc, float *restrict out) {
    __m512i offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int)cs));
    const float *upper = b + 16 * cs;
    for (long p = 0; p < kc; p++) {
        _mm512_storeu_ps(out + p * 32, _mm512_i32gather_ps(offsets, b + p, 4));
        _mm512_storeu_ps(out + p * 32 + 16, _mm512_i32gather_ps(offsets, upper + p, 4));
    }
}
#endif

#if defined(__x86_64__)
/* out[p·16 + q] = b[q·cs + p] for q < 16, p < kc: 8 × 8 blocks transposed in registers (eight contiguous
   loads, 24 shuffles, eight stores), AVX2's way to pack a panel whose columns lie along k in memory. */
__attribute__((target("avx2")))
static void transpose_panel_16(const float *b, long cs, long kc, float *restrict out) {
    long p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int half = 0; half < 2; half++) {
            const float *column = b + (long)half * 8 * cs + p;
            __m256 r0 = _mm256_loadu_ps(column), r1 = _mm256_loadu_ps(column + cs);
            __m256 r2 = _mm256_loadu_ps(column + 2 * cs), r3 = _mm256_loadu_ps(column + 3 * cs);
            __m256 r4 = _mm256_loadu_ps(column + 4 * cs), r5 = _mm256_loadu_ps(column + 5 * cs);
            __m256 r6 = _mm256_loadu_ps(column + 6 * cs), r7 = _mm256_loadu_ps(column + 7 * cs);
            /* Pairs of columns interleaved, then quads, then the 128-bit halves: o_t[i] = r_i[t]. */
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *to = out + p * 16 + half * 8;
            _mm256_storeu_ps(to, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(to + 16, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(to + 32, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(to + 48, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(to + 64, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(to + 80, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(to + 96, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(to + 112, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
    }
    for (; p < kc; p++)
        for (long q = 0; q < 16; q++) out[p * 16 + q] = b[q * cs + p];
}
#endif

/* Whether a panel of `lanes` rows or columns `stride` apart can be gathered with 32-bit offsets. */
static int gatherable(int lanes, long stride, int wanted) {
#if defined(__x86_64__)
    return lanes == wanted && stride > 0 && stride <= INT32_MAX / 32 && bnn_isa_level() == BNN_ISA_AVX512;
#else
    (void)lanes; (void)stride; (void)wanted;
    return 0;
#endif
}

/* dst[panel][p][r] = op(A)[i0 + panel·MR + r, p0 + p], zero for rows past mc. */
static void pack_a(const float *a, long rs, long cs, long mc, long kc, int mr, float *restrict dst) {
    int gather = cs == 1 && gatherable(mr, rs, 8);
    for (long i = 0; i < mc; i += mr) {
        long rows = mc - i < mr ? mc - i : mr;
        const float *src = a + i * rs;
#if defined(__x86_64__)
        if (gather && rows == mr) {
            gather_panel_8(src, rs, kc, dst);
            dst += (long)mr * kc;
            continue;
        }
#endif
        if (cs == 1) {
            /* Rows are contiguous in memory: read along them. */
            for (long r = 0; r < rows; r++) {
                const float *row = src + r * rs;
                for (long p = 0; p < kc; p++) dst[p * mr + r] = row[p];
            }
        } else {
            for (long p = 0; p < kc; p++) {
                const float *column = src + p * cs;
                for (long r = 0; r < rows; r++) dst[p * mr + r] = column[r * rs];
            }
        }
        if (rows < mr)
            for (long p = 0; p < kc; p++)
                for (long r = rows; r < mr; r++) dst[p * mr + r] = 0.0f;
        dst += (long)mr * kc;
    }
}

/* dst[panel][p][j] = op(B)[p0 + p, j0 + panel·NR + j], zero for columns past nc. */
static void pack_b(const float *b, long rs, long cs, long kc, long nc, int nr, float *restrict dst) {
    long panels = (nc + nr - 1) / nr;
    if (cs == 1) {
        /* Rows of op(B) are contiguous: walk each row once, dealing it out to the panels, so the source
           is read as a stream (not kc short pieces at a large stride per panel). */
        for (long p = 0; p < kc; p++) {
            const float *row = b + p * rs;
            for (long panel = 0; panel < panels; panel++) {
                long j = panel * nr;
                long columns = nc - j < nr ? nc - j : nr;
                float *out = dst + panel * nr * kc + p * nr;
                for (long q = 0; q < columns; q++) out[q] = row[j + q];
                for (long q = columns; q < nr; q++) out[q] = 0.0f;
            }
        }
        return;
    }
    int gather = rs == 1 && gatherable(nr, cs, 32);
#if defined(__x86_64__)
    int transpose = rs == 1 && nr == 16 && bnn_isa_level() == BNN_ISA_AVX2;
#endif
    for (long panel = 0; panel < panels; panel++) {
        long j = panel * nr;
        long columns = nc - j < nr ? nc - j : nr;
        float *out = dst + panel * nr * kc;
#if defined(__x86_64__)
        if (gather && columns == nr) {
            gather_panel_32(b + j * cs, cs, kc, out);
            continue;
        }
        if (transpose && columns == nr) {
            transpose_panel_16(b + j * cs, cs, kc, out);
            continue;
        }
#endif
        for (long q = 0; q < columns; q++) {
            const float *column = b + (j + q) * cs;
            for (long p = 0; p < kc; p++) out[p * nr + q] = column[p * rs];
        }
        if (columns < nr)
            for (long p = 0; p < kc; p++)
                for (long q = columns; q < nr; q++) out[p * nr + q] = 0.0f;
    }
}

static long round_up(long x, long multiple) { return (x + multiple - 1) / multiple * multiple; }

static void scale_c(long m, long n, float beta, float *c, long rs, long cs) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float *target = c + i * rs + j * cs;
            *target = beta == 0.0f ? 0.0f : beta * *target;
        }
}

/* Packs the kc × nc block of op(B) at row p0 and column j0 into NR-column micro-panels (as pack_b). */
typedef void (*b_packer)(const void *source, long p0, long kc, long j0, long nc, int nr, float *restrict dst);
typedef bnn_strided_matrix strided_matrix;

static void pack_strided(const void *source, long p0, long kc, long j0, long nc, int nr, float *restrict dst) {
    const strided_matrix *matrix = source;
    pack_b(matrix->b + p0 * matrix->rs + j0 * matrix->cs, matrix->rs, matrix->cs, kc, nc, nr, dst);
}

/* C = alpha·op(A)·op(B) + beta·C with op(B) supplied by `packB`; returns 0 (C untouched) when the packing
   buffers cannot be allocated. */
static int driver(const gemm_isa *isa, long m, long n, long k, float alpha, const float *a, long ars, long acs,
                  b_packer packB, const void *b, float beta, float *c, long crs, long ccs) {
    const int mr = isa->mr, nr = isa->nr;
    /* Balance the k slabs (784 → 2 × 392, not 384 + 384 + 16). */
    long slabs = (k + block_kc - 1) / block_kc;
    long kcMax = (k + slabs - 1) / slabs;
    long mcMax = block_mc < round_up(m, mr) ? round_up(block_mc, mr) : round_up(m, mr);
    long ncMax = block_nc < round_up(n, nr) ? round_up(block_nc, nr) : round_up(n, nr);
    float *buffer = bnn_scratch_buffer((size_t)(mcMax * kcMax + kcMax * ncMax) + 64);
    if (!buffer) return 0;
    float *packedA = buffer;
    float *packedB = buffer + round_up(mcMax * kcMax, 16);
    for (long pc = 0; pc < k; pc += kcMax) {
        long kc = k - pc < kcMax ? k - pc : kcMax;
        /* Later slabs accumulate onto what the first one wrote. */
        float slabBeta = pc == 0 ? beta : 1.0f;
        for (long ic = 0; ic < m; ic += mcMax) {
            long mc = m - ic < mcMax ? m - ic : mcMax;
            pack_a(a + ic * ars + pc * acs, ars, acs, mc, kc, mr, packedA);
            for (long jc = 0; jc < n; jc += ncMax) {
                long nc = n - jc < ncMax ? n - jc : ncMax;
                packB(b, pc, kc, jc, nc, nr, packedB);
                for (long ir = 0; ir < mc; ir += mr) {
                    const float *panelA = packedA + (ir / mr) * mr * kc;
                    int rows = (int)(mc - ir < mr ? mc - ir : mr);
                    float *cRow = c + (ic + ir) * crs + jc * ccs;
                    for (long jr = 0; jr < nc; jr += nr) {
                        int columns = (int)(nc - jr < nr ? nc - jr : nr);
                        isa->kernel(kc, panelA, packedB + (jr / nr) * nr * kc, cRow + jr * ccs, crs, ccs, alpha,
                                    slabBeta, rows, columns);
                    }
                }
            }
        }
    }
    return 1;
}

/* The unpacked plain loop, for when there is no memory for packing: slow, but no crash. */
static void unpacked_gemm(long m, long n, long k, float alpha, const float *a, long ars, long acs, const float *b,
                          long brs, long bcs, float beta, float *c, long crs, long ccs) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float sum = 0.0f;
            for (long p = 0; p < k; p++) sum += a[i * ars + p * acs] * b[p * brs + j * bcs];
            float *target = c + i * crs + j * ccs;
            *target = beta == 0.0f ? alpha * sum : alpha * sum + beta * *target;
        }
}

void bnn_sgemm(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc, 1);
        return;
    }
    gemm_isa isa = current_isa();
    /* op(A)[i, p] = a[i·ars + p·acs], op(B)[p, j] = b[p·brs + j·bcs]. */
    long ars = transposeA ? 1 : lda, acs = transposeA ? lda : 1;
    long brs = transposeB ? 1 : ldb, bcs = transposeB ? ldb : 1;
    /* Micro-tiles are wide (NR) and short (MR). When n is narrow (e.g. a 10-class output layer), padding
       n up to NR wastes most of the work; computing Cᵀ = op(B)ᵀ·op(A)ᵀ instead pads less. */
    long work = round_up(m, isa.mr) * round_up(n, isa.nr);
    long swappedWork = round_up(n, isa.mr) * round_up(m, isa.nr);
    /* The transposed form writes C through the scalar strided path, so it must save a good deal. */
    if (swappedWork * 3 < work * 2) {
        strided_matrix transposedA = {a, acs, ars};
        if (!driver(&isa, n, m, k, alpha, b, bcs, brs, pack_strided, &transposedA, beta, c, 1, ldc))
            unpacked_gemm(n, m, k, alpha, b, bcs, brs, a, acs, ars, beta, c, 1, ldc);
    } else {
        strided_matrix matrixB = {b, brs, bcs};
        if (!driver(&isa, m, n, k, alpha, a, ars, acs, pack_strided, &matrixB, beta, c, ldc, 1))
            unpacked_gemm(m, n, k, alpha, a, ars, acs, b, brs, bcs, beta, c, ldc, 1);
    }
}

/* ---------------------------------------------------------------- implicit im2col */

/*
 * Packing straight from the zero-padded input planes of a stride-1 convolution, so the column matrix X
 * of im2col never exists in memory (for the CNN's second layer it was 8 MB a block, written out and read
 * back from beyond the L2 cache). The packed values equal what pack_b makes of X, so the products are the
 * same to the bit. A column run (one output row's positions, cut at panel boundaries and at 16 values)
 * reads the same padded-plane offsets for every patch row p, shifted by offset[p] = c·plane + i·pW + j;
 * runs go outside and patch rows inside, so each run is one masked copy per p.
 */
typedef void (*run_copier)(float *restrict row, long outStride, long lane, const float *source, const long *offsets,
                           long rows, long length, int squared);

/* The packer's column j is column first_column + j of X. */
typedef bnn_conv_operand conv_operand;

int bnn_conv_geometry_fits(const bnn_conv_columns *x, long k) {
    return x->kernel_size > 0 && x->output_width > 0 && x->output_height > 0 && k == x->channels * x->kernel_size * x->kernel_size
        && x->padded_width >= x->output_width + x->kernel_size - 1 && x->padded_height >= x->output_height + x->kernel_size - 1;
}

void bnn_conv_patch_offsets(const bnn_conv_columns *x, long p0, long kc, long *offsets) {
    const long k = x->kernel_size, paddedWidth = x->padded_width, plane = x->padded_height * paddedWidth;
    long c = p0 / (k * k), i = p0 % (k * k) / k, j = p0 % k;
    for (long p = 0; p < kc; p++) {
        offsets[p] = c * plane + i * paddedWidth + j;
        if (++j == k) {
            j = 0;
            if (++i == k) { i = 0; c++; }
        }
    }
}

void bnn_conv_runs_start(bnn_conv_runs *runs, const bnn_conv_operand *operand, long j0, long nc, int panelWidth) {
    const bnn_conv_columns *x = operand->x;
    /* Column first_column + j0 is example b, output row oh, output column ow. */
    const long column = operand->first_column + j0, positions = x->output_height * x->output_width;
    runs->x = x;
    runs->next = 0;
    runs->end = nc;
    runs->example = column / positions;
    runs->oh = column % positions / x->output_width;
    runs->ow = column % x->output_width;
    runs->panelWidth = panelWidth;
}

long bnn_conv_runs_next(bnn_conv_runs *runs, long *column, const float **source) {
    const bnn_conv_columns *x = runs->x;
    const long q = runs->next, lane = q % runs->panelWidth;
    long length = x->output_width - runs->ow;
    if (length > runs->end - q) length = runs->end - q;
    if (length > runs->panelWidth - lane) length = runs->panelWidth - lane;
    if (length > 16) length = 16;
    if (length <= 0) return 0;
    const long plane = x->padded_height * x->padded_width;
    *column = q;
    *source = x->padded + runs->example * x->channels * plane + runs->oh * x->padded_width + runs->ow;
    runs->next += length;
    runs->ow += length;
    if (runs->ow == x->output_width) {
        runs->ow = 0;
        if (++runs->oh == x->output_height) { runs->oh = 0; runs->example++; }
    }
    return length;
}

static inline __attribute__((always_inline)) void pack_conv_columns(const conv_operand *operand, long p0, long kc, long j0,
                                                                     long nc, int nr, float *restrict dst, long *offsets,
                                                                     run_copier copy) {
    bnn_conv_patch_offsets(operand->x, p0, kc, offsets);
    bnn_conv_runs runs;
    bnn_conv_runs_start(&runs, operand, j0, nc, nr);
    long q, length;
    const float *source;
    while ((length = bnn_conv_runs_next(&runs, &q, &source)) > 0)
        copy(dst + (q / nr) * nr * kc, nr, q % nr, source, offsets, kc, length, operand->x->squared);
    long tail = nc % nr;
    if (tail)
        for (long p = 0; p < kc; p++)
            memset(dst + (nc / nr) * nr * kc + p * nr + tail, 0, (size_t)(nr - tail) * sizeof(float));
}

/* row[p·outStride + lane + t] = source[offsets[p] + t] (squared when asked) for p < rows, t < length. */
static void copy_runs_plain(float *restrict row, long outStride, long lane, const float *source, const long *offsets,
                            long rows, long length, int squared) {
    float *out = row + lane;
    for (long p = 0; p < rows; p++) {
        const float *from = source + offsets[p];
        float *to = out + p * outStride;
        if (squared)
            for (long t = 0; t < length; t++) to[t] = from[t] * from[t];
        else
            for (long t = 0; t < length; t++) to[t] = from[t];
    }
}

static void pack_conv_plain(const void *source, long p0, long kc, long j0, long nc, int nr, float *restrict dst) {
    long offsets[kc];
    pack_conv_columns(source, p0, kc, j0, nc, nr, dst, offsets, copy_runs_plain);
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static inline void copy_runs_avx512(float *restrict row, long outStride, long lane, const float *source,
                                    const long *offsets, long rows, long length, int squared) {
    float *out = row + lane;
    __mmask16 mask = (__mmask16)((1u << length) - 1u);
    if (squared)
        for (long p = 0; p < rows; p++) {
            __m512 v = _mm512_maskz_loadu_ps(mask, source + offsets[p]);
            _mm512_mask_storeu_ps(out + p * outStride, mask, _mm512_mul_ps(v, v));
        }
    else
        for (long p = 0; p < rows; p++)
            _mm512_mask_storeu_ps(out + p * outStride, mask, _mm512_maskz_loadu_ps(mask, source + offsets[p]));
}

__attribute__((target("avx512f")))
static void pack_conv_avx512(const void *source, long p0, long kc, long j0, long nc, int nr, float *restrict dst) {
    long offsets[kc];
    pack_conv_columns(source, p0, kc, j0, nc, nr, dst, offsets, copy_runs_avx512);
}

/*
 * The same with AVX2, for 16-lane panel rows (AVX2_NR): each 8-lane half of a panel row that the run
 * touches is one masked load (lanes outside the run are not read) and one whole store. Lanes below the
 * run keep what earlier runs wrote (blended back in); lanes above it are written again by the runs that
 * follow, or zeroed with the panel's tail. (AMD cores take many cycles for a masked store; a whole
 * store does not.)
 */
__attribute__((target("avx2")))
static inline void copy_runs_avx2(float *restrict row, long outStride, long lane, const float *source,
                                  const long *offsets, long rows, long length, int squared) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long half = lane / 8; half < 2 && half * 8 < lane + length; half++) {
        /* Lane L = 8·half + l of the row takes source[L − lane] for lane ≤ L < lane + length. */
        __m256i shifted = _mm256_sub_epi32(_mm256_add_epi32(index, _mm256_set1_epi32((int)(half * 8))),
                                           _mm256_set1_epi32((int)lane));
        __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi32(shifted, _mm256_set1_epi32(-1)),
                                          _mm256_cmpgt_epi32(_mm256_set1_epi32((int)length), shifted));
        const long shift = half * 8 - lane;
        float *to = row + half * 8;
        int keepLower = lane > half * 8;
        for (long p = 0; p < rows; p++) {
            __m256 v = _mm256_maskload_ps(source + offsets[p] + shift, inside);
            if (squared) v = _mm256_mul_ps(v, v);
            if (keepLower) v = _mm256_blendv_ps(_mm256_loadu_ps(to + p * outStride), v, _mm256_castsi256_ps(inside));
            _mm256_storeu_ps(to + p * outStride, v);
        }
    }
}

__attribute__((target("avx2")))
static void pack_conv_avx2(const void *source, long p0, long kc, long j0, long nc, int nr, float *restrict dst) {
    long offsets[kc];
    pack_conv_columns(source, p0, kc, j0, nc, nr, dst, offsets, copy_runs_avx2);
}
#endif

/* The fastest packer of the convolution's columns for this CPU and NR (all write the same values). */
static b_packer conv_packer(int nr) {
#if defined(__x86_64__)
    if (bnn_isa_level() == BNN_ISA_AVX512) return pack_conv_avx512;
    if (bnn_isa_level() == BNN_ISA_AVX2 && nr == 16) return pack_conv_avx2;
#endif
    (void)nr;
    return pack_conv_plain;
}

int bnn_sgemm_convolution(long m, long n, long k, const float *a, long lda, const bnn_conv_columns *x, long first_column,
                          float *c, long ldc) {
    if (m <= 0 || n <= 0) return 1;
    if (!bnn_conv_geometry_fits(x, k)) return 0;
    gemm_isa isa = current_isa();
    b_packer packer = conv_packer(isa.nr);
    conv_operand operand = {x, first_column};
    if (driver(&isa, m, n, k, 1.0f, a, lda, 1, packer, &operand, 0.0f, c, ldc, 1)) return 1;
    /* No memory for packing: the unpacked loop, reading X's entries from the planes. */
    const long kernel = x->kernel_size, plane = x->padded_height * x->padded_width;
    const long positions = x->output_height * x->output_width;
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            long column = first_column + j, b = column / positions, oh = column % positions / x->output_width;
            long ow = column % x->output_width;
            float sum = 0.0f;
            for (long p = 0; p < k; p++) {
                long channel = p / (kernel * kernel), row = p % (kernel * kernel) / kernel, shift = p % kernel;
                float value = x->padded[(b * x->channels + channel) * plane + (oh + row) * x->padded_width + ow + shift];
                sum += a[i * lda + p] * (x->squared ? value * value : value);
            }
            c[i * ldc + j] = sum;
        }
    return 1;
}

int bnn_conv_packers_disagreeing(const bnn_conv_columns *x, long first_column, long p0, long kc, long nc) {
    enum { NR = 16 };
    const long floats = (nc + NR - 1) / NR * NR * kc;
    float *expected = malloc(sizeof(float) * (size_t)(floats + 1)), *packed = malloc(sizeof(float) * (size_t)(floats + 1));
    if (!expected || !packed) {
        free(expected);
        free(packed);
        return -1;
    }
    conv_operand operand = {x, 0};
    b_packer packers[2] = {0, 0};
#if defined(__x86_64__)
    if (bnn_isa_level() >= BNN_ISA_AVX2) packers[0] = pack_conv_avx2;
    if (bnn_isa_level() >= BNN_ISA_AVX512) packers[1] = pack_conv_avx512;
#endif
    pack_conv_plain(&operand, p0, kc, first_column, nc, NR, expected);
    int disagreeing = 0;
    for (int i = 0; i < 2; i++) {
        if (!packers[i]) continue;
        /* Every float written over: a value the packer leaves alone shows up as a NaN. */
        for (long f = 0; f < floats; f++) packed[f] = __builtin_nanf("");
        packers[i](&operand, p0, kc, first_column, nc, NR, packed);
        disagreeing += memcmp(expected, packed, sizeof(float) * (size_t)floats) != 0;
    }
    free(expected);
    free(packed);
    return disagreeing;
}

int bnn_transposing_pack_disagrees(const float *b, long cs, long kc) {
#if defined(__x86_64__)
    if (bnn_isa_level() < BNN_ISA_AVX2) return 0;
    float *packed = malloc(sizeof(float) * (size_t)(16 * kc + 1));
    if (!packed) return -1;
    transpose_panel_16(b, cs, kc, packed);
    int disagrees = 0;
    for (long p = 0; p < kc; p++)
        for (long q = 0; q < 16; q++) disagrees |= memcmp(&packed[p * 16 + q], &b[q * cs + p], sizeof(float)) != 0;
    free(packed);
    return disagrees;
#else
    (void)b; (void)cs; (void)kc;
    return 0;
#endif
}

long bnn_sgemm_depth_block(void) { return block_kc; }

void bnn_sgemm_micro_tile(int *mr, int *nr) {
    gemm_isa isa = current_isa();
    *mr = isa.mr;
    *nr = isa.nr;
}
