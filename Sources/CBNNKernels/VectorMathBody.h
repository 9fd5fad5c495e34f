/*
 * Element-wise transcendental kernels and the Philox/Box–Muller normal sampler, written once with
 * GCC/clang vector extensions and instantiated per instruction set by VectorMath.c, which defines:
 *   BNN_WIDTH   lanes per vector (16 for AVX-512, 8 for AVX2, 4 for the plain variant)
 *   BNN_ATTR    the function attributes (e.g. __attribute__((target("avx512f,fma"))))
 *   BNN_NAME(x) the name of the instantiated function x (adds a per-ISA suffix)
 * Plain C arithmetic on vector types lets the compiler pick the instructions of each target, and
 * `a * b + c` within one expression is contracted to FMA where the target has it (clang's default
 * -ffp-contract=on), so one body serves every CPU. No libm calls: all functions are polynomials.
 *
 * This header has no include guard on purpose: it is included once per instruction set.
 */

#define VF BNN_NAME(vf)
#define VI BNN_NAME(vi)
#define VU BNN_NAME(vu)
#define VU64 BNN_NAME(vu64)
typedef float VF __attribute__((vector_size(BNN_WIDTH * 4)));
typedef int32_t VI __attribute__((vector_size(BNN_WIDTH * 4)));
typedef uint32_t VU __attribute__((vector_size(BNN_WIDTH * 4)));
typedef uint64_t VU64 __attribute__((vector_size(BNN_WIDTH * 4)));

#define BNN_INLINE static inline __attribute__((always_inline)) BNN_ATTR

/* Lane-wise `mask ? a : b` for a mask of all-ones / all-zeros lanes (as comparisons produce). */
BNN_INLINE VF BNN_NAME(select)(VI mask, VF a, VF b) {
    return (VF)((mask & (VI)a) | (~mask & (VI)b));
}

