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

/*
 * The im2col matrix X of a stride-1 convolution, described instead of stored: the inputs' planes already
 * zero-padded, padded[(b·channels + c)·paddedHeight·paddedWidth + y·paddedWidth + x] for example b and
 * channel c. Row p = (c·k + i)·k + j and column b·positions + oh·outputWidth + ow of X (positions =
 * outputHeight·outputWidth) hold padded plane (b, c) at row oh + i, column ow + j — squared when `squared`.
 */
typedef struct {
    const float *padded;
    long channels, padded_height, padded_width, kernel_size, output_height, output_width;
    int squared;
} bnn_conv_columns;

/*
 * C = A·X[:, first_column ..< first_column + n] (row-major, A m × k with k = channels·k², C m × n), single-
 * threaded, packing X's panels straight from the padded planes: the same values, to the bit, as
 * bnn_sgemm(0, 0, m, n, k, 1, A, lda, X + first_column, ·, 0, C, ldc) on the stored X (unless that call
 * takes its transposed form, which it does only for C much narrower than tall). Returns 0 (C untouched)
 * for an inconsistent geometry, else 1.
 */
int bnn_sgemm_convolution(long m, long n, long k, const float *a, long lda, const bnn_conv_columns *x, long first_column,
                          float *c, long ldc);

/*
 * For tests: packs rows p0 ..< p0 + kc and columns first_column ..< first_column + nc of X into 16-column
 * panels with every packer this CPU can run (plain C, AVX2, AVX-512) and returns how many of them wrote
 * panels different from the plain packer's (0 when all agree), or −1 without memory.
 */
int bnn_conv_packers_disagreeing(const bnn_conv_columns *x, long first_column, long p0, long kc, long nc);

/*
 * For tests: whether AVX2's in-register transposing pack of a 16-column panel (column q of the panel at
 * b + q·cs, kc values each) differs from the panel itself (1), agrees (0), or cannot run here (0; −1 without
 * memory). Runs on any CPU with AVX2, whichever kernels it uses.
 */
int bnn_transposing_pack_disagrees(const float *b, long cs, long kc);

/*
 * Whether products can run in bfloat16 on this machine: Intel AMX-BF16 (with AVX-512 BF16 for the
 * conversions) and an OS that grants the tile state. BNN_ISA below avx512 says no.
 */
int bnn_bf16_available(void);

/*
 * bnn_sgemm and bnn_sgemm_convolution with op(A) and op(B) rounded to bfloat16 (round to nearest even) and
 * their products summed in fp32 on AMX tiles; each element of C sums over k in an order that depends on k
 * only. A step of 32 values of k where op(A) is zero in all 32 rows of a row panel is skipped: with finite
 * op(B) its products are zeros and change no sum (a row alone gives the same C row as among others).
 * Without bnn_bf16_available() (or without memory for packing) they are bnn_sgemm and
 * bnn_sgemm_convolution themselves, and so are both for k < 16 (faster in fp32).
 */
void bnn_sgemm_bf16(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc);
int bnn_sgemm_convolution_bf16(long m, long n, long k, const float *a, long lda, const bnn_conv_columns *x,
                               long first_column, float *c, long ldc);

/*
 * A k × n row-major B (row stride ldb) rounded to bfloat16 and packed once into the panels bnn_sgemm_bf16
 * reads (bnn_bf16_packed_length(k, n) values), for a product whose B is used many times: the weights of a
 * layer in prediction. bnn_bf16_pack_rows returns 0 (packed untouched) without bnn_bf16_available() or
 * with k < 16; bnn_sgemm_bf16_packed, C = A·B for a row-major m × k A, returns 0 (C untouched) then or
 * without memory. A row of C is the one bnn_sgemm_bf16 gives, whatever m is.
 */
long bnn_bf16_packed_length(long k, long n);
int bnn_bf16_pack_rows(const float *b, long ldb, long k, long n, uint16_t *packed);
int bnn_sgemm_bf16_packed(long m, long n, long k, const float *a, long lda, const uint16_t *packed, float *c, long ldc);

/* The block of C (rows × columns) that bnn_sgemm_bf16 computes at once, for aligning work splits. */
void bnn_sgemm_bf16_micro_tile(int *mr, int *nr);

/* The register tile (rows × columns of C) of the kernel in use, for aligning work splits. */
void bnn_sgemm_micro_tile(int *mr, int *nr);

/* The portable multiply's depth block: a product with k up to this sums over k in one running sum. */
long bnn_sgemm_depth_block(void);

/* Overrides the cache-block sizes (k depth, rows of A, columns of B); values ≤ 0 keep the current one. */
void bnn_sgemm_set_blocking(long kc, long mc, long nc);

