/*
 * Fused element-wise passes of Bayesian layers: the whole per-step parameter update of a mean-field
 * Normal posterior (KL gradient, chain rule to ρ, Adam, refresh of σ/σ²) in one pass, the output noise of
 * the local reparameterisation, the first layer's moments for mostly-zero inputs, and the per-sample
 * part of the 100-sample predictive pass of a Bayesian MLP. Separate passes over the 803K-weight layer
 * were memory-bound (each reads and writes 3 MB arrays); fusing them reads and writes each array once
 * per step.
 *
 * Like VectorMath.c, each kernel is written once with vector extensions and instantiated per
 * instruction set (AVX-512, AVX2, plain) with target attributes chosen at run time, because the
 * package may not pass compiler flags. The bodies reuse the polynomials of VectorMathBody.h (included
 * once per instruction set next to them), so σ = softplus(ρ) here is bit-for-bit the σ that
 * `VectorMath.softplus` computes, and the Normal draws are the same stream as `bnn_normal_fill`.
 *
 * This file includes itself once per instruction set: the part after `#else` below is the kernel body,
 * compiled with BNN_WIDTH / BNN_ATTR / BNN_NAME set as VectorMathBody.h documents.
 */
#ifndef BNN_FUSED_BODY

#include "CBNNKernels.h"
#include "FusedMLP.h"
#include "KernelDispatch.h"
#include <stdint.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define BNN_FUSED_BODY
/* bnn_sparse_moments: rows per block of non-zero lists. */
#define BNN_SPARSE_ROW_BLOCK 256
/* VectorMathBody.h also defines the whole-buffer kernels (vexp, …) that this file does not use. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"

#if defined(__x86_64__)
#define BNN_WIDTH 16
#define BNN_ATTR __attribute__((target("avx512f,fma")))
#define BNN_NAME(x) x##_fused_avx512
#include "VectorMathBody.h"
#include "FusedKernels.c"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME

#define BNN_WIDTH 8
#define BNN_ATTR __attribute__((target("avx2,fma")))
#define BNN_NAME(x) x##_fused_avx2
#include "VectorMathBody.h"
#include "FusedKernels.c"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME
#endif

#define BNN_WIDTH 4
#define BNN_ATTR
#define BNN_NAME(x) x##_fused_plain
#include "VectorMathBody.h"
#include "FusedKernels.c"
#undef BNN_WIDTH
#undef BNN_ATTR
#undef BNN_NAME

#pragma clang diagnostic pop

#define BNN_FUSED_DISPATCH(name, ...) \
    BNN_DISPATCH_TO(name##_fused_avx512, name##_fused_avx2, name##_fused_plain, __VA_ARGS__)

/* Adam with subnormal values taken as zero (x86: MXCSR's DAZ and FTZ bits, restored afterwards). Weights
   that only the prior moves converge to it, their gradients and Adam's moments sink below 10⁻³⁸, and
   every operation on such a value takes a slow microcode assist. A moment that small moves no weight
   (the step is m/(√v + ε̂) with ε̂ ≈ 10⁻⁸). */
void bnn_fused_bayes_adam(const bnn_fused_adam_arguments *arguments, long start, long end) {
    if (end <= start) return;
#if defined(__x86_64__)
    unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
#endif
    BNN_FUSED_DISPATCH(bayes_adam, arguments, start, end)
#if defined(__x86_64__)
    _mm_setcsr(saved);
#endif
}

void bnn_fused_refresh(const float *rho, float *sigma, float *variance, float *sigmoid, long count) {
    if (count <= 0) return;
    BNN_FUSED_DISPATCH(refresh, rho, sigma, variance, sigmoid, count)
}

void bnn_fused_local_output(const float *mean, float *deviation, const float *bias_mu, const float *bias_variance,
                            const float *noise, float *output, long rows, long columns) {
    if (rows <= 0 || columns <= 0) return;
    BNN_FUSED_DISPATCH(local_output, mean, deviation, bias_mu, bias_variance, noise, output, rows, columns)
}

void bnn_fused_sample_weights(const float *mu, const float *sigma, float *noise, float *weight, long start, long count,
                              uint64_t key) {
    if (count <= 0) return;
    BNN_FUSED_DISPATCH(sample_weights, mu, sigma, noise, weight, start, count, key)
}

void bnn_sparse_moments(const float *x, long rows, long k, const float *mu, const float *variance, const float *panel,
                        long n, const float *bias_mu, const float *bias_variance, float *mean, float *deviation) {
    if (rows <= 0 || n <= 0) return;
    BNN_FUSED_DISPATCH(sparse_moments, x, rows, k, mu, variance, panel, n, bias_mu, bias_variance, mean, deviation)
}

long bnn_sparse_panel_length(long k, long n) { return n / BNN_SPARSE_PANEL_COLUMNS * k * 2 * BNN_SPARSE_PANEL_COLUMNS; }

void bnn_sparse_pack_panel(const float *mu, const float *variance, long k, long n, float *panel, long first_block,
                           long end_block) {
    enum { C = BNN_SPARSE_PANEL_COLUMNS };
    for (long block = first_block; block < end_block; block++)
        for (long p = 0; p < k; p++) {
            float *row = panel + (block * k + p) * 2 * C;
            __builtin_memcpy(row, mu + p * n + block * C, sizeof(float) * C);
            __builtin_memcpy(row + C, variance + p * n + block * C, sizeof(float) * C);
        }
}

