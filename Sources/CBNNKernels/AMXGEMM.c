/*
 * Matrix multiply in bfloat16 on Intel AMX (Advanced Matrix Extensions: Sapphire Rapids and later Xeons).
 *
 * op(A) and op(B) are rounded to bfloat16 (8 significant bits, round to nearest even: VCVTNE2PS2BF16) and
 * TDPBF16PS sums their products into fp32 tiles, so the only error beside fp32 summation is the rounding of
 * the inputs: a relative 2⁻⁸ per factor at most. A block of 32 × 32 of C is four 16 × 16 fp32 accumulator
 * tiles, fed per step of 32 along k by two A tiles (16 rows × 32 values) and two B tiles (16 pairs of k ×
 * 16 columns, the pairs side by side: the "VNNI" layout TDPBF16PS reads). Each element of C sums over k in
 * one order that depends on k only — not on m, n, or the split over threads — so a row of C does not depend
 * on the other rows of the product (what prediction needs; see bnn_sgemm).
 *
 * Both operands are converted as they are packed, straight from where they lie: op(A) row by row, op(B)
 * from a stored matrix (either orientation) or from a convolution's zero-padded input planes (the implicit
 * im2col columns of bnn_sgemm_convolution, the same values).
 * The predictive pass of a Bayesian MLP (bnn_fused_sample_mlp_bf16) runs its second layer the same way.
 * Linux grants a process the AMX tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM), which
 * bnn_bf16_available makes once.
 */
