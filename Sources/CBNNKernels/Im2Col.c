/*
 * im2col for stride-1 convolutions, one (example, channel) plane at a time: the plane is copied once into
 * a zero-padded buffer, after which every row of the column matrix is a run of whole rows of that buffer,
 * copied without bounds checks (as masked vector moves on AVX-512).
 */
#include "CBNNKernels.h"
#include "KernelDispatch.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*copy_run)(float *dst, const float *src, long count);

/* Row i·k + j of the column matrix, window row oh: the padded plane's row oh + i from column j on. Inlined
   into each instruction set's caller with its own `copy`. */
static inline __attribute__((always_inline)) void write_rows(const float *padded, long paddedWidth, long k, long outputHeight,
                                                              long outputWidth, float *rows, long leading, copy_run copy) {
    for (long i = 0; i < k; i++)
        for (long j = 0; j < k; j++) {
            float *row = rows + (i * k + j) * leading;
            for (long oh = 0; oh < outputHeight; oh++)
                copy(row + oh * outputWidth, padded + (oh + i) * paddedWidth + j, outputWidth);
        }
}

/* dst[0..<count] = src[0..<count]. */
static inline void copy_run_plain(float *dst, const float *src, long count) { memcpy(dst, src, (size_t)count * sizeof(float)); }

static void rows_plain(const float *padded, long paddedWidth, long k, long outputHeight, long outputWidth, float *rows,
                       long leading) {
    write_rows(padded, paddedWidth, k, outputHeight, outputWidth, rows, leading, copy_run_plain);
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static inline void copy_run_avx512(float *dst, const float *src, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        _mm512_mask_storeu_ps(dst + i, mask, _mm512_maskz_loadu_ps(mask, src + i));
    }
}

__attribute__((target("avx512f")))
static void rows_avx512(const float *padded, long paddedWidth, long k, long outputHeight, long outputWidth, float *rows,
                        long leading) {
    write_rows(padded, paddedWidth, k, outputHeight, outputWidth, rows, leading, copy_run_avx512);
}
#endif

int bnn_im2col_plane_stride1(const float *plane, long height, long width, long k, long padding, float *rows, long leading) {
    long outputHeight = height + 2 * padding - k + 1, outputWidth = width + 2 * padding - k + 1;
    if (k <= 0 || padding < 0 || padding >= k || outputHeight <= 0 || outputWidth <= 0) return 0;
    /* The padded plane: rows oh + i and columns ow + j for every window position and offset. */
    long paddedHeight = height + 2 * padding, paddedWidth = width + 2 * padding;
    long size = paddedHeight * paddedWidth;
    enum { STACK_FLOATS = 8192 };
    float stackBuffer[STACK_FLOATS];
    float *padded = size <= STACK_FLOATS ? stackBuffer : malloc((size_t)size * sizeof(float));
    if (!padded) return 0;
    memset(padded, 0, (size_t)size * sizeof(float));
    for (long h = 0; h < height; h++) memcpy(padded + (h + padding) * paddedWidth + padding, plane + h * width, (size_t)width * sizeof(float));
#if defined(__x86_64__)
    if (bnn_isa_level() == BNN_ISA_AVX512) rows_avx512(padded, paddedWidth, k, outputHeight, outputWidth, rows, leading);
    else
#endif
        rows_plain(padded, paddedWidth, k, outputHeight, outputWidth, rows, leading);
    if (padded != stackBuffer) free(padded);
    return 1;
}
