/* Run-time choice of the instruction set, made once per process. */
#ifndef BNN_DISPATCH_H
#define BNN_DISPATCH_H

enum { BNN_ISA_PLAIN = 1, BNN_ISA_AVX2 = 2, BNN_ISA_AVX512 = 3 };

/* The best instruction set this CPU and OS support (honours BNN_ISA=plain|avx2|avx512 to force lower). */
int bnn_isa_level(void);

/* Calls the variant of a kernel for this CPU: `avx512`, `avx2` or `plain` (the only one off x86-64). */
#if defined(__x86_64__)
#define BNN_DISPATCH_TO(avx512, avx2, plain, ...)                  \
    switch (bnn_isa_level()) {                                      \
    case BNN_ISA_AVX512: avx512(__VA_ARGS__); break;                \
    case BNN_ISA_AVX2: avx2(__VA_ARGS__); break;                    \
    default: plain(__VA_ARGS__); break;                             \
    }
#else
#define BNN_DISPATCH_TO(avx512, avx2, plain, ...) plain(__VA_ARGS__);
#endif

#endif
