#ifndef CBNN_KERNELS_H
#define CBNN_KERNELS_H
/* Portable SIMD kernels for swift-bnn (placeholder). */
int bnn_kernels_version(void);
#endif