void bnn_fused_sample_mlp(const bnn_fused_mlp_sample_arguments *arguments, long first_row, long end_row) {
    if (end_row <= first_row) return;
    BNN_FUSED_DISPATCH(sample_mlp, arguments, first_row, end_row)
}

void bnn_fused_mlp_write_probabilities(const bnn_fused_mlp_sample_arguments *arguments, long first_sample, long count, long row,
                                       const float *sum_mean, const float *sum_variance, long stride, const float *const *epsilon) {
    BNN_FUSED_DISPATCH(row_probabilities, arguments, first_sample, count, row, sum_mean, sum_variance, stride, epsilon)
}

void bnn_sparse_transposed_product(const float *x, long rows, long k, const float *g, float *c, const float *g_squared,
                                   float *c_squared, long n, long first_column, long end_column) {
    if (k <= 0 || end_column <= first_column) return;
    BNN_FUSED_DISPATCH(sparse_transposed_product, x, rows, k, g, c, g_squared, c_squared, n, first_column, end_column)
}

#else /* ------------------------------------------------------------------ body, once per instruction set */

#define VF BNN_NAME(vf)
#define VI BNN_NAME(vi)
#define BNN_INLINE static inline __attribute__((always_inline)) BNN_ATTR

/* bnn_sparse_moments: vectors per column block and rows per group. Their 2·V·R accumulators must stay in
   registers: 16 of AVX-512's 32; with 16 registers (AVX2, SSE) two vectors per block spilled on every entry. */
#define BNN_SPARSE_VECTORS 2
#if BNN_WIDTH == 16
#define BNN_SPARSE_ROWS 4
#else
#define BNN_SPARSE_ROWS 2
#endif

/*
 * One Adam step of μ and ρ for BNN_WIDTH weights, with the data gradients turned into full gradients
 * first (see bnn_fused_adam_arguments in CBNNKernels.h). The expressions follow the unfused Swift code
 * term for term (same association), so the two agree to rounding (FMA contraction aside).
 */
BNN_INLINE void BNN_NAME(adam_lanes)(const bnn_fused_adam_arguments *a, VF mu, VF rho, VF muGradient, VF source,
                                     VF stored, VF *muM, VF *muV, VF *rhoM, VF *rhoV, VF *newMu, VF *newRho,
                                     VF *newSigma) {
    /* σ of the current ρ: from the refreshed σ or σ² when the caller says it is current (the previous step
       wrote it; the write-back of the new value reads that cache line anyway), else softplus(ρ). */
    VF sigma;
    if (a->stored_sigma_is_current && a->sigma) sigma = stored;
    else if (a->stored_sigma_is_current && a->variance) sigma = __builtin_elementwise_sqrt(stored);
    else sigma = BNN_NAME(softplus_op)(rho);
    VF sigmoid = BNN_NAME(sigmoid_op)(rho);
    /* Chain rule to ρ: dσ/dρ = sigmoid(ρ), dσ²/dρ = 2σ·sigmoid(ρ). */
    VF rhoGradient;
    switch (a->rho_gradient_form) {
    case BNN_RHO_GRADIENT_OF_VARIANCE: rhoGradient = source * (2.0f * sigma * sigmoid); break;
    case BNN_RHO_GRADIENT_FROM_NOISE: rhoGradient = muGradient * source * sigmoid; break;
    case BNN_RHO_GRADIENT_OF_SIGMA: rhoGradient = source * sigmoid; break;
    default: rhoGradient = source; break;
    }
    /* KL(N(μ, σ²) ‖ N(0, s²)): ∂/∂μ = μ/s², ∂/∂ρ = (σ/s² − 1/σ)·sigmoid(ρ); scaled by κ. */
    VF gm = muGradient + a->kl_scale * mu * a->inverse_prior_variance;
    VF gr = rhoGradient + a->kl_scale * (sigma * a->inverse_prior_variance - 1.0f / sigma) * sigmoid;
    /* Adam (Kingma & Ba 2015) with the bias corrections folded into step_size and epsilon_hat. */
    const float c1 = 1.0f - a->beta1, c2 = 1.0f - a->beta2;
    VF m = a->beta1 * *muM + c1 * gm;
    VF v = a->beta2 * *muV + c2 * gm * gm;
    *muM = m;
    *muV = v;
    *newMu = mu - a->step_size * m / (__builtin_elementwise_sqrt(v) + a->epsilon_hat);
    m = a->beta1 * *rhoM + c1 * gr;
    v = a->beta2 * *rhoV + c2 * gr * gr;
    *rhoM = m;
    *rhoV = v;
    *newRho = rho - a->step_size * m / (__builtin_elementwise_sqrt(v) + a->epsilon_hat);
    *newSigma = BNN_NAME(softplus_op)(*newRho);
}

/* Where element i's μ lies in the step's packed panel (bnn_sparse_pack_panel's layout; its σ² lies
   BNN_SPARSE_PANEL_COLUMNS floats on), or NULL for a column past the last whole block. */
BNN_INLINE float *BNN_NAME(panel_place)(const bnn_fused_adam_arguments *a, long i) {
    enum { C = BNN_SPARSE_PANEL_COLUMNS };
    const long n = a->panel_columns, p = i / n, j = i % n;
    return j < n / C * C ? a->panel + (j / C * a->panel_rows + p) * 2 * C + j % C : 0;
}

