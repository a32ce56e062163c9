/* Deterministic RNG, identical on every machine: SplitMix64 to seed, xoshiro256** to draw. */
#ifndef TP_CORE_RNG_H
#define TP_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} tp_rng;

void tp_rng_seed(tp_rng *r, uint64_t seed);
uint64_t tp_rng_next(tp_rng *r);
/* Uniform in [0, n) without modulo bias (Lemire). n > 0. */
uint64_t tp_rng_below(tp_rng *r, uint64_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float tp_rng_float(tp_rng *r);
/* Standard normal (Box-Muller). */
float tp_rng_normal(tp_rng *r);

#endif
