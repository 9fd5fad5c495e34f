/*
 * An ascending sort of at most 128 floats held in AVX-512 registers: a bitonic sorting network (Batcher
 * 1968), each register sorted in place and then runs of 16, 32 and 64 merged. The summary of a predictive
 * distribution needs a few order statistics of each class's ~100 sampled probabilities; a branch-free
 * network over 8 registers does that several times faster than a quickselect through memory.
 */
#include "CBNNKernels.h"
#include "KernelDispatch.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define BNN_SORT_ATTR __attribute__((target("avx512f"), always_inline)) static inline

/* Lane i's partner is i ^ distance. Distances 1 and 2 stay within 128-bit lanes, 4 and 8 swap them. */
#define BNN_PARTNER_1(v) _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1))
#define BNN_PARTNER_2(v) _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2))
#define BNN_PARTNER_4(v) _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1))
#define BNN_PARTNER_8(v) _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2))

/* The lanes i with (i & distance) != 0, for distance 1, 2, 4, 8. */
enum { BNN_LANES_1 = 0xAAAA, BNN_LANES_2 = 0xCCCC, BNN_LANES_4 = 0xF0F0, BNN_LANES_8 = 0xFF00 };

/* One compare-exchange step over the lane pairs (i, i ^ distance): the lanes in `upper` keep the larger. */
#define BNN_EXCHANGE(v, distance, upper)                                                              \
    do {                                                                                              \
        const __m512 partner_ = BNN_PARTNER_##distance(v);                                            \
        v = _mm512_mask_max_ps(_mm512_min_ps(v, partner_), (__mmask16)(upper), v, partner_);         \
    } while (0)

/* Sorts a bitonic register ascending: half-cleaners at distances 8, 4, 2, 1. */
BNN_SORT_ATTR __m512 merge_register(__m512 v) {
    BNN_EXCHANGE(v, 8, BNN_LANES_8);
    BNN_EXCHANGE(v, 4, BNN_LANES_4);
    BNN_EXCHANGE(v, 2, BNN_LANES_2);
    BNN_EXCHANGE(v, 1, BNN_LANES_1);
    return v;
}

/* Sorts one register ascending: sorted blocks of 2, 4, 8, then 16 lanes. Within a block of b lanes being
   built, the lanes with (i & b) != 0 sort descending, so that neighbouring blocks form bitonic sequences. */
BNN_SORT_ATTR __m512 sort_register(__m512 v) {
    BNN_EXCHANGE(v, 1, BNN_LANES_1 ^ BNN_LANES_2);
    BNN_EXCHANGE(v, 2, BNN_LANES_2 ^ BNN_LANES_4);
    BNN_EXCHANGE(v, 1, BNN_LANES_1 ^ BNN_LANES_4);
    BNN_EXCHANGE(v, 4, BNN_LANES_4 ^ BNN_LANES_8);
    BNN_EXCHANGE(v, 2, BNN_LANES_2 ^ BNN_LANES_8);
    BNN_EXCHANGE(v, 1, BNN_LANES_1 ^ BNN_LANES_8);
    return merge_register(v);
}

BNN_SORT_ATTR __m512 reversed(__m512 v) {
    const __m512i backwards = _mm512_set_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_permutexvar_ps(backwards, v);
}

/* Merges the sorted runs r[0 ..< run] and r[run ..< 2·run] (registers) into one sorted run. The second run
   read backwards makes the whole a bitonic sequence; its half-cleaner compares element e with element
   e + 16·run, i.e. register i with the reversed register 2·run − 1 − i. Each half is then bitonic and is
   sorted by half-cleaners across registers (same lane, register distance run/2 … 1), then within each
   register. `run` is a constant after inlining, so every loop unrolls. */
BNN_SORT_ATTR void merge_runs(__m512 *r, const int run) {
    __m512 backwards[4];
    for (int i = 0; i < run; i++) backwards[i] = reversed(r[2 * run - 1 - i]);
    for (int i = 0; i < run; i++) {
        const __m512 a = r[i];
        r[i] = _mm512_min_ps(a, backwards[i]);
        r[run + i] = _mm512_max_ps(a, backwards[i]);
    }
    for (int distance = run / 2; distance >= 1; distance /= 2) {
        for (int i = 0; i < 2 * run; i++) {
            if (i & distance) continue;
            const __m512 low = r[i], high = r[i + distance];
            r[i] = _mm512_min_ps(low, high);
            r[i + distance] = _mm512_max_ps(low, high);
        }
    }
    for (int i = 0; i < 2 * run; i++) r[i] = merge_register(r[i]);
}

/* Sorts `registers` (1, 2, 4 or 8; a constant after inlining) registers as one ascending sequence. */
BNN_SORT_ATTR void sort_registers(__m512 *r, const int registers) {
    for (int i = 0; i < registers; i++) r[i] = sort_register(r[i]);
    for (int run = 1; run < registers; run *= 2) {
        for (int first = 0; first < registers; first += 2 * run) merge_runs(r + first, run);
    }
}

/* The lanes of register `index` that hold one of `count` values. */
static inline __mmask16 present_lanes(long count, int index) {
    const long left = count - 16L * index;
    return left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
}

__attribute__((target("avx512f"))) static int sort_avx512(float *values, long count) {
    const __m512 padding = _mm512_set1_ps(__builtin_inff()); /* sorts after every value, +∞ included */
    __m512 r[8];
    __mmask16 unordered = 0;
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_mask_loadu_ps(padding, present_lanes(count, i), values + 16 * i);
        unordered |= _mm512_cmp_ps_mask(r[i], r[i], _CMP_UNORD_Q);
    }
    if (unordered) return 0; /* NaN has no place in an ascending order: the caller sorts another way */
    if (count <= 16) sort_registers(r, 1);
    else if (count <= 32) sort_registers(r, 2);
    else if (count <= 64) sort_registers(r, 4);
    else sort_registers(r, 8);
    for (int i = 0; 16L * i < count; i++) _mm512_mask_storeu_ps(values + 16 * i, present_lanes(count, i), r[i]);
    return 1;
}
#endif

int bnn_sort_small(float *values, long count) {
    if (count <= 1) return count >= 0;
    if (count > 16 * 8) return 0;
#if defined(__x86_64__)
    if (bnn_isa_level() == BNN_ISA_AVX512) return sort_avx512(values, count);
#endif
    return 0;
}
