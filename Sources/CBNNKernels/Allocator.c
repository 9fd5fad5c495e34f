#include "CBNNKernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int bnn_map_large_allocations(long threshold) {
#if defined(__GLIBC__)
    /* A fixed M_MMAP_THRESHOLD also stops glibc from raising it after the first large free. */
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
#else
    (void)threshold;
    return 0;
#endif
}