BNN_ATTR static void BNN_NAME(bayes_adam)(const bnn_fused_adam_arguments *a, long start, long end) {
    enum { C = BNN_SPARSE_PANEL_COLUMNS };
    const int panel = a->panel && a->variance;
    /* A whole vector lies in one packed block when the row length is a multiple of the vector width. */
    const int panelVectors = panel && a->panel_columns % BNN_WIDTH == 0;
    long i = start;
    for (; i + BNN_WIDTH <= end; i += BNN_WIDTH) {
        VF muM = BNN_NAME(load)(a->mu_m + i), muV = BNN_NAME(load)(a->mu_v + i);
        VF rhoM = BNN_NAME(load)(a->rho_m + i), rhoV = BNN_NAME(load)(a->rho_v + i);
        VF source = a->rho_source ? BNN_NAME(load)(a->rho_source + i) : (VF){};
        VF stored = a->sigma ? BNN_NAME(load)(a->sigma + i) : a->variance ? BNN_NAME(load)(a->variance + i) : (VF){};
        VF newMu, newRho, newSigma;
        BNN_NAME(adam_lanes)(a, BNN_NAME(load)(a->mu + i), BNN_NAME(load)(a->rho + i), BNN_NAME(load)(a->mu_gradient + i),
                             source, stored, &muM, &muV, &rhoM, &rhoV, &newMu, &newRho, &newSigma);
        BNN_NAME(store)(a->mu_m + i, muM);
        BNN_NAME(store)(a->mu_v + i, muV);
        BNN_NAME(store)(a->rho_m + i, rhoM);
        BNN_NAME(store)(a->rho_v + i, rhoV);
        BNN_NAME(store)(a->mu + i, newMu);
        BNN_NAME(store)(a->rho + i, newRho);
        if (a->sigma) BNN_NAME(store)(a->sigma + i, newSigma);
        if (a->variance) BNN_NAME(store)(a->variance + i, newSigma * newSigma);
        if (panelVectors) {
            float *place = BNN_NAME(panel_place)(a, i);
            if (place) {
                BNN_NAME(store)(place, newMu);
                BNN_NAME(store)(place + C, newSigma * newSigma);
            }
        } else if (panel) {
            float muLanes[BNN_WIDTH], sigmaLanes[BNN_WIDTH];
            BNN_NAME(store)(muLanes, newMu);
            BNN_NAME(store)(sigmaLanes, newSigma);
            for (int l = 0; l < BNN_WIDTH; l++) {
                float *place = BNN_NAME(panel_place)(a, i + l);
                if (place) {
                    place[0] = muLanes[l];
                    place[C] = sigmaLanes[l] * sigmaLanes[l];
                }
            }
        }
    }
    if (i < end) {
        /* The tail goes through padded lanes; padding values are harmless (σ > 0, v ≥ 0). */
        float lanes[11][BNN_WIDTH];
        long n = end - i;
        for (int l = 0; l < BNN_WIDTH; l++) {
            int inside = l < n;
            lanes[0][l] = inside ? a->mu[i + l] : 0.0f;
            lanes[1][l] = inside ? a->rho[i + l] : 0.0f;
            lanes[2][l] = inside ? a->mu_gradient[i + l] : 0.0f;
            lanes[3][l] = inside && a->rho_source ? a->rho_source[i + l] : 0.0f;
            lanes[4][l] = inside ? a->mu_m[i + l] : 0.0f;
            lanes[5][l] = inside ? a->mu_v[i + l] : 0.0f;
            lanes[6][l] = inside ? a->rho_m[i + l] : 0.0f;
            lanes[7][l] = inside ? a->rho_v[i + l] : 0.0f;
            lanes[10][l] = !inside ? 1.0f : a->sigma ? a->sigma[i + l] : a->variance ? a->variance[i + l] : 1.0f;
        }
        VF muM = BNN_NAME(load)(lanes[4]), muV = BNN_NAME(load)(lanes[5]);
        VF rhoM = BNN_NAME(load)(lanes[6]), rhoV = BNN_NAME(load)(lanes[7]);
        VF newMu, newRho, newSigma;
        BNN_NAME(adam_lanes)(a, BNN_NAME(load)(lanes[0]), BNN_NAME(load)(lanes[1]), BNN_NAME(load)(lanes[2]),
                             BNN_NAME(load)(lanes[3]), BNN_NAME(load)(lanes[10]), &muM, &muV, &rhoM, &rhoV, &newMu,
                             &newRho, &newSigma);
        BNN_NAME(store)(lanes[4], muM);
        BNN_NAME(store)(lanes[5], muV);
        BNN_NAME(store)(lanes[6], rhoM);
        BNN_NAME(store)(lanes[7], rhoV);
        BNN_NAME(store)(lanes[8], newMu);
        BNN_NAME(store)(lanes[9], newRho);
        BNN_NAME(store)(lanes[10], newSigma);
        for (long l = 0; l < n; l++) {
            a->mu_m[i + l] = lanes[4][l];
            a->mu_v[i + l] = lanes[5][l];
            a->rho_m[i + l] = lanes[6][l];
            a->rho_v[i + l] = lanes[7][l];
            a->mu[i + l] = lanes[8][l];
            a->rho[i + l] = lanes[9][l];
            if (a->sigma) a->sigma[i + l] = lanes[10][l];
            if (a->variance) a->variance[i + l] = lanes[10][l] * lanes[10][l];
            float *place = panel ? BNN_NAME(panel_place)(a, i + l) : 0;
            if (place) {
                place[0] = lanes[8][l];
                place[C] = lanes[10][l] * lanes[10][l];
            }
        }
    }
}

BNN_INLINE void BNN_NAME(refresh_lanes)(VF rho, float *sigma, float *variance, float *sigmoid) {
    VF s = BNN_NAME(softplus_op)(rho);
    if (sigma) BNN_NAME(store)(sigma, s);
    if (variance) BNN_NAME(store)(variance, s * s);
    if (sigmoid) BNN_NAME(store)(sigmoid, BNN_NAME(sigmoid_op)(rho));
}

