/* What the fp32 driver (GEMM.c) shares with the bf16 AMX driver (AMXGEMM.c): operand descriptions and scratch space. */
#ifndef BNN_GEMM_PACKING_H
#define BNN_GEMM_PACKING_H
#include "CBNNKernels.h"
#include <stddef.h>

/* op(B) stored in memory: op(B)[p, j] = b[p·rs + j·cs]. */
typedef struct {
    const float *b;
    long rs, cs;
} bnn_strided_matrix;

/* The convolution's columns from `first_column` on: column j of the operand is column first_column + j of X. */
typedef struct {
    const bnn_conv_columns *x;
    long first_column;
} bnn_conv_operand;

/* This thread's packing buffer of at least `floats` floats, 64-byte aligned, kept between calls; NULL
   without memory. One buffer per thread: a caller must not hold it across another driver's call. */
float *bnn_scratch_buffer(size_t floats);

#endif