#include "CBNNKernels.h"
#include "FusedMLP.h"
#include "GEMMPacking.h"
#include "KernelDispatch.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define BNN_HAS_AMX_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if BNN_HAS_AMX_CODE
enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static int detect_amx(void) {
    if (bnn_isa_level() != BNN_ISA_AVX512) return 0; /* also honours BNN_ISA=avx2|plain */
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int amxBF16 = (d >> 22) & 1, amxTile = (d >> 24) & 1, avx512BW = (b >> 30) & 1;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    const int avx512BF16 = (a >> 5) & 1;
    if (!amxBF16 || !amxTile || !avx512BW || !avx512BF16) return 0;
    /* The kernel refuses when it (or the hypervisor) does not support the tile state. */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
#endif

int bnn_bf16_available(void) {
#if BNN_HAS_AMX_CODE
    static int cached = -1;
    int available = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (available < 0) {
        available = detect_amx();
        __atomic_store_n(&cached, available, __ATOMIC_RELAXED);
    }
    return available;
#else
    return 0;
#endif
}

#if BNN_HAS_AMX_CODE

enum {
    TILE = 32,            /* rows and columns of C per block; values of k per step */
    HALF = 16,            /* rows (or columns) per tile */
    STEP_VALUES = 1024,   /* bf16 values of one operand per block and k step: two 16 × 32 tiles */
    B_BLOCK_VALUES = 1 << 18, /* bf16 values (512 KB) of op(B) converted at a time: its panels stay in L2 */
    A_BLOCK_VALUES = 1 << 21, /* and of op(A) (4 MB; multiply_block streams one 32-row panel of it at a time) */
};

static long round_up(long x, long multiple) { return (x + multiple - 1) / multiple * multiple; }

/* The tile registers' shapes: all eight 16 rows × 64 bytes (palette 1). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} tile_config;

__attribute__((target("amx-tile")))
static void configure_tiles(void) {
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.rows[t] = HALF;
        config.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&config);
}

/* The 32 × 32 block of op(A)·op(B) from `steps` k steps of packed panels into `block` (row-major, 32 wide).
   Steps whose A tiles are all zero (`used[s]` == 0) are skipped: their products would add exact zeros. */
__attribute__((target("amx-tile,amx-bf16")))
static void multiply_block(long steps, const uint16_t *a, const uint16_t *b, const uint8_t *used, float *block) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (long s = 0; s < steps; s++, a += STEP_VALUES, b += STEP_VALUES) {
        if (!used[s]) continue;
        _tile_loadd(4, a, 64);
        _tile_loadd(5, a + STEP_VALUES / 2, 64);
        _tile_loadd(6, b, 64);
        _tile_loadd(7, b + STEP_VALUES / 2, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, block, TILE * 4);
    _tile_stored(1, block + HALF, TILE * 4);
    _tile_stored(2, block + HALF * TILE, TILE * 4);
    _tile_stored(3, block + HALF * TILE + HALF, TILE * 4);
}

/* Lanes 0 ..< count (clamped to 0 … 16) of a 16-lane vector. */
static inline __mmask16 first_lanes(long count) {
    return (__mmask16)(count >= HALF ? 0xFFFF : count <= 0 ? 0 : (1u << count) - 1u);
}

/* lo[0..15], hi[0..15] as 32 bf16 (round to nearest even), in that order. */
__attribute__((target("avx512f,avx512bf16")))
static inline __m512i to_bf16(__m512 lo, __m512 hi) {
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* The 32 values of k from `from` (the first `count`; zeros after) as bf16. */
__attribute__((target("avx512f,avx512bf16")))
static inline __m512i load_bf16(const float *from, long count) {
    return to_bf16(_mm512_maskz_loadu_ps(first_lanes(count), from), _mm512_maskz_loadu_ps(first_lanes(count - HALF), from + HALF));
}

/*
 * op(A)'s first `rows` rows as 32-row panels: panel P, step s holds rows 32P ..< 32P + 16
 * then 32P + 16 ..< 32P + 32, each as 32 consecutive values of k (k = 32s + t); zeros past the rows and past k.
 * used[P·steps + s] is 0 when all of panel P's values at step s are zero (an image's blank rows), else 1.
 */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void convert_a(const float *a, long rs, long cs, long rows, long k, long steps, uint16_t *restrict dst, uint8_t *used) {
    float gathered[TILE];
    memset(used, 0, (size_t)((rows + TILE - 1) / TILE * steps));
    for (long i = 0; i < (rows + TILE - 1) / TILE * TILE; i++) {
        uint16_t *row = dst + (i / TILE) * steps * STEP_VALUES + (i % TILE) * TILE;
        uint8_t *panelUsed = used + (i / TILE) * steps;
        for (long s = 0; s < steps; s++) {
            uint16_t *out = row + s * STEP_VALUES;
            long p = s * TILE, count = k - p < TILE ? k - p : TILE;
            if (i >= rows) count = 0;
            __m512i values;
            if (cs != 1) {
                for (long t = 0; t < count; t++) gathered[t] = a[i * rs + (p + t) * cs];
                values = load_bf16(gathered, count);
            } else {
                values = load_bf16(a + i * rs + p, count);
            }
            _mm512_storeu_si512((void *)out, values);
            panelUsed[s] |= _mm512_test_epi16_mask(values, values) != 0;
        }
    }
}

/* Where column group g (16 columns, half g % 2 of panel g / 2) and k pair r of op(B) go in the bf16 panels. */
static inline uint16_t *pair_row(uint16_t *dst, long steps, long g, long r) {
    return dst + ((g / 2) * steps + r / HALF) * STEP_VALUES + (g % 2) * (STEP_VALUES / 2) + (r % HALF) * TILE;
}

/* x[t], y[t] for t < 16, interleaved (x0, y0, x1, y1, …) and rounded to 32 bf16. */
__attribute__((target("avx512f,avx512bf16")))
static inline __m512i interleave_bf16(__m512 x, __m512 y) {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    return to_bf16(_mm512_permutex2var_ps(x, low, y), _mm512_permutex2var_ps(x, high, y));
}

/* Zeros the pair rows past k's last pair, and every row of a panel's second half when nc ends in its first. */
static void zero_padding(uint16_t *dst, long steps, long nc, long k) {
    const long groups = (nc + HALF - 1) / HALF, pairs = (k + 1) / 2;
    for (long g = 0; g < groups; g++)
        for (long r = pairs; r < steps * HALF; r++) memset(pair_row(dst, steps, g, r), 0, TILE * sizeof(uint16_t));
    if (groups % 2)
        for (long r = 0; r < steps * HALF; r++) memset(pair_row(dst, steps, groups, r), 0, TILE * sizeof(uint16_t));
}

/* Columns j0 ..< j0 + nc of a stored op(B) whose rows are contiguous (cs == 1), straight into bf16 panels. */
__attribute__((target("avx512f,avx512bf16")))
static void pack_rows_bf16(const float *b, long rs, long j0, long nc, long k, long steps, uint16_t *dst) {
    for (long r = 0; r < (k + 1) / 2; r++) {
        const float *first = b + 2 * r * rs + j0, *second = first + rs;
        const int hasSecond = 2 * r + 1 < k;
        for (long g = 0; g * HALF < nc; g++) {
            __mmask16 mask = first_lanes(nc - g * HALF);
            __m512 x = _mm512_maskz_loadu_ps(mask, first + g * HALF);
            __m512 y = hasSecond ? _mm512_maskz_loadu_ps(mask, second + g * HALF) : _mm512_setzero_ps();
            _mm512_storeu_si512((void *)pair_row(dst, steps, g, r), interleave_bf16(x, y));
        }
    }
    zero_padding(dst, steps, nc, k);
}

/* Transposes a 16 × 16 matrix of 32-bit values held as 16 rows: rows[r] lane t becomes rows[t] lane r. */
__attribute__((target("avx512f")))
static inline void transpose_16x16(__m512i rows[16]) {
    __m512i a[16], b[16];
    /* Within each 128-bit lane: pairs of rows interleaved by 32 bits, then 4 × 4 blocks by 64 bits. */
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_epi32(rows[2 * i], rows[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_epi32(rows[2 * i], rows[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        b[4 * i] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
        b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
    }
    /* b[4i + j], lane L holds rows 4i … 4i + 3 at column 4L + j: a 4 × 4 transpose of 128-bit lanes. */
    for (int j = 0; j < 4; j++) {
        __m512i c0 = _mm512_shuffle_i32x4(b[j], b[4 + j], 0x44), c1 = _mm512_shuffle_i32x4(b[j], b[4 + j], 0xEE);
        __m512i c2 = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], 0x44), c3 = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], 0xEE);
        rows[j] = _mm512_shuffle_i32x4(c0, c2, 0x88);
        rows[4 + j] = _mm512_shuffle_i32x4(c0, c2, 0xDD);
        rows[8 + j] = _mm512_shuffle_i32x4(c1, c3, 0x88);
        rows[12 + j] = _mm512_shuffle_i32x4(c1, c3, 0xDD);
    }
}

/*
 * Columns j0 ..< j0 + nc of op(B) = Bᵀ (op(B)[p, j] = b[j·cs + p]) straight into bf16 panels: a k pair of
 * one column is two adjacent floats, one 32-bit value of bf16; 32 values of k of 16 columns are converted
 * and the 16 × 16 pairs transposed into the pair rows.
 */
__attribute__((target("avx512f,avx512bf16")))
static void pack_columns_bf16(const float *b, long cs, long j0, long nc, long k, long steps, uint16_t *dst) {
    __m512i rows[HALF];
    for (long g = 0; g * HALF < nc; g++) {
        long count = nc - g * HALF < HALF ? nc - g * HALF : HALF;
        for (long s = 0; s < steps; s++) {
            long p = s * TILE;
            for (long t = 0; t < HALF; t++)
                rows[t] = t < count ? load_bf16(b + (j0 + g * HALF + t) * cs + p, k - p) : _mm512_setzero_si512();
            transpose_16x16(rows);
            for (long r = 0; r < HALF; r++) _mm512_storeu_si512((void *)pair_row(dst, steps, g, s * HALF + r), rows[r]);
        }
    }
    zero_padding(dst, steps, nc, k);
}

/*
 * Columns j0 ..< j0 + nc of a convolution's implicit im2col matrix (bnn_conv_operand) straight into bf16
 * panels: the runs of bnn_conv_runs (cut at 16-column groups), a pair of patch rows at a time. `offsets`
 * holds k + 1 values.
 */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void pack_conv_bf16(const bnn_conv_operand *operand, long j0, long nc, long k, long steps, uint16_t *dst,
                           long *offsets) {
    bnn_conv_patch_offsets(operand->x, 0, k, offsets);
    bnn_conv_runs runs;
    bnn_conv_runs_start(&runs, operand, j0, nc, HALF);
    long q, length;
    const float *source;
    while ((length = bnn_conv_runs_next(&runs, &q, &source)) > 0) {
        const long g = q / HALF, lane = q % HALF;
        const __mmask16 load = first_lanes(length);
        const __mmask32 store = (__mmask32)(((uint64_t)1 << (2 * length)) - 1u);
        for (long r = 0; r < (k + 1) / 2; r++) {
            __m512 a = _mm512_maskz_loadu_ps(load, source + offsets[2 * r]);
            __m512 b = 2 * r + 1 < k ? _mm512_maskz_loadu_ps(load, source + offsets[2 * r + 1]) : _mm512_setzero_ps();
            if (operand->x->squared) {
                a = _mm512_mul_ps(a, a);
                b = _mm512_mul_ps(b, b);
            }
            /* The run's 2·length values go to values 2·lane … of the pair row. */
            _mm512_mask_storeu_epi16(pair_row(dst, steps, g, r) + 2 * lane, store, interleave_bf16(a, b));
        }
    }
    long tail = nc % HALF;
    if (tail)
        for (long r = 0; r < (k + 1) / 2; r++) memset(pair_row(dst, steps, nc / HALF, r) + 2 * tail, 0, (size_t)(HALF - tail) * 2 * sizeof(uint16_t));
    zero_padding(dst, steps, nc, k);
}

/* C[i, j] = alpha·block[i, j] + beta·C[i, j] for the valid rows × columns; beta == 0 never reads C. */
__attribute__((target("avx512f")))
static void write_block(const float *block, float *c, long rs, long cs, float alpha, float beta, long rows, long columns) {
    const __m512 scale = _mm512_set1_ps(alpha), keep = _mm512_set1_ps(beta);
    for (long i = 0; i < rows; i++) {
        const float *from = block + i * TILE;
        float *to = c + i * rs;
        if (cs == 1) {
            for (long j = 0; j < columns; j += HALF) {
                __mmask16 mask = first_lanes(columns - j);
                __m512 value = _mm512_mul_ps(scale, _mm512_loadu_ps(from + j));
                if (beta != 0.0f) value = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(mask, to + j), value);
                _mm512_mask_storeu_ps(to + j, mask, value);
            }
        } else {
            for (long j = 0; j < columns; j++) {
                float value = alpha * from[j];
                to[j * cs] = beta == 0.0f ? value : value + beta * to[j * cs];
            }
        }
    }
}