BNN_ATTR static void BNN_NAME(refresh)(const float *rho, float *sigma, float *variance, float *sigmoid, long count) {
    long i = 0;
    for (; i + BNN_WIDTH <= count; i += BNN_WIDTH)
        BNN_NAME(refresh_lanes)(BNN_NAME(load)(rho + i), sigma ? sigma + i : 0, variance ? variance + i : 0,
                                sigmoid ? sigmoid + i : 0);
    if (i < count) {
        float lanes[4][BNN_WIDTH];
        for (int l = 0; l < BNN_WIDTH; l++) lanes[0][l] = i + l < count ? rho[i + l] : 0.0f;
        BNN_NAME(refresh_lanes)(BNN_NAME(load)(lanes[0]), lanes[1], lanes[2], lanes[3]);
        for (long l = 0; i + l < count; l++) {
            if (sigma) sigma[i + l] = lanes[1][l];
            if (variance) variance[i + l] = lanes[2][l];
            if (sigmoid) sigmoid[i + l] = lanes[3][l];
        }
    }
}

/* output = (mean + μ_b) + sqrt(v + σ_b²)·ε row by row, keeping the standard deviation for backward. */
BNN_ATTR static void BNN_NAME(local_output)(const float *mean, float *deviation, const float *biasMu,
                                            const float *biasVariance, const float *noise, float *output,
                                            long rows, long columns) {
    for (long r = 0; r < rows; r++) {
        const float *m = mean + r * columns, *e = noise + r * columns;
        float *d = deviation + r * columns, *o = output + r * columns;
        long c = 0;
        for (; c + BNN_WIDTH <= columns; c += BNN_WIDTH) {
            VF s = __builtin_elementwise_sqrt(BNN_NAME(load)(d + c) + BNN_NAME(load)(biasVariance + c));
            BNN_NAME(store)(d + c, s);
            BNN_NAME(store)(o + c, (BNN_NAME(load)(m + c) + BNN_NAME(load)(biasMu + c)) + s * BNN_NAME(load)(e + c));
        }
        for (; c < columns; c++) {
            float s = __builtin_sqrtf(d[c] + biasVariance[c]);
            d[c] = s;
            o[c] = (m[c] + biasMu[c]) + s * e[c];
        }
    }
}

/*
 * W = μ + σ⊙ε for elements [start, start + count), ε[i] = z_key(i) written to noise[i] as well (backward
 * needs it). Drawn in blocks of 1024 that are used while still in L1, instead of a second pass.
 */
BNN_ATTR static void BNN_NAME(sample_weights)(const float *mu, const float *sigma, float *noise, float *weight,
                                              long start, long count, uint64_t key) {
    /* μ + σ·ε rounded as two operations, not one fused multiply-add: the same values as the Swift
       expression it replaces (`Elementwise.affineNoise`), so that sampled networks do not depend on it. */
#pragma clang fp contract(off)
    enum { BLOCK = 1024 };
    for (long first = start; first < start + count; first += BLOCK) {
        long n = start + count - first < BLOCK ? start + count - first : BLOCK;
        BNN_NAME(normal_fill)(noise + first, first, n, key, 0.0f, 1.0f);
        long i = first;
        if (!mu) {
            for (; i + BNN_WIDTH <= first + n; i += BNN_WIDTH)
                BNN_NAME(store)(weight + i, BNN_NAME(load)(sigma + i) * BNN_NAME(load)(noise + i));
            for (; i < first + n; i++) weight[i] = sigma[i] * noise[i];
            continue;
        }
        for (; i + BNN_WIDTH <= first + n; i += BNN_WIDTH)
            BNN_NAME(store)(weight + i, BNN_NAME(load)(mu + i) + BNN_NAME(load)(sigma + i) * BNN_NAME(load)(noise + i));
        for (; i < first + n; i++) weight[i] = mu[i] + sigma[i] * noise[i];
    }
}

/*
 * Local-reparameterisation moments of a dense layer for mostly-zero inputs, summing over the non-zero
 * inputs only (see bnn_sparse_moments). Rows go in blocks: the non-zero inputs of each row of a block are
 * listed once. The outputs then go by column blocks of BNN_SPARSE_VECTORS vectors, read from a panel
 * where the block's columns of μ and σ² lie side by side (row p: the block's μ, then its σ²), so that a
 * row's walk over its list reads contiguous, aligned lines from L2. (Read in place, rows of μ lie 4 KB
 * apart for 1,024 outputs, so they all fall into the same few cache sets and evict each other.) The
 * panel is the caller's packed one (bnn_sparse_pack_panel: 32 columns per block, so an AVX2 or plain
 * block is part of one) or else a copy made here for each row block. A row's accumulators stay in registers.
 */

/*
 * BNN_SPARSE_ROWS rows at once over the union of their non-zero inputs (entry e: input index[e], the
 * rows' values value[e·2R + r], zero where a row's input is zero, and their squares value[e·2R + R + r]): each panel vector is loaded once and
 * used by every row, with all rows' accumulators in registers. Neighbouring digits share most of their
 * lit pixels, so the union of four is only about twice as long as one row's list.
 */