/* destination[i] = f(source[i]) for i < count; source may equal destination. */
void bnn_vexp(const float *source, float *destination, long count);
void bnn_vlog(const float *source, float *destination, long count);
void bnn_vlog1p(const float *source, float *destination, long count);
void bnn_vsoftplus(const float *source, float *destination, long count);
void bnn_vsigmoid(const float *source, float *destination, long count);

/*
 * Sorts values[0 ..< count] ascending in place and returns 1 when this CPU has AVX-512 and count ≤ 128
 * (a sorting network in registers); returns 0 with values untouched otherwise, or when one of them is
 * NaN, so that the caller sorts another way. Equal values (also +0 and −0) may trade places.
 */
int bnn_sort_small(float *values, long count);

/*
 * destination[j] = mean + standardDeviation·z[start + j] for j < count, where z is the standard-normal
 * stream of `key` (Philox4x32-10 counters + Box–Muller); a pure function of (key, index).
 */
void bnn_normal_fill(float *destination, long start, long count, uint64_t key, float mean,
                     float standardDeviation);

/* One Philox4x32-10 block (scalar), for known-answer tests. */
void bnn_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t output[4]);

/*
 * A uniform offset in [0, count) for the input `identity` (any 64-bit value, e.g. a hash of the input):
 * ⌊w·count / 2³²⌋ with w the first word of Philox4x32-10 at counter (identity, 2³¹) under `key` (the
 * normal streams use counters whose last word is 0, so these words are independent of them). The
 * predictive pass rotates a sample's shared noise vectors by such offsets.
 */
long bnn_noise_offset(uint64_t key, long identity, long count);

/*
 * im2col of one image plane for a stride-1 convolution with a k × k kernel and `padding` zeros on every
 * side (padding < k): row r = i·k + j of the plane's k² rows (at rows + r·leading) receives the
 * outputHeight × outputWidth window x[oh − padding + i, ow − padding + j] (zero outside the image), with
 * outputHeight = height + 2·padding − k + 1 and likewise for the width. Returns 0 (writing nothing) for a
 * geometry outside that case or when a large plane's buffer cannot be allocated, else 1.
 */
int bnn_im2col_plane_stride1(const float *plane, long height, long width, long k, long padding, float *rows, long leading);

/*
 * glibc only (elsewhere returns 0 and does nothing): serve every allocation of at least `threshold` bytes
 * by its own mapping, unmapped when freed, and keep that threshold fixed (glibc otherwise raises it to
 * the size of the first large block freed, after which freed tensors stay with the process). Returns 1
 * when the setting was taken.
 */
int bnn_map_large_allocations(long threshold);

/* ---------------------------------------------------------------- fused passes (FusedKernels.c) */

/* What `rho_source` of bnn_fused_adam_arguments holds: how the data gradient with respect to ρ is formed. */
enum {
    /* rho_source is ∂L/∂ρ itself. */
    BNN_RHO_GRADIENT_GIVEN = 0,
    /* rho_source is ∂L/∂σ² (local reparameterisation): ∂L/∂ρ = ∂L/∂σ² · 2σ · sigmoid(ρ). */
    BNN_RHO_GRADIENT_OF_VARIANCE = 1,
    /* rho_source is the weight noise ε of W = μ + σ⊙ε: ∂L/∂ρ = ∂L/∂μ · ε · sigmoid(ρ). */
    BNN_RHO_GRADIENT_FROM_NOISE = 2,
    /* rho_source is ∂L/∂σ (flipout): ∂L/∂ρ = ∂L/∂σ · sigmoid(ρ). */
    BNN_RHO_GRADIENT_OF_SIGMA = 3,
};

/*
 * One fused training step of a mean-field Normal posterior N(μ, σ²), σ = softplus(ρ), prior N(0, s²):
 *   g_μ = ∂L/∂μ + κ·μ/s²,   g_ρ = ∂L/∂ρ + κ·(σ/s² − 1/σ)·sigmoid(ρ)       (closed-form KL gradient)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − step_size·m/(√v + epsilon_hat)   (Adam, for μ and ρ)
 *   σ ← softplus(ρ), σ² ← σ²                                         (for the next forward pass)
 * where step_size = α·√(1−β₂ᵗ)/(1−β₁ᵗ) and epsilon_hat = ε·√(1−β₂ᵗ) carry Adam's bias corrections.
 * `sigma` and `variance` may be NULL (not written); `rho_source` may be NULL with BNN_RHO_GRADIENT_GIVEN
 * (zero data gradient). With `stored_sigma_is_current`, the σ of the current ρ is read from `sigma` (or
 * as √σ² from `variance`) instead of being recomputed: the same value to within an ulp, and cheaper.
 * With `panel` (and `variance`), the new μ and σ² are also written into it as bnn_sparse_pack_panel lays
 * out the [panel_rows, panel_columns] weights, so that the sparse moments need not pack them again.
 */
