#include "CBNNKernels.h"
#include "KernelDispatch.h"
#include <stdlib.h>
#include <string.h>

static int detect(void) {
    int level = BNN_ISA_PLAIN;
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV). */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = BNN_ISA_AVX2;
    if (level == BNN_ISA_AVX2 && __builtin_cpu_supports("avx512f")) level = BNN_ISA_AVX512;
#endif
    /* Lets tests and benchmarks exercise the slower variants on a fast machine. */
    const char *forced = getenv("BNN_ISA");
    if (forced) {
        int wanted = level;
        if (strcmp(forced, "plain") == 0) wanted = BNN_ISA_PLAIN;
        else if (strcmp(forced, "avx2") == 0) wanted = BNN_ISA_AVX2;
        else if (strcmp(forced, "avx512") == 0) wanted = BNN_ISA_AVX512;
        if (wanted < level) level = wanted;
    }
    return level;
}

int bnn_isa_level(void) {
    /* Every thread computes the same answer, so a racy first store is harmless; atomics keep it defined. */
    static int cached = 0;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level == 0) {
        level = detect();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

const char *bnn_kernels_isa_name(void) {
    switch (bnn_isa_level()) {
    case BNN_ISA_AVX512: return "avx512";
    case BNN_ISA_AVX2: return "avx2";
    default: return "plain";
    }
}