BNN_INLINE void BNN_NAME(sparse_rows)(const int *index, const float *value, long entries, const float *weights,
                                      const float *variances, long stride, const float *biasMu, float *mean, float *variance,
                                      long n, long rows) {
    enum { V = BNN_SPARSE_VECTORS, R = BNN_SPARSE_ROWS };
    VF m[R][V], v[R][V];
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int b = 0; b < V; b++) {
            m[r][b] = biasMu ? BNN_NAME(load)(biasMu + b * BNN_WIDTH) : (VF){};
            v[r][b] = (VF){};
        }
    for (long e = 0; e < entries; e++) {
        const long at = (long)index[e] * stride;
        VF w[V], u[V];
#pragma clang loop unroll(full)
        for (int b = 0; b < V; b++) {
            w[b] = BNN_NAME(load)(weights + at + b * BNN_WIDTH);
            u[b] = BNN_NAME(load)(variances + at + b * BNN_WIDTH);
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            const float xv = value[e * 2 * R + r], x2 = value[e * 2 * R + R + r];
#pragma clang loop unroll(full)
            for (int b = 0; b < V; b++) {
                m[r][b] += xv * w[b];
                v[r][b] += x2 * u[b];
            }
        }
    }
    for (long r = 0; r < rows; r++)
#pragma clang loop unroll(full)
        for (int b = 0; b < V; b++) {
            BNN_NAME(store)(mean + r * n + b * BNN_WIDTH, m[r][b]);
            BNN_NAME(store)(variance + r * n + b * BNN_WIDTH, v[r][b]);
        }
}

/* The same sums one output at a time, for columns past the last whole block and when memory runs out. */
BNN_INLINE void BNN_NAME(sparse_scalar)(const float *x, long k, const float *mu, const float *variance, long n,
                                        long firstColumn, const float *biasMu, float *meanRow, float *varianceRow) {
    for (long c = firstColumn; c < n; c++) {
        float m = biasMu ? biasMu[c] : 0.0f, v = 0.0f;
        for (long p = 0; p < k; p++) {
            const float xv = x[p];
            if (xv == 0.0f) continue;
            m += xv * mu[p * n + c];
            v += xv * xv * variance[p * n + c];
        }
        meanRow[c] = m;
        varianceRow[c] = v;
    }
}

BNN_ATTR static void BNN_NAME(sparse_moments)(const float *x, long rows, long k, const float *mu, const float *variance,
                                              const float *packed, long n, const float *biasMu, const float *biasVariance,
                                              float *mean, float *deviation) {
    enum { R = BNN_SPARSE_ROWS, COLUMNS = BNN_SPARSE_VECTORS * BNN_WIDTH, ROW_BLOCK = BNN_SPARSE_ROW_BLOCK };
    _Static_assert(BNN_SPARSE_PANEL_COLUMNS % COLUMNS == 0, "a column block must lie within one packed block");
    const long wide = n / COLUMNS * COLUMNS;
    /* Lists for one row block: per group of R rows, up to k entries of an index and 2R values. */
    const long maxGroups = ((rows < ROW_BLOCK ? rows : ROW_BLOCK) + R - 1) / R;
    int *index = malloc(sizeof(int) * (size_t)(maxGroups * k + 1));
    float *value = malloc(sizeof(float) * (size_t)(maxGroups * k * 2 * R + 1));
    float *panel = NULL; /* allocated when a block first copies */
    const int listed = index && value;
    long counts[(ROW_BLOCK + R - 1) / R];
    for (long first = 0; first < rows; first += ROW_BLOCK) {
        const long blockRows = rows - first < ROW_BLOCK ? rows - first : ROW_BLOCK;
        if (!listed) {
            /* No memory for the lists and the panel: every column the slow way (same sums, same order). */
            for (long r = first; r < first + blockRows; r++)
                BNN_NAME(sparse_scalar)(x + r * k, k, mu, variance, n, 0, biasMu, mean + r * n, deviation + r * n);
        } else {
            /* Groups of R rows: the union of their non-zero inputs, with each row's value (0 if absent). */
            const long groups = (blockRows + R - 1) / R;
            for (long g = 0; g < groups; g++) {
                const long groupRows = blockRows - g * R < R ? blockRows - g * R : R;
                const float *rowsStart = x + (first + g * R) * k;
                long count = 0;
                for (long p = 0; p < k; p++) {
                    int any = 0;
                    for (long r = 0; r < groupRows; r++) any |= rowsStart[r * k + p] != 0.0f;
                    if (!any) continue;
                    index[g * k + count] = (int)p;
                    for (long r = 0; r < R; r++) {
                        const float xv = r < groupRows ? rowsStart[r * k + p] : 0.0f;
                        value[(g * k + count) * 2 * R + r] = xv;
                        value[(g * k + count) * 2 * R + R + r] = xv * xv;
                    }
                    count++;
                }
                counts[g] = count;
            }
            /* Without a packed panel, the copy reads all k rows of μ and σ²; a block that lists fewer entries in
               all (a request's single image) reads its rows in place instead. The same values in the same order
               every way. The copy is aligned to cache lines (a panel row is whole lines). */
            long entries = 0;
            for (long g = 0; g < groups; g++) entries += counts[g];
            const long packedWide = packed ? n / BNN_SPARSE_PANEL_COLUMNS * BNN_SPARSE_PANEL_COLUMNS : 0;
            const int copies = packedWide < wide && entries >= k &&
                               (panel || (panel = aligned_alloc(64, sizeof(float) * (size_t)(2 * COLUMNS * k))));
            for (long column = 0; column < wide; column += COLUMNS) {
                const float *weights = mu + column, *variances = variance + column;
                long stride = n;
                if (column + COLUMNS <= packedWide) {
                    enum { C = BNN_SPARSE_PANEL_COLUMNS };
                    weights = packed + column / C * k * 2 * C + column % C;
                    variances = weights + C;
                    stride = 2 * C;
                } else if (copies) {
                    for (long p = 0; p < k; p++) {
                        __builtin_memcpy(panel + p * 2 * COLUMNS, mu + p * n + column, sizeof(float) * COLUMNS);
                        __builtin_memcpy(panel + p * 2 * COLUMNS + COLUMNS, variance + p * n + column, sizeof(float) * COLUMNS);
                    }
                    weights = panel;
                    variances = panel + COLUMNS;
                    stride = 2 * COLUMNS;
                }
                for (long g = 0; g < groups; g++) {
                    const long groupRows = blockRows - g * R < R ? blockRows - g * R : R;
                    BNN_NAME(sparse_rows)(index + g * k, value + g * k * 2 * R, counts[g], weights, variances, stride,
                                          biasMu ? biasMu + column : 0, mean + (first + g * R) * n + column,
                                          deviation + (first + g * R) * n + column, n, groupRows);
                }
            }
            if (wide < n)
                for (long r = first; r < first + blockRows; r++)
                    BNN_NAME(sparse_scalar)(x + r * k, k, mu, variance, n, wide, biasMu, mean + r * n, deviation + r * n);
        }
        /* deviation = sqrt(x²·σ² + σ_b²) */
        for (long r = first; biasVariance && r < first + blockRows; r++) {
            float *d = deviation + r * n;
            long c = 0;
            for (; c + BNN_WIDTH <= n; c += BNN_WIDTH)
                BNN_NAME(store)(d + c, __builtin_elementwise_sqrt(BNN_NAME(load)(d + c) + BNN_NAME(load)(biasVariance + c)));
            for (; c < n; c++) d[c] = __builtin_sqrtf(d[c] + biasVariance[c]);
        }
    }
    free(index);
    free(value);
    free(panel);
}