/* op(B) of a product: a stored matrix, a convolution's implicit im2col columns, or panels packed beforehand
   (bnn_bf16_pack_rows: all n columns, so the block at column jc starts at panel jc / TILE). */
typedef struct {
    const bnn_strided_matrix *stored;
    const bnn_conv_operand *convolution;
    const uint16_t *packed;
} b_operand;

/* Columns jc ..< jc + columns of op(B), all k rows, into bf16 panels, straight from the source. */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void pack_b_bf16(const b_operand *operand, long jc, long columns, long k, long steps, uint16_t *packed, long *offsets) {
    const bnn_strided_matrix *stored = operand->stored;
    if (operand->convolution)
        pack_conv_bf16(operand->convolution, jc, columns, k, steps, packed, offsets);
    else if (stored->cs == 1)
        pack_rows_bf16(stored->b, stored->rs, jc, columns, k, steps, packed);
    else
        pack_columns_bf16(stored->b, stored->cs, jc, columns, k, steps, packed);
}

/* C = alpha·op(A)·op(B) + beta·C; 0 (C untouched) without memory. */
__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
static int amx_driver(long m, long n, long k, float alpha, const float *a, long ars, long acs, const b_operand *operand,
                      float beta, float *c, long crs, long ccs) {
    const long steps = round_up(k, TILE) / TILE;
    /* Rows of op(A) and columns of op(B) per converted block, at least one panel each. op(B) is converted
       again for every block of op(A), so op(A)'s blocks are large: for the network's products it is
       converted whole, and op(B) once. */
    long blockRows = A_BLOCK_VALUES / (steps * TILE) / TILE * TILE, blockColumns = B_BLOCK_VALUES / (steps * TILE) / TILE * TILE;
    if (blockRows < TILE) blockRows = TILE;
    if (blockColumns < TILE) blockColumns = TILE;
    if (blockRows > round_up(m, TILE)) blockRows = round_up(m, TILE);
    if (blockColumns > round_up(n, TILE)) blockColumns = round_up(n, TILE);
    /* In floats: bf16 A, bf16 B, one block of C, the convolution's k + 1 offsets, A's used steps (bytes). */
    const size_t aFloats = (size_t)(blockRows * steps * TILE / 2);
    const size_t bFloats = operand->packed ? 0 : (size_t)(blockColumns * steps * TILE / 2); /* packed B is read in place */
    const size_t blockFloats = TILE * TILE, offsetFloats = (size_t)(2 * (k + 1) + 16);
    const size_t usedFloats = (size_t)(blockRows / TILE * steps + 3) / 4;
    float *buffer = bnn_scratch_buffer(aFloats + bFloats + blockFloats + offsetFloats + usedFloats + 64);
    if (!buffer) return 0;
    uint16_t *packedA = (uint16_t *)buffer, *packedB = (uint16_t *)(buffer + aFloats);
    float *block = buffer + aFloats + bFloats;
    long *offsets = (long *)(block + blockFloats);
    uint8_t *used = (uint8_t *)(block + blockFloats + offsetFloats);
    configure_tiles();
    for (long ic = 0; ic < m; ic += blockRows) {
        long rows = m - ic < blockRows ? m - ic : blockRows;
        convert_a(a + ic * ars, ars, acs, rows, k, steps, packedA, used);
        for (long jc = 0; jc < n; jc += blockColumns) {
            long columns = n - jc < blockColumns ? n - jc : blockColumns;
            long panelCount = (columns + TILE - 1) / TILE;
            const uint16_t *panels = packedB;
            if (operand->packed)
                panels = operand->packed + (jc / TILE) * steps * STEP_VALUES;
            else
                pack_b_bf16(operand, jc, columns, k, steps, packedB, offsets);
            for (long ir = 0; ir < rows; ir += TILE)
                for (long q = 0; q < panelCount; q++) {
                    multiply_block(steps, packedA + (ir / TILE) * steps * STEP_VALUES, panels + q * steps * STEP_VALUES,
                                   used + (ir / TILE) * steps, block);
                    long blockRowsHere = rows - ir < TILE ? rows - ir : TILE;
                    long blockColumnsHere = columns - q * TILE < TILE ? columns - q * TILE : TILE;
                    write_block(block, c + (ic + ir) * crs + (jc + q * TILE) * ccs, crs, ccs, alpha, beta, blockRowsHere,
                                blockColumnsHere);
                }
        }
    }
    /* Lets the OS skip saving the tile registers at context switches until the next product. */
    _tile_release();
    return 1;
}

