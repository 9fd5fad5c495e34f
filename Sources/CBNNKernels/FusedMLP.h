/* What the fp32 predictive kernel (FusedKernels.c) shares with its bf16 AMX variant (AMXGEMM.c). */
#ifndef BNN_FUSED_MLP_H
#define BNN_FUSED_MLP_H
#include "CBNNKernels.h"

/* Where sample `sample` of row `row` reads its hidden noise ε (hidden values) and its output noise ε₂
   (BNN_FUSED_PADDED_CLASSES values; see bnn_fused_mlp_sample_arguments). */
static inline const float *bnn_fused_mlp_hidden_noise(const bnn_fused_mlp_sample_arguments *a, long sample, long row) {
    return a->hidden_noise + sample * 2 * a->hidden + bnn_noise_offset(a->hidden_keys[sample], (long)a->identities[row], a->hidden);
}

static inline const float *bnn_fused_mlp_output_noise(const bnn_fused_mlp_sample_arguments *a, long sample, long row) {
    const long length = a->output_noise_length;
    const float *slice = a->output_noise + sample * 2 * length + bnn_noise_offset(a->output_keys[sample], (long)a->identities[row], length);
    /* The output noise vectors (megabytes) do not stay in cache, and each row reads a random slice: fetched
       early, while the row's sums are computed. */
    __builtin_prefetch(slice);
    __builtin_prefetch(slice + BNN_FUSED_PADDED_CLASSES - 1);
    return slice;
}

/* Row `row` of samples first_sample ..< first_sample + count of bnn_fused_sample_mlp, from their second-layer
   sums h·μ₂ and h²·σ₂² (sample t's at sum_mean + t·stride and sum_variance + t·stride, BNN_FUSED_PADDED_CLASSES
   each, zero past the classes, without the biases) and their output noise slices epsilon[t]
   (bnn_fused_mlp_output_noise): adds the biases and the noise and writes the softmax. */
void bnn_fused_mlp_write_probabilities(const bnn_fused_mlp_sample_arguments *arguments, long first_sample, long count, long row,
                                       const float *sum_mean, const float *sum_variance, long stride, const float *const *epsilon);

#endif
