/* The deterministic data assignment of DESIGN §5: any node can recompute which samples a miner with
 * uid u trains on in window W. Draws are without replacement, in a fixed order (a partial Fisher-Yates
 * shuffle over the virtual array 0..n-1 driven by tp_rng), using O(count) memory for any n. */
#ifndef TP_DATA_SAMPLER_H
#define TP_DATA_SAMPLER_H

#include <stdint.h>

#include "core/error.h"

/* seed = ((uid × 1000003) XOR window) mod 2^32. */
uint64_t tp_sample_seed(uint32_t uid, uint64_t window);

/* The pool of miner uid in window: count distinct indices in [0, n_samples), written to out in draw
 * order (pool position s·batch… is inner step s). Error if count > n_samples. */
tp_status tp_sample_pool(uint32_t uid, uint64_t window, uint64_t n_samples, uint64_t count, uint64_t *out,
                         tp_err *err);

/* The same draw from any seed (validators and the trainer derive their own). Step k takes
 * j = k + below(n − k) and swaps virtual positions k and j; out[k] is the value that lands at k. */
tp_status tp_sample_pool_seeded(uint64_t seed, uint64_t n_samples, uint64_t count, uint64_t *out, tp_err *err);

#endif