typedef struct {
    float *mu, *rho;               /* updated in place */
    const float *mu_gradient;      /* ∂L/∂μ of the data term */
    const float *rho_source;       /* see rho_gradient_form */
    float *mu_m, *mu_v, *rho_m, *rho_v; /* Adam's moments, updated in place */
    float *sigma, *variance;       /* refreshed from the new ρ; NULL to skip */
    int rho_gradient_form;         /* BNN_RHO_GRADIENT_* */
    int stored_sigma_is_current;   /* sigma (or variance) holds softplus(rho) (or its square) on entry */
    float kl_scale;                /* κ */
    float inverse_prior_variance;  /* 1/s² */
    float beta1, beta2, step_size, epsilon_hat;
    float *panel;                  /* NULL, or a bnn_sparse_pack_panel panel refreshed with the new μ and σ² */
    long panel_rows, panel_columns; /* its k and n (panel_rows · panel_columns = the elements) */
} bnn_fused_adam_arguments;

/* Applies the step to elements [start, end). Disjoint ranges may run on different threads. */
void bnn_fused_bayes_adam(const bnn_fused_adam_arguments *arguments, long start, long end);

/* sigma = softplus(rho), variance = sigma², sigmoid = sigmoid(rho); any output may be NULL. */
void bnn_fused_refresh(const float *rho, float *sigma, float *variance, float *sigmoid, long count);

/*
 * Output of a local-reparameterisation layer from its moments, row-major rows × columns:
 *   deviation ← sqrt(deviation + bias_variance)  (deviation holds x²·σ² on entry),
 *   output = (mean + bias_mu) + deviation·noise.
 */
void bnn_fused_local_output(const float *mean, float *deviation, const float *bias_mu, const float *bias_variance,
                            const float *noise, float *output, long rows, long columns);

/*
 * One weight sample of a mean-field posterior: noise[i] = z_key(i) (the bnn_normal_fill stream) and
 * weight[i] = mu[i] + sigma[i]·noise[i], for i in [start, start + count). Disjoint ranges may run on
 * different threads; the result does not depend on the split. With mu NULL, weight[i] = sigma[i]·noise[i]
 * (the perturbation alone, for flipout).
 */
void bnn_fused_sample_weights(const float *mu, const float *sigma, float *noise, float *weight, long start, long count,
                              uint64_t key);

/*
 * The moments of a dense layer's pre-activations under a mean-field posterior (local reparameterisation,
 * Kingma et al. 2015, eq. 6) for inputs with many zeros, row-major x [rows, k], μ and σ² [k, n]:
 *   mean[r, c] = bias_mu[c] + Σ_{p: x[r,p] ≠ 0} x[r,p]·μ[p, c]
 *   deviation[r, c] = sqrt(bias_variance[c] + Σ_{p: x[r,p] ≠ 0} x[r,p]²·σ²[p, c])
 * Each sum runs over p in increasing order. The work is proportional to the number of non-zero inputs,
 * so it beats the two dense matrix multiplies when most inputs are zero. Disjoint row ranges may run on
 * different threads. With bias_mu NULL the means start from 0; with bias_variance NULL `deviation`
 * receives the variance sums x²·σ² themselves (no bias, no square root). `panel` is NULL or μ and σ²
 * packed by bnn_sparse_pack_panel (read instead of copying the blocks for each call; the same sums).
 */
void bnn_sparse_moments(const float *x, long rows, long k, const float *mu, const float *variance, const float *panel,
                        long n, const float *bias_mu, const float *bias_variance, float *mean, float *deviation);

/* The columns of one block of a packed panel. */
#define BNN_SPARSE_PANEL_COLUMNS 32

/*
 * μ and σ² [k, n] packed for bnn_sparse_moments: for each whole block of 32 columns, row p holds the
 * block's 32 values of μ then its 32 of σ², at panel[(block·k + p)·64]; columns past the last whole block
 * are not packed. bnn_sparse_panel_length gives the floats (n/32·k·64); bnn_sparse_pack_panel packs blocks
 * first_block ..< end_block (disjoint ranges may run on different threads). A panel whose start is aligned
 * to 64 bytes is read in whole cache lines.
 */
long bnn_sparse_panel_length(long k, long n);
void bnn_sparse_pack_panel(const float *mu, const float *variance, long k, long n, float *panel, long first_block,
                           long end_block);

