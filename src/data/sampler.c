#include "data/sampler.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/rng.h"

uint64_t tp_sample_seed(uint32_t uid, uint64_t window) {
    return (((uint64_t)uid * 1000003u) ^ window) & 0xffffffffu;
}

tp_status tp_sample_pool(uint32_t uid, uint64_t window, uint64_t n_samples, uint64_t count, uint64_t *out,
                         tp_err *err) {
    return tp_sample_pool_seeded(tp_sample_seed(uid, window), n_samples, count, out, err);
}

/* Open-addressing map position → value for the positions the shuffle has displaced; any position
 * not in it still holds its own index. */
typedef struct {
    uint64_t *keys; /* position + 1; 0 = empty */
    uint64_t *vals;
    uint64_t mask;
} swap_map;

static inline uint64_t slot_of(const swap_map *m, uint64_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    return (h ^ (h >> 29)) & m->mask;
}

/* The slot of pos: its entry, or the empty slot where it would go. */
static uint64_t map_slot(const swap_map *m, uint64_t pos) {
    uint64_t key = pos + 1, i = slot_of(m, key);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

tp_status tp_sample_pool_seeded(uint64_t seed, uint64_t n_samples, uint64_t count, uint64_t *out, tp_err *err) {
    if (count > n_samples)
        return tp_fail(err, TP_ERR_ARG, "cannot draw %" PRIu64 " distinct samples from %" PRIu64, count, n_samples);
    if (count == 0) return TP_OK;
    if (count > (UINT64_MAX >> 4)) return tp_fail(err, TP_ERR_ARG, "sample count %" PRIu64 " is too large", count);
    swap_map m;
    uint64_t cap = 16;
    while (cap < 2 * count) cap <<= 1; /* one insertion per draw: load stays <= 1/2 */
    m.mask = cap - 1;
    m.keys = tp_calloc(cap, sizeof *m.keys, err);
    m.vals = m.keys ? tp_malloc(cap * sizeof *m.vals, err) : NULL;
    if (!m.vals) {
        free(m.keys);
        return TP_ERR_NOMEM;
    }
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    for (uint64_t k = 0; k < count; k++) {
        uint64_t j = k + tp_rng_below(&rng, n_samples - k);
        /* Position k is never read again, so only j's new value is stored: one insertion per draw. */
        uint64_t sk = map_slot(&m, k), sj = map_slot(&m, j);
        uint64_t val_k = m.keys[sk] ? m.vals[sk] : k;
        out[k] = m.keys[sj] ? m.vals[sj] : j;
        m.keys[sj] = j + 1;
        m.vals[sj] = val_k;
    }
    free(m.keys);
    free(m.vals);
    return TP_OK;
}