/*
 * c[p, j] = Σ_b x[b, p]·g[b, j] over the non-zero x[b, p] only, b increasing, for columns j of
 * [firstColumn, endColumn), and with gs the same for x[b, p]² and gs into cs (see
 * bnn_sparse_transposed_product). The non-zero inputs are first listed per input p (b and value), once for
 * both products; then, for a block of columns, every p sums its list's rows of g. The block is first
 * copied to a contiguous panel (rows × 128 columns with AVX-512): read in place, its rows lie n floats
 * apart, a multiple of 4 KB for the usual widths, so they would share a few L1 sets and evict each other,
 * and every load of the sums would come from L2.
 */
BNN_ATTR static void BNN_NAME(sparse_transposed_product)(const float *x, long rows, long k, const float *g, float *c,
                                                         const float *gs, float *cs, long n, long firstColumn,
                                                         long endColumn) {
    enum { V = 8, COLUMNS = V * BNN_WIDTH };
    const int products = gs ? 2 : 1;
    long *start = malloc(sizeof(long) * (size_t)(2 * k + 1));
    int *index = malloc(sizeof(int) * (size_t)(rows * k + 1));
    float *value = malloc(sizeof(float) * (size_t)(rows * k + 1));
    if (!start || !index || !value) {
        /* No memory for the lists: the same sums in the same order, read in place. */
        for (int product = 0; product < products; product++)
            for (long p = 0; p < k; p++)
                for (long j = firstColumn; j < endColumn; j++) {
                    float sum = 0.0f;
                    for (long b = 0; b < rows; b++) {
                        const float v = x[b * k + p];
                        if (v != 0.0f) sum += (product ? v * v : v) * (product ? gs : g)[b * n + j];
                    }
                    (product ? cs : c)[p * n + j] = sum;
                }
        free(start);
        free(index);
        free(value);
        return;
    }
    /* Input p's list: entries start[p] ..< start[p + 1] of index (b) and value (x[b, p]). */
    long *fill = start + k + 1;
    for (long p = 0; p <= k; p++) start[p] = 0;
    for (long b = 0; b < rows; b++)
        for (long p = 0; p < k; p++) start[p + 1] += x[b * k + p] != 0.0f;
    for (long p = 0; p < k; p++) {
        start[p + 1] += start[p];
        fill[p] = start[p];
    }
    for (long b = 0; b < rows; b++)
        for (long p = 0; p < k; p++) {
            const float v = x[b * k + p];
            if (v == 0.0f) continue;
            index[fill[p]] = (int)b;
            value[fill[p]++] = v;
        }
    /* Aligned to cache lines (each row of the panel is whole lines); without memory for it, the block is
       read in place: the same sums. */
    float *panel = aligned_alloc(64, sizeof(float) * (size_t)(rows * COLUMNS));
    long column = firstColumn;
    for (; column + COLUMNS <= endColumn; column += COLUMNS)
        for (int product = 0; product < products; product++) {
            const float *source = product ? gs : g;
            float *out = product ? cs : c;
            if (panel)
                for (long b = 0; b < rows; b++)
                    __builtin_memcpy(panel + b * COLUMNS, source + b * n + column, sizeof(float) * COLUMNS);
            const float *block = panel ? panel : source + column;
            const long stride = panel ? COLUMNS : n;
            for (long p = 0; p < k; p++) {
                VF sum[V];
#pragma clang loop unroll(full)
                for (int i = 0; i < V; i++) sum[i] = (VF){};
                for (long e = start[p]; e < start[p + 1]; e++) {
                    const float v = product ? value[e] * value[e] : value[e];
                    const float *row = block + (long)index[e] * stride;
#pragma clang loop unroll(full)
                    for (int i = 0; i < V; i++) sum[i] += v * BNN_NAME(load)(row + i * BNN_WIDTH);
                }
#pragma clang loop unroll(full)
                for (int i = 0; i < V; i++) BNN_NAME(store)(out + p * n + column + i * BNN_WIDTH, sum[i]);
            }
        }
    free(panel);
    for (int product = 0; product < products; product++)
        for (long p = 0; p < k; p++)
            for (long j = column; j < endColumn; j++) {
                float sum = 0.0f;
                for (long e = start[p]; e < start[p + 1]; e++)
                    sum += (product ? value[e] * value[e] : value[e]) * (product ? gs : g)[(long)index[e] * n + j];
                (product ? cs : c)[p * n + j] = sum;
            }
    free(start);
    free(index);
    free(value);
}

