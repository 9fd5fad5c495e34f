/*
 * Instantiates VectorMathBody.h for AVX-512, AVX2 and a plain variant, and dispatches once at run time.
 * The package may not pass compiler flags (no unsafeFlags), so the fast variants are enabled per
 * function with target attributes; the plain variant is compiled for the baseline CPU.
 */
#include "CBNNKernels.h"
#include "KernelDispatch.h"
#include <stdint.h>

#if defined(__x86_64__)
#define BNN_WIDTH 16
#define BNN_ATTR __attribute__((target("avx512f,fma")))
#define BNN_NAME(x) x##_avx512
#include "VectorMathBody.h"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME

#define BNN_WIDTH 8
#define BNN_ATTR __attribute__((target("avx2,fma")))
#define BNN_NAME(x) x##_avx2
#include "VectorMathBody.h"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME
#endif

#define BNN_WIDTH 4
#define BNN_ATTR
#define BNN_NAME(x) x##_plain
#include "VectorMathBody.h"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME

#define BNN_DISPATCH(name, ...) BNN_DISPATCH_TO(name##_avx512, name##_avx2, name##_plain, __VA_ARGS__)

void bnn_vexp(const float *source, float *destination, long count) { BNN_DISPATCH(vexp, source, destination, count) }
void bnn_vlog(const float *source, float *destination, long count) { BNN_DISPATCH(vlog, source, destination, count) }
void bnn_vlog1p(const float *source, float *destination, long count) { BNN_DISPATCH(vlog1p, source, destination, count) }
void bnn_vsoftplus(const float *source, float *destination, long count) { BNN_DISPATCH(vsoftplus, source, destination, count) }
void bnn_vsigmoid(const float *source, float *destination, long count) { BNN_DISPATCH(vsigmoid, source, destination, count) }

void bnn_normal_fill(float *destination, long start, long count, uint64_t key, float mean, float standardDeviation) {
    BNN_DISPATCH(normal_fill, destination, start, count, key, mean, standardDeviation)
}

long bnn_noise_offset(uint64_t key, long identity, long count) {
    const uint32_t counter[4] = {(uint32_t)identity, (uint32_t)((uint64_t)identity >> 32), 0, 0x80000000u};
    const uint32_t words[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
    uint32_t output[4];
    bnn_philox4x32_10(counter, words, output);
    return (long)(((uint64_t)output[0] * (uint64_t)count) >> 32);
}

void bnn_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t output[4]) {
    /* Scalar reference of the same rounds, for known-answer tests of the vector code path. */
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    output[0] = c0;
    output[1] = c1;
    output[2] = c2;
    output[3] = c3;
}
