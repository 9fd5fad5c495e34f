/* Run-time choice of the instruction set, made once per process. */
#ifndef BNN_DISPATCH_H
#define BNN_DISPATCH_H

enum { BNN_ISA_PLAIN = 1, BNN_ISA_AVX2 = 2, BNN_ISA_AVX512 = 3 };

/* The best instruction set this CPU and OS support (honours BNN_ISA=plain|avx2|avx512 to force lower). */
int bnn_isa_level(void);

#endif