BNN_INLINE VF BNN_NAME(load)(const float *p) {
    VF v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

BNN_INLINE void BNN_NAME(store)(float *p, VF v) { __builtin_memcpy(p, &v, sizeof v); }

/*
 * Natural log of finite positive normal floats (no special cases).
 * x = 2^e · m with m in [√½, √2); with f = m − 1 and s = f / (2 + f), log m = 2·atanh(s)
 * = 2s + 2s³/3 + 2s⁵/5 + …; |s| ≤ 0.1716 so the terms through s⁹ leave a relative error below 1e-9,
 * far under float rounding. e·ln2 is added in two parts (hi exact in float) to keep x near 1 accurate.
 */
BNN_INLINE VF BNN_NAME(log_core)(VF x) {
    VI bits = (VI)x;
    /* Shift the mantissa range from [1, 2) to [√½, √2) by borrowing from the exponent. */
    VI shifted = bits - 0x3f3504f3; /* bit pattern of √½ */
    VI exponent = shifted >> 23;    /* arithmetic shift: floor((bits − √½bits) / 2^23) */
    VF m = (VF)(bits - (exponent << 23));
    VF e = __builtin_convertvector(exponent, VF);
    VF f = m - 1.0f;
    VF s = f / (2.0f + f);
    VF s2 = s * s;
    VF poly = (((2.0f / 9.0f) * s2 + 2.0f / 7.0f) * s2 + 2.0f / 5.0f) * s2 + 2.0f / 3.0f;
    /* log m = 2s + s·s²·poly = f − f·s + s·s²·poly  (since 2s = f − f·s): avoids cancellation error. */
    VF logm = f - f * s + s * s2 * poly;
    return e * 0.693145751953125f + (logm + e * 1.428606765330187e-06f);
}

/* log(x) with IEEE specials: log(0) = −∞, log(x<0) = NaN, log(+∞) = +∞, NaN propagates, subnormals exact. */
BNN_INLINE VF BNN_NAME(log_full)(VF x) {
    VI subnormal = x < 1.17549435e-38f;
    /* Scale subnormals (and 0, harmlessly) into the normal range, then take 24·ln2 back off. */
    VF scaled = BNN_NAME(select)(subnormal, x * 16777216.0f, x);
    VF r = BNN_NAME(log_core)(scaled);
    r = BNN_NAME(select)(subnormal, r - 16.635532333438686f, r);
    VF inf = (VF)((VI){} + 0x7f800000);
    r = BNN_NAME(select)(x == 0.0f, -inf, r);
    r = BNN_NAME(select)(x < 0.0f, (VF)((VI){} + 0x7fc00000), r);
    r = BNN_NAME(select)(x == inf, inf, r);
    r = BNN_NAME(select)(x != x, x, r);
    return r;
}

/*
 * exp(x) by Cody–Waite reduction: x = n·ln2 + r, |r| ≤ ln2/2, exp(r) by its Taylor polynomial through
 * r⁷ (truncation < 1e-8 relative), then scaled by 2^n in two steps so that results in the subnormal
 * range come out right (rounded once) and large x overflow to +∞. NaN propagates.
 */
BNN_INLINE VF BNN_NAME(exp_full)(VF x) {
    VF clamped = BNN_NAME(select)(x > 89.0f, (VF){} + 89.0f, x);
    clamped = BNN_NAME(select)(clamped < -104.0f, (VF){} - 104.0f, clamped);
    /* Round to nearest with the 1.5·2^23 trick (exact for |t| < 2^22). */
    VF t = clamped * 1.44269504088896341f + 12582912.0f;
    VF n = t - 12582912.0f;
    VF r = clamped - n * 0.693145751953125f;
    r = r - n * 1.428606765330187e-06f;
    VF p = ((((((1.0f / 5040.0f) * r + 1.0f / 720.0f) * r + 1.0f / 120.0f) * r + 1.0f / 24.0f) * r
             + 1.0f / 6.0f) * r + 0.5f) * r;
    p = p * r + r + 1.0f;
    VI ni = __builtin_convertvector(n, VI);
    VI n1 = ni >> 1;
    VI n2 = ni - n1;
    VF scale1 = (VF)((n1 + 127) << 23);
    VF scale2 = (VF)((n2 + 127) << 23);
    VF result = p * scale1 * scale2;
    return BNN_NAME(select)(x != x, x, result);
}

/*
 * log1p(y) for y ≥ 0 (Goldberg's trick): u = 1 + y rounded, log1p(y) = log(u) + (y − (u − 1)) / u.
 * The correction restores the bits of y lost in forming u, so tiny y give y itself.
 */
BNN_INLINE VF BNN_NAME(log1p_nonnegative)(VF y) {
    VF u = 1.0f + y;
    VF correction = (y - (u - 1.0f)) / u;
    return BNN_NAME(log_core)(u) + correction;
}

/* Applies `OP` to `count` floats, 16/8/4 lanes at a time; the tail goes through a padded buffer. */
#define BNN_MAP(OP, PAD)                                                                      \
    long i = 0;                                                                               \
    for (; i + BNN_WIDTH <= count; i += BNN_WIDTH) {                                          \
        VF x = BNN_NAME(load)(source + i);                                                    \
        BNN_NAME(store)(destination + i, OP(x));                                              \
    }                                                                                         \
    if (i < count) {                                                                          \
        float buffer[BNN_WIDTH];                                                              \
        for (int l = 0; l < BNN_WIDTH; l++) buffer[l] = i + l < count ? source[i + l] : PAD;  \
        VF x = BNN_NAME(load)(buffer);                                                        \
        BNN_NAME(store)(buffer, OP(x));                                                       \
        for (int l = 0; i + l < count; l++) destination[i + l] = buffer[l];                  \
    }

BNN_INLINE VF BNN_NAME(softplus_op)(VF x) {
    /* softplus(x) = max(x, 0) + log1p(exp(−|x|)): exp never overflows and log1p keeps tiny terms. */
    VF absolute = (VF)((VI)x & 0x7fffffff);
    VF positive = BNN_NAME(select)(x > 0.0f, x, (VF){});
    VF r = positive + BNN_NAME(log1p_nonnegative)(BNN_NAME(exp_full)(-absolute));
    return BNN_NAME(select)(x != x, x, r);
}

BNN_INLINE VF BNN_NAME(sigmoid_op)(VF x) {
    /* With e = exp(−|x|) ≤ 1: sigmoid = 1/(1+e) for x ≥ 0 and e/(1+e) for x < 0; nothing overflows. */
    VF absolute = (VF)((VI)x & 0x7fffffff);
    VF e = BNN_NAME(exp_full)(-absolute);
    VF s = 1.0f / (1.0f + e);
    VF r = BNN_NAME(select)(x < 0.0f, e * s, s);
    return BNN_NAME(select)(x != x, x, r);
}

BNN_ATTR static void BNN_NAME(vexp)(const float *source, float *destination, long count) {
    BNN_MAP(BNN_NAME(exp_full), 0.0f)
}

BNN_ATTR static void BNN_NAME(vlog)(const float *source, float *destination, long count) {
    BNN_MAP(BNN_NAME(log_full), 1.0f)
}

BNN_INLINE VF BNN_NAME(log1p_op)(VF x) {
    /* General log1p: the Goldberg form works for all x > −1; specials follow log's. */
    VF u = 1.0f + x;
    VF correction = (x - (u - 1.0f)) / u;
    VF r = BNN_NAME(log_full)(u);
    VF finite = BNN_NAME(select)(u == 1.0f, x, r + correction);
    VF inf = (VF)((VI){} + 0x7f800000);
    /* Keep log's special results (−∞ at −1, NaN below, +∞, NaN) untouched by the correction. */
    VI special = (u <= 0.0f) | (u == inf) | (x != x);
    return BNN_NAME(select)(special, r, finite);
}

BNN_ATTR static void BNN_NAME(vlog1p)(const float *source, float *destination, long count) {
    BNN_MAP(BNN_NAME(log1p_op), 0.0f)
}

BNN_ATTR static void BNN_NAME(vsoftplus)(const float *source, float *destination, long count) {
    BNN_MAP(BNN_NAME(softplus_op), 0.0f)
}

BNN_ATTR static void BNN_NAME(vsigmoid)(const float *source, float *destination, long count) {
    BNN_MAP(BNN_NAME(sigmoid_op), 0.0f)
}

/*
 * Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
 * a keyed bijection of a 128-bit counter, ten rounds of two 32×32→64-bit multiplies. Here BNN_WIDTH
 * counters run side by side. The 64-bit halves of the product come from two even/odd-lane 32×32→64
 * multiplies on 64-bit lanes (little-endian lane order), which every target has (pmuludq, umull).
 */
BNN_INLINE void BNN_NAME(mulhilo)(VU x, uint32_t multiplier, VU *hi, VU *lo) {
    VU64 wide = (VU64)x;
    VU64 even = (wide & 0xffffffffull) * (uint64_t)multiplier;
    VU64 odd = (wide >> 32) * (uint64_t)multiplier;
    *lo = (VU)((even & 0xffffffffull) | (odd << 32));
    *hi = (VU)((even >> 32) | (odd & 0xffffffff00000000ull));
}


/* Counters `first ..< first + BNN_WIDTH` (first a multiple of BNN_WIDTH: the low word never carries). */
BNN_INLINE void BNN_NAME(philox_counters)(uint64_t first, VU c[4]) {
    VU lanes;
    for (int l = 0; l < BNN_WIDTH; l++) lanes[l] = (uint32_t)l;
    c[0] = lanes + (uint32_t)first;
    c[1] = (VU){} + (uint32_t)(first >> 32);
    c[2] = (VU){};
    c[3] = (VU){};
}

/*
 * BNN_PHILOX_SETS independent sets of counters through the ten rounds side by side. Each round of one
 * set is a chain of dependent multiplies and lane shuffles; interleaving other sets gives the core
 * independent work while one waits (the same words as separate `philox` calls).
 */
#ifndef BNN_PHILOX_SETS
#define BNN_PHILOX_SETS 4
#endif
BNN_INLINE void BNN_NAME(philox_sets)(VU c[][4], int sets, const uint32_t keys[20]) {
    for (int round = 0; round < 10; round++) {
#pragma clang loop unroll(full)
        for (int k = 0; k < sets; k++) {
            VU hi0, lo0, hi1, lo1;
            BNN_NAME(mulhilo)(c[k][0], 0xD2511F53u, &hi0, &lo0);
            BNN_NAME(mulhilo)(c[k][2], 0xCD9E8D57u, &hi1, &lo1);
            VU n0 = hi1 ^ c[k][1] ^ keys[2 * round];
            VU n2 = hi0 ^ c[k][3] ^ keys[2 * round + 1];
            c[k][0] = n0;
            c[k][1] = lo1;
            c[k][2] = n2;
            c[k][3] = lo0;
        }
    }
}

/*
 * The stream layout is fixed, independent of the vector width (so every CPU draws the same values):
 * element i belongs to group g = i / 64; counter 16·g + (i mod 16) of Philox gives four words, and
 * word j = (i mod 64) / 16 is used. One call here computes BNN_WIDTH counters `first ..<
 * first + BNN_WIDTH` and stores word block j at `out + 16·j`, so each store is contiguous.
 * Box & Muller (1958): with u1 in (0, 1] and angle θ = 2π·u2,
 * z0 = r·cos θ, z1 = r·sin θ, r = √(−2 ln u1) — words 0/1 give (u1, u2) for slots 0 and 1, words 2/3
 * for slots 2 and 3.
 */
BNN_INLINE void BNN_NAME(box_muller)(const VU c[4], float mean, float sd, float *out) {
    for (int pair = 0; pair < 2; pair++) {
        VU w1 = c[2 * pair];
        VU w2 = c[2 * pair + 1];
        /* u1 = (⌊w1/2⌋ + ½)·2⁻³¹ lies in [2⁻³², 1]: never 0, so the log is finite (|z| ≤ 6.7). */
        VF u1 = __builtin_convertvector((VI)(w1 >> 1), VF) * 4.656612873077393e-10f + 2.3283064365386963e-10f;
        VF radius = BNN_NAME(log_core)(u1) * -2.0f;
        radius = __builtin_elementwise_sqrt(radius);
        /* θ = 2π·t/2^24 with t the top 24 bits of w2. The nearest quarter turn q comes from integer
           bits, leaving x = θ − q·π/2 in [−π/4, π/4) exactly, where short Taylor series suffice
           (sin through x⁹, cos through x¹⁰: errors below 1e-9). */
        VI t = (VI)(w2 >> 8);
        VI q = (t + (1 << 21)) >> 22;
        VI f = t - (q << 22);
        VF x = __builtin_convertvector(f, VF) * 3.7450702829239286e-07f; /* (π/2)/2^22 */
        VF x2 = x * x;
        VF sinx = x + x * x2 * ((((1.0f / 362880.0f) * x2 - 1.0f / 5040.0f) * x2 + 1.0f / 120.0f) * x2 - 1.0f / 6.0f);
        VF cosx = 1.0f + x2 * (((((-1.0f / 3628800.0f) * x2 + 1.0f / 40320.0f) * x2 - 1.0f / 720.0f) * x2 + 1.0f / 24.0f) * x2 - 0.5f);
        /* Rotate by q quarter turns: odd q swaps sin and cos; signs follow the quadrant. */
        VI swap = -(q & 1);
        VF cosine = BNN_NAME(select)(swap, sinx, cosx);
        VF sine = BNN_NAME(select)(swap, cosx, sinx);
        cosine = (VF)((VI)cosine ^ (((q + 1) & 2) << 30));
        sine = (VF)((VI)sine ^ ((q & 2) << 30));
        BNN_NAME(store)(out + (2 * pair) * 16, mean + sd * (radius * cosine));
        BNN_NAME(store)(out + (2 * pair + 1) * 16, mean + sd * (radius * sine));
    }
}

BNN_INLINE void BNN_NAME(normal_group)(uint64_t first, const uint32_t keys[20], float mean, float sd,
                                       float *out) {
    VU c[1][4];
    BNN_NAME(philox_counters)(first, c[0]);
    BNN_NAME(philox_sets)(c, 1, keys);
    BNN_NAME(box_muller)(c[0], mean, sd, out);
}

/* `normal_group` for BNN_PHILOX_SETS consecutive groups of 64 (counters `first + 16·k ..`), into `out + 64·k`. */
BNN_INLINE void BNN_NAME(normal_groups)(uint64_t first, const uint32_t keys[20], float mean, float sd, float *out) {
    VU c[BNN_PHILOX_SETS][4];
    for (int k = 0; k < BNN_PHILOX_SETS; k++) BNN_NAME(philox_counters)(first + 16 * (uint64_t)k, c[k]);
    BNN_NAME(philox_sets)(c, BNN_PHILOX_SETS, keys);
    for (int k = 0; k < BNN_PHILOX_SETS; k++) BNN_NAME(box_muller)(c[k], mean, sd, out + 64 * k);
}

/* Elements `start ..< start + count` of the normal stream of `key`, written to `destination[0 ..< count]`. */
BNN_ATTR static void BNN_NAME(normal_fill)(float *destination, long start, long count, uint64_t key,
                                           float mean, float sd) {
    uint32_t keys[20];
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        keys[2 * round] = k0;
        keys[2 * round + 1] = k1;
        k0 += 0x9E3779B9u; /* Philox's Weyl key schedule */
        k1 += 0xBB67AE85u;
    }
    const long group = 64;
    long index = start;
    long end = start + count;
    float buffer[64];
    while (index < end) {
        long g = index / group;
        long offset = index - g * group;
        if (offset == 0 && index + BNN_PHILOX_SETS * group <= end) {
            float *out = destination + (index - start);
            for (int h = 0; h < 16; h += BNN_WIDTH)
                BNN_NAME(normal_groups)((uint64_t)g * 16 + h, keys, mean, sd, out + h);
            index += BNN_PHILOX_SETS * group;
        } else if (offset == 0 && index + group <= end) {
            float *out = destination + (index - start);
            for (int h = 0; h < 16; h += BNN_WIDTH)
                BNN_NAME(normal_group)((uint64_t)g * 16 + h, keys, mean, sd, out + h);
            index += group;
        } else {
            /* Partial group at either end: generate it whole, keep the part asked for. */
            for (int h = 0; h < 16; h += BNN_WIDTH)
                BNN_NAME(normal_group)((uint64_t)g * 16 + h, keys, mean, sd, buffer + h);
            long take = group - offset;
            if (take > end - index) take = end - index;
            for (long j = 0; j < take; j++) destination[index - start + j] = buffer[offset + j];
            index += take;
        }
    }
}

#undef BNN_MAP
#undef BNN_INLINE
#undef VF
#undef VI
#undef VU
#undef VU64