/* ---- The predictive pass of a Bayesian MLP (bnn_fused_sample_mlp_bf16) ---- */

/* μ₂ or σ₂² ([classes …, stride], see bnn_fused_mlp_sample_arguments) as B tiles: for step s, pair row p
   holds hidden units 32s + 2p and 32s + 2p + 1 of class c side by side in column c; zeros past the classes
   and past `hidden`. */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void pack_class_pairs(const float *transposed, long stride, long classes, long hidden, long steps, uint16_t *pairs) {
    float first[HALF], second[HALF];
    for (long s = 0; s < steps; s++)
        for (long p = 0; p < HALF; p++) {
            const long j = s * TILE + 2 * p;
            for (long c = 0; c < HALF; c++) {
                first[c] = c < classes && j < hidden ? transposed[c * stride + j] : 0.0f;
                second[c] = c < classes && j + 1 < hidden ? transposed[c * stride + j + 1] : 0.0f;
            }
            _mm512_storeu_si512((void *)(pairs + (s * HALF + p) * TILE), interleave_bf16(_mm512_loadu_ps(first), _mm512_loadu_ps(second)));
        }
}

/* The 16 × 32 A tiles of h and h² of `count` samples (rows) of one input at hidden units j ..< j + 32 (zeros
   past `hidden`): h = max(mean + deviation·ε, 0) with ε each sample's noise slice. */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static inline void hidden_tiles(const float *mean, const float *deviation, const float *const *noise, long count, long j,
                                long hidden, uint16_t *h, uint16_t *squares) {
    const __mmask16 low = first_lanes(hidden - j), high = first_lanes(hidden - j - HALF);
    const __m512 zero = _mm512_setzero_ps();
    const __m512 mean0 = _mm512_maskz_loadu_ps(low, mean + j), mean1 = _mm512_maskz_loadu_ps(high, mean + j + HALF);
    const __m512 deviation0 = _mm512_maskz_loadu_ps(low, deviation + j), deviation1 = _mm512_maskz_loadu_ps(high, deviation + j + HALF);
    /* mean + deviation·ε rounded as two operations, like the reference (`Predictive.rotatedNoise`): a fused
       multiply-add moves some values across a bf16 rounding boundary. */
    for (long t = 0; t < count; t++) {
        __m512 x0 = _mm512_max_ps(_mm512_add_ps(mean0, _mm512_mul_ps(deviation0, _mm512_maskz_loadu_ps(low, noise[t] + j))), zero);
        __m512 x1 = _mm512_max_ps(_mm512_add_ps(mean1, _mm512_mul_ps(deviation1, _mm512_maskz_loadu_ps(high, noise[t] + j + HALF))), zero);
        _mm512_storeu_si512((void *)(h + t * TILE), to_bf16(x0, x1));
        _mm512_storeu_si512((void *)(squares + t * TILE), to_bf16(_mm512_mul_ps(x0, x0), _mm512_mul_ps(x1, x1)));
    }
}