/*
 * The weight gradient of a dense layer whose input has many zeros, c = xᵀ·g for row-major x [rows, k],
 * g [rows, n] and c [k, n], columns first_column ..< end_column only:
 *   c[p, j] = Σ_{b: x[b,p] ≠ 0} x[b,p]·g[b, j], b increasing;
 * and, unless g_squared is NULL, c_squared = (x ⊙ x)ᵀ·g_squared the same way (x[b,p]² rounded to float, as
 * an element-wise square gives it), from the same list of non-zero inputs (local reparameterisation's
 * gradients of μ and σ²). For up to bnn_sgemm_depth_block() rows (384) these are the same sums, in the same
 * order, as that multiply makes over all b on this instruction set (a zero term adds nothing), so the two
 * agree to the bit; the work is proportional to the number of non-zero inputs. Disjoint column ranges
 * may run on different threads.
 */
void bnn_sparse_transposed_product(const float *x, long rows, long k, const float *g, float *c, const float *g_squared,
                                   float *c_squared, long n, long first_column, long end_column);

/* The most classes bnn_fused_sample_mlp handles, and the class and row blocking of its inner loop. */
#define BNN_FUSED_MAX_CLASSES 16
#define BNN_FUSED_CLASS_GROUP 2
#define BNN_FUSED_ROWS 4
#define BNN_FUSED_PADDED_CLASSES 16 /* BNN_FUSED_MAX_CLASSES rounded up to whole groups */

/*
 * Posterior samples of the class probabilities of a Bayesian MLP whose first layer's output moments are
 * known: for sample s < samples and row r with identity d = identities[r],
 *   h = max(mean[r] + deviation[r]·ε, 0)      ε[j] = e_s[(j + o) mod hidden],     o = bnn_noise_offset(hidden_keys[s], d, hidden)
 *   m = h·μ₂ + bias_mu,  v = h²·σ₂² + bias_variance        (second layer, local reparameterisation)
 *   probabilities[s·sample_stride + r·classes + c] = softmax(m + √v·ε₂)[c],
 *                                             ε₂[c] = f_s[(c + o₂) mod L],  o₂ = bnn_noise_offset(output_keys[s], d, L)
 * where e_s (hidden values) and f_s (L = output_noise_length ≥ classes values) are standard-normal
 * vectors drawn once per sample, each given twice in a row (hidden_noise[s·2·hidden ...],
 * output_noise[s·2·L ...]) so that every rotation is a contiguous slice. Each input's ε and ε₂ are
 * exactly N(0, I) and independent across samples, and depend only on the keys and the input's identity:
 * an input gets the same samples whatever other rows share the call. μ₂ and σ₂² are given transposed,
 * [classes rounded up to a multiple of BNN_FUSED_CLASS_GROUP, transposed_stride]; the stride must be a
 * multiple of 16 and all padding zero. output_noise_length is at least BNN_FUSED_PADDED_CLASSES.
 */
typedef struct {
    long hidden, classes, transposed_stride, samples, sample_stride, output_noise_length;
    const float *mean, *deviation;      /* [rows, hidden] */
    const float *mu_transposed;         /* [padded classes, transposed_stride] */
    const float *variance_transposed;   /* [padded classes, transposed_stride] */
    const float *bias_mu, *bias_variance; /* [BNN_FUSED_PADDED_CLASSES], zero past the classes */
    const uint64_t *hidden_keys, *output_keys; /* [samples] */
    const uint64_t *identities;         /* [rows] */
    const float *hidden_noise;          /* [samples, 2·hidden]: e_s, then e_s again */
    const float *output_noise;          /* [samples, 2·output_noise_length]: f_s, then f_s again */
    float *probabilities;               /* sample s, row r at s·sample_stride + r·classes */
} bnn_fused_mlp_sample_arguments;

/* Rows [first_row, end_row) of every sample; disjoint row ranges may run on different threads. */
void bnn_fused_sample_mlp(const bnn_fused_mlp_sample_arguments *arguments, long first_row, long end_row);

/*
 * bnn_fused_sample_mlp with the second layer's sums in bfloat16 on AMX: h, h², μ₂ and σ₂² rounded to bf16
 * (nearest even) and their products summed in fp32 tiles, the error MatrixPrecision.bfloat16 states. A
 * row's samples still depend only on that row. Without bnn_bf16_available(), with hidden < 16 or without
 * memory, it is bnn_fused_sample_mlp.
 */
void bnn_fused_sample_mlp_bf16(const bnn_fused_mlp_sample_arguments *arguments, long first_row, long end_row);

#endif
