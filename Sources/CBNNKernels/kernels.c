#include "CBNNKernels.h"
int bnn_kernels_version(void) { return 1; }