/*
 * bnn_fused_sample_mlp's rows [firstRow, endRow) with the second layer on AMX, one input and 16 of its
 * samples at a time: per step of 32 hidden units, the samples' h and h² (hidden_tiles, ε as
 * bnn_fused_sample_mlp draws it) are the A tiles, one row per sample; μ₂ and σ₂² (converted once per call)
 * the B tiles; accumulator tiles collect h·μ₂ and h²·σ₂², one row per sample and one column per class.
 * The input's mean and deviation are read once for its 16 samples. The A tiles are computed a chunk of
 * CHUNK steps ahead of their multiplies (a tile load right after the stores of its data waits for them),
 * and even and odd steps sum into separate tiles (two chains of TDPBF16PS, not one), added at the end. 0
 * without memory.
 */
__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
static int amx_sample_mlp(const bnn_fused_mlp_sample_arguments *a, long firstRow, long endRow) {
    enum { CHUNK = 4 };
    const long hidden = a->hidden, steps = round_up(hidden, TILE) / TILE;
    /* In floats: μ₂ and σ₂² as pair rows (16 × 32 bf16 per step), two chunks of CHUNK steps of h and of h², four sum tiles. */
    const size_t weightFloats = (size_t)(steps * STEP_VALUES / 4), chunkFloats = 2 * CHUNK * STEP_VALUES / 4;
    float *buffer = bnn_scratch_buffer(2 * weightFloats + 2 * chunkFloats + 4 * HALF * HALF);
    if (!buffer) return 0;
    uint16_t *muPairs = (uint16_t *)buffer, *variancePairs = (uint16_t *)(buffer + weightFloats);
    uint16_t *h = (uint16_t *)(buffer + 2 * weightFloats), *squares = (uint16_t *)(buffer + 2 * weightFloats + chunkFloats);
    float *sums = buffer + 2 * weightFloats + 2 * chunkFloats; /* mean even, mean odd, variance even, variance odd */
    pack_class_pairs(a->mu_transposed, a->transposed_stride, a->classes, hidden, steps, muPairs);
    pack_class_pairs(a->variance_transposed, a->transposed_stride, a->classes, hidden, steps, variancePairs);
    configure_tiles();
    for (long r = firstRow; r < endRow; r++) {
        const float *mean = a->mean + r * hidden, *deviation = a->deviation + r * hidden;
        for (long s0 = 0; s0 < a->samples; s0 += HALF) {
            const long count = a->samples - s0 < HALF ? a->samples - s0 : HALF;
            const float *noise[HALF], *epsilon[HALF];
            for (long t = 0; t < count; t++) {
                noise[t] = bnn_fused_mlp_hidden_noise(a, s0 + t, r);
                epsilon[t] = bnn_fused_mlp_output_noise(a, s0 + t, r);
            }
            /* A short last group's missing samples stay zero (their sums are not read). */
            if (count < HALF)
                for (long c = 0; c < 2 * CHUNK; c++) {
                    memset(h + c * STEP_VALUES / 2 + count * TILE, 0, (size_t)((HALF - count) * TILE) * sizeof *h);
                    memset(squares + c * STEP_VALUES / 2 + count * TILE, 0, (size_t)((HALF - count) * TILE) * sizeof *squares);
                }
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            /* Software-pipelined: chunk n + 1's tiles are computed before chunk n's are multiplied, so that the
               tile loads read stores made a chunk earlier (a load right after the stores waits for them). */
            for (long chunk = 0; chunk < steps + CHUNK; chunk += CHUNK) {
                if (chunk < steps) {
                    const long half = (chunk / CHUNK) % 2 * CHUNK, stepsHere = steps - chunk < CHUNK ? steps - chunk : CHUNK;
                    for (long c = 0; c < stepsHere; c++)
                        hidden_tiles(mean, deviation, noise, count, (chunk + c) * TILE, hidden, h + (half + c) * STEP_VALUES / 2,
                                     squares + (half + c) * STEP_VALUES / 2);
                }
                if (chunk == 0) continue;
                const long previous = chunk - CHUNK, half = (previous / CHUNK) % 2 * CHUNK;
                const long stepsThere = steps - previous < CHUNK ? steps - previous : CHUNK;
                for (long c = 0; c < stepsThere; c++) {
                    const long s = previous + c;
                    _tile_loadd(4, h + (half + c) * STEP_VALUES / 2, 64);
                    _tile_loadd(5, muPairs + s * STEP_VALUES / 2, 64);
                    _tile_loadd(6, squares + (half + c) * STEP_VALUES / 2, 64);
                    _tile_loadd(7, variancePairs + s * STEP_VALUES / 2, 64);
                    if (s % 2 == 0) {
                        _tile_dpbf16ps(0, 4, 5);
                        _tile_dpbf16ps(2, 6, 7);
                    } else {
                        _tile_dpbf16ps(1, 4, 5);
                        _tile_dpbf16ps(3, 6, 7);
                    }
                }
            }
            _tile_stored(0, sums, HALF * 4);
            _tile_stored(1, sums + HALF * HALF, HALF * 4);
            _tile_stored(2, sums + 2 * HALF * HALF, HALF * 4);
            _tile_stored(3, sums + 3 * HALF * HALF, HALF * 4);
            for (long t = 0; t < count; t++) {
                float *row = sums + t * HALF;
                _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), _mm512_loadu_ps(row + HALF * HALF)));
                _mm512_storeu_ps(row + 2 * HALF * HALF,
                                 _mm512_add_ps(_mm512_loadu_ps(row + 2 * HALF * HALF), _mm512_loadu_ps(row + 3 * HALF * HALF)));
            }
            bnn_fused_mlp_write_probabilities(a, s0, count, r, sums, sums + 2 * HALF * HALF, HALF, epsilon);
        }
    }
    _tile_release();
    return 1;
}
#endif

