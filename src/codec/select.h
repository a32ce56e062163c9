/* Exact top-k of one block by magnitude (DESIGN §7.3), without sorting the block: a threshold
 * estimated from a sample keeps a few k candidates, a radix select finds the k-th largest among
 * them, and one pass over the candidates (already in position order) emits the result sorted.
 * Magnitudes are compared as the bit patterns of |v| (monotone for non-negative floats); ties go to
 * the lower position. */
#ifndef TP_CODEC_SELECT_H
#define TP_CODEC_SELECT_H

#include <stdint.h>

/* Key of a float for magnitude order: the bits of |v|. NaN keys exceed TP_KEY_INF. */
#define TP_KEY_INF 0x7f800000u
static inline uint32_t tp_mag_key(float v) {
    union {
        float f;
        uint32_t u;
    } x = {.f = v};
    return x.u & 0x7fffffffu;
}

/* The k-th largest (1 <= k <= n) of n keys, in O(n); tmp holds n keys of scratch. */
uint32_t tp_kth_largest(const uint32_t *keys, int n, int k, uint32_t *tmp);

/* Copies the positions and keys of all keys >= t, in position order; returns how many. */
int tp_gather_at_least(const uint32_t *keys, int n, uint32_t t, uint16_t *pos, uint32_t *ck);

/* Writes the positions of the k largest of n keys (1 <= k <= n <= 65536), ascending, into out, and
 * returns the k-th largest key. cand_pos, cand_key and tmp are scratch of n entries each. If m >= 0,
 * the caller has already gathered the m keys >= some threshold into cand_pos/cand_key (as
 * tp_gather_at_least does); with m < k that threshold was too high and is ignored. */
uint32_t tp_select_topk(const uint32_t *keys, int n, int k, int m, uint16_t *out, uint16_t *cand_pos,
                        uint32_t *cand_key, uint32_t *tmp);

#endif