/* Sum of the lanes of a vector, as a tree: the upper half added to the lower, until one lane is left. */
BNN_INLINE float BNN_NAME(lane_sum)(VF x) {
#if BNN_WIDTH == 16
    x += __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
    x += __builtin_shufflevector(x, x, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
    x += __builtin_shufflevector(x, x, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    x += __builtin_shufflevector(x, x, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
#elif BNN_WIDTH == 8
    x += __builtin_shufflevector(x, x, 4, 5, 6, 7, 4, 5, 6, 7);
    x += __builtin_shufflevector(x, x, 2, 3, 2, 3, 2, 3, 2, 3);
    x += __builtin_shufflevector(x, x, 1, 1, 1, 1, 1, 1, 1, 1);
#else
    x += __builtin_shufflevector(x, x, 2, 3, 2, 3);
    x += __builtin_shufflevector(x, x, 1, 1, 1, 1);
#endif
    return x[0];
}

/*
 * For BNN_FUSED_ROWS rows x_r (zero-padded to `width`, a multiple of BNN_WIDTH) and the
 * BNN_FUSED_CLASS_GROUP classes from `class0`: adds Σ_j x_r[j]·wᵀ[c, j] to sum[r][c]. The rows share every
 * weight load (the weights stream from L2: 80 KB for 1,024 hidden units and 10 classes), and the R·G
 * accumulators plus the R inputs stay in registers (13 of AVX2's 16), so the loop is bound by its FMAs.
 * The means (x = h, w = μ) and the variances (x = h², w = σ²) take a sweep each: one sweep for both needs
 * twice the accumulators, which spill to the stack with 16 vector registers.
 */
BNN_INLINE void BNN_NAME(dot_group)(const float *const x[BNN_FUSED_ROWS], const float *weightT, long stride, long width,
                                    long class0, float sum[BNN_FUSED_ROWS][BNN_FUSED_PADDED_CLASSES]) {
    enum { G = BNN_FUSED_CLASS_GROUP, R = BNN_FUSED_ROWS };
    VF s[R][G];
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++) s[r][g] = (VF){};
    for (long j = 0; j < width; j += BNN_WIDTH) {
        VF input[R];
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) input[r] = BNN_NAME(load)(x[r] + j);
#pragma clang loop unroll(full)
        for (int g = 0; g < G; g++) {
            VF w = BNN_NAME(load)(weightT + (class0 + g) * stride + j);
#pragma clang loop unroll(full)
            for (int r = 0; r < R; r++) s[r][g] += input[r] * w;
        }
    }
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++) sum[r][class0 + g] += BNN_NAME(lane_sum)(s[r][g]);
}

/* Row `row`'s probabilities of samples firstSample ..< firstSample + count from their second-layer sums h·μ₂ and
   h²·σ₂² (sample t's at sumMean + t·stride and sumVariance + t·stride, BNN_FUSED_PADDED_CLASSES each, zero past
   the classes; biases not added) and their output noise slices epsilon[t] (bnn_fused_mlp_output_noise):
   logits z_c = m_c + sqrt(v_c)·ε₂_c, then a max-shifted softmax. */
BNN_INLINE void BNN_NAME(write_probabilities)(const bnn_fused_mlp_sample_arguments *a, long firstSample, long count, long row,
                                              const float *sumMean, const float *sumVariance, long stride,
                                              const float *const *epsilon) {
    enum { P = BNN_FUSED_PADDED_CLASSES };
    const long classes = a->classes;
    for (long t = 0; t < count; t++) {
        const long sample = firstSample + t;
        float z[P] __attribute__((aligned(64)));
        /* A slice has P values (output_noise_length ≥ P); past the classes they meet a zero variance. */
        for (long c = 0; c < P; c += BNN_WIDTH) {
            VF m = BNN_NAME(load)(sumMean + t * stride + c) + BNN_NAME(load)(a->bias_mu + c);
            VF v = BNN_NAME(load)(sumVariance + t * stride + c) + BNN_NAME(load)(a->bias_variance + c);
            BNN_NAME(store)(z + c, m + __builtin_elementwise_sqrt(v) * BNN_NAME(load)(epsilon[t] + c));
        }
        float maximum = z[0];
        for (long c = 1; c < classes; c++) maximum = z[c] > maximum ? z[c] : maximum;
        for (long c = 0; c < P; c += BNN_WIDTH) BNN_NAME(store)(z + c, BNN_NAME(exp_full)(BNN_NAME(load)(z + c) - maximum));
        float total = 0.0f;
        for (long c = 0; c < classes; c++) total += z[c];
        for (long c = 0; c < P; c += BNN_WIDTH) BNN_NAME(store)(z + c, BNN_NAME(load)(z + c) / total);
        float *probabilities = a->probabilities + sample * a->sample_stride + row * classes;
        for (long c = 0; c < classes; c++) probabilities[c] = z[c];
    }
}

