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

/* Whether X's description is consistent: k = channels·kernel², planes large enough for the output. */
int bnn_conv_geometry_fits(const bnn_conv_columns *x, long k);

/* offsets[p] = where patch row p0 + p (= (c·k + i)·k + j) reads in an example's padded planes, c·plane + i·pW + j,
   for p < kc. */
void bnn_conv_patch_offsets(const bnn_conv_columns *x, long p0, long kc, long *offsets);

/*
 * A walk over the operand's columns j0 ..< j0 + nc in runs: one output row's positions of one example, so
 * that the run reads consecutive values of every padded plane row, cut where a panel of `panelWidth`
 * columns ends and at 16 columns.
 */
typedef struct {
    const bnn_conv_columns *x;
    long next, end;        /* the next run's first column (counted from j0), and nc */
    long example, oh, ow;  /* where the next run starts in the output */
    int panelWidth;
} bnn_conv_runs;

void bnn_conv_runs_start(bnn_conv_runs *runs, const bnn_conv_operand *operand, long j0, long nc, int panelWidth);

/* The next run: its length (0 when the walk is over), its first column (from j0) and where it reads patch
   row p: source + offsets[p]. */
long bnn_conv_runs_next(bnn_conv_runs *runs, long *column, const float **source);

/* This thread's packing buffer of at least `floats` floats, 64-byte aligned, kept between calls; NULL
   without memory. One buffer per thread: a caller must not hold it across another driver's call. */
float *bnn_scratch_buffer(size_t floats);

#endif