enum { BF16_MINIMUM_DEPTH = 16 };

void bnn_sgemm_bf16(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {
#if BNN_HAS_AMX_CODE
    /* A product shallower than half a tile step wastes most of TDPBF16PS's 32-deep sums on zeros: the fp32
       kernels are faster there (measured in docs/performance.md, round six). */
    if (m > 0 && n > 0 && k >= BF16_MINIMUM_DEPTH && alpha != 0.0f && bnn_bf16_available()) {
        long ars = transposeA ? 1 : lda, acs = transposeA ? lda : 1;
        bnn_strided_matrix matrixB = {b, transposeB ? 1 : ldb, transposeB ? ldb : 1};
        b_operand operand = {&matrixB, NULL, NULL};
        if (amx_driver(m, n, k, alpha, a, ars, acs, &operand, beta, c, ldc, 1)) return;
    }
#endif
    bnn_sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int bnn_sgemm_convolution_bf16(long m, long n, long k, const float *a, long lda, const bnn_conv_columns *x,
                               long first_column, float *c, long ldc) {
#if BNN_HAS_AMX_CODE
    if (m > 0 && n > 0 && k >= BF16_MINIMUM_DEPTH && bnn_bf16_available() && bnn_conv_geometry_fits(x, k)) {
        bnn_conv_operand convolution = {x, first_column};
        b_operand operand = {NULL, &convolution, NULL};
        if (amx_driver(m, n, k, 1.0f, a, lda, 1, &operand, 0.0f, c, ldc, 1)) return 1;
    }
#endif
    return bnn_sgemm_convolution(m, n, k, a, lda, x, first_column, c, ldc);
}

long bnn_bf16_packed_length(long k, long n) {
#if BNN_HAS_AMX_CODE
    if (k > 0 && n > 0) return round_up(n, TILE) / TILE * (round_up(k, TILE) / TILE) * STEP_VALUES;
#endif
    return 0;
}

int bnn_bf16_pack_rows(const float *b, long ldb, long k, long n, uint16_t *packed) {
#if BNN_HAS_AMX_CODE
    if (k >= BF16_MINIMUM_DEPTH && n > 0 && bnn_bf16_available()) {
        pack_rows_bf16(b, ldb, 0, n, k, round_up(k, TILE) / TILE, packed);
        return 1;
    }
#endif
    return 0;
}

int bnn_sgemm_bf16_packed(long m, long n, long k, const float *a, long lda, const uint16_t *packed, float *c, long ldc) {
#if BNN_HAS_AMX_CODE
    if (m > 0 && n > 0 && k >= BF16_MINIMUM_DEPTH && bnn_bf16_available()) {
        b_operand operand = {NULL, NULL, packed};
        return amx_driver(m, n, k, 1.0f, a, lda, 1, &operand, 0.0f, c, ldc, 1);
    }
#endif
    return 0;
}

void bnn_fused_sample_mlp_bf16(const bnn_fused_mlp_sample_arguments *arguments, long first_row, long end_row) {
    if (end_row <= first_row) return;
#if BNN_HAS_AMX_CODE
    if (arguments->hidden >= BF16_MINIMUM_DEPTH && arguments->classes <= HALF && bnn_bf16_available()
        && amx_sample_mlp(arguments, first_row, end_row))
        return;
#endif
    bnn_fused_sample_mlp(arguments, first_row, end_row);
}

void bnn_sgemm_bf16_micro_tile(int *mr, int *nr) {
    if (bnn_bf16_available()) {
        *mr = 32;
        *nr = 32;
    } else {
        bnn_sgemm_micro_tile(mr, nr);
    }
}