/* write_probabilities for callers outside this file (bnn_fused_mlp_write_probabilities). */
BNN_ATTR static void BNN_NAME(row_probabilities)(const bnn_fused_mlp_sample_arguments *a, long firstSample, long count, long row,
                                                 const float *sumMean, const float *sumVariance, long stride,
                                                 const float *const *epsilon) {
    BNN_NAME(write_probabilities)(a, firstSample, count, row, sumMean, sumVariance, stride, epsilon);
}

/* h = max(mean + deviation·ε, 0) and h² for one block of hidden units, with ε a slice of the sample's noise. */
BNN_INLINE void BNN_NAME(hidden_block)(float *h, float *squares, const float *mean, const float *deviation,
                                       const float *noise, long width, long padded) {
    long j = 0;
    for (; j + BNN_WIDTH <= width; j += BNN_WIDTH) {
        VF x = BNN_NAME(load)(mean + j) + BNN_NAME(load)(deviation + j) * BNN_NAME(load)(noise + j);
        VF y = BNN_NAME(select)(x > 0.0f, x, (VF){});
        BNN_NAME(store)(h + j, y);
        BNN_NAME(store)(squares + j, y * y);
    }
    for (; j < width; j++) {
        float x = mean[j] + deviation[j] * noise[j];
        h[j] = x > 0.0f ? x : 0.0f;
        squares[j] = h[j] * h[j];
    }
    for (; j < padded; j++) h[j] = squares[j] = 0.0f;
}

/*
 * Posterior samples of a Bayesian MLP's output probabilities for rows [first_row, end_row): hidden
 * pre-activations from their moments and the sample's noise vector rotated by the input's own offset,
 * rectified, h = max(m + s·ε, 0), so no Normal is drawn per row; the second layer's moments of those
 * activations, m₂ = h·μ₂ + μ_b, v₂ = h²·σ₂² + σ_b² (local reparameterisation); its output noise
 * z = m₂ + sqrt(v₂)·ε₂ with ε₂ a slice of the sample's output noise vector at the input's second offset;
 * softmax. The offsets come from the input's identity, not its row, so an input's samples do not depend
 * on the other inputs of the batch. The loop over samples is inside a small block of rows, so that the
 * block's moments (re-read by every sample) stay in L2. Rows go in groups of BNN_FUSED_ROWS, which share
 * every load of the second layer's weights.
 */
BNN_ATTR static void BNN_NAME(sample_mlp)(const bnn_fused_mlp_sample_arguments *a, long firstRow, long endRow) {
    enum { HIDDEN_BLOCK = 1024, ROW_BLOCK = 8, R = BNN_FUSED_ROWS };
    const long hidden = a->hidden, classes = a->classes, stride = a->transposed_stride;
    const long classGroups = (classes + BNN_FUSED_CLASS_GROUP - 1) / BNN_FUSED_CLASS_GROUP;
    float h[R][HIDDEN_BLOCK] __attribute__((aligned(64))), squares[R][HIDDEN_BLOCK] __attribute__((aligned(64)));
    for (long blockStart = firstRow; blockStart < endRow; blockStart += ROW_BLOCK) {
        long blockEnd = blockStart + ROW_BLOCK < endRow ? blockStart + ROW_BLOCK : endRow;
        for (long sample = 0; sample < a->samples; sample++) {
            for (long r = blockStart; r < blockEnd; r += R) {
                long rows = blockEnd - r < R ? blockEnd - r : R;
                float sumMean[R][BNN_FUSED_PADDED_CLASSES] = {{0}}, sumVariance[R][BNN_FUSED_PADDED_CLASSES] = {{0}};
                /* A short last group repeats its first row in the missing places and writes it once. */
                const float *activations[R], *squared[R], *noise[R], *epsilon[R];
                for (long k = 0; k < R; k++) {
                    activations[k] = h[k < rows ? k : 0];
                    squared[k] = squares[k < rows ? k : 0];
                }
                for (long k = 0; k < rows; k++) {
                    noise[k] = bnn_fused_mlp_hidden_noise(a, sample, r + k);
                    epsilon[k] = bnn_fused_mlp_output_noise(a, sample, r + k);
                }
                for (long j0 = 0; j0 < hidden; j0 += HIDDEN_BLOCK) {
                    long width = hidden - j0 < HIDDEN_BLOCK ? hidden - j0 : HIDDEN_BLOCK;
                    long padded = (width + BNN_WIDTH - 1) / BNN_WIDTH * BNN_WIDTH;
                    for (long k = 0; k < rows; k++)
                        BNN_NAME(hidden_block)(h[k], squares[k], a->mean + (r + k) * hidden + j0, a->deviation + (r + k) * hidden + j0,
                                               noise[k] + j0, width, padded);
                    for (long group = 0; group < classGroups; group++) {
                        long class0 = group * BNN_FUSED_CLASS_GROUP;
                        BNN_NAME(dot_group)(activations, a->mu_transposed + j0, stride, padded, class0, sumMean);
                        BNN_NAME(dot_group)(squared, a->variance_transposed + j0, stride, padded, class0, sumVariance);
                    }
                }
                for (long k = 0; k < rows; k++) BNN_NAME(write_probabilities)(a, sample, 1, r + k, sumMean[k], sumVariance[k], 0, epsilon + k);
            }
        }
    }
}

#undef VF
#undef VI
#undef BNN_INLINE
#undef BNN_SPARSE_VECTORS
#undef BNN_SPARSE_ROWS

#endif
