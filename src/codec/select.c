#include "codec/select.h"

#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

uint32_t tp_kth_largest(const uint32_t *keys, int n, int k, uint32_t *tmp) {
    /* MSB-first radix select, 8 bits per pass. After each pass only the keys sharing the answer's
     * prefix stay in play; they are compacted into tmp so later passes touch few keys. */
    const uint32_t *cur = keys;
    uint32_t prefix = 0;
    int want = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        int hist[256];
        memset(hist, 0, sizeof hist);
        unsigned hi = 0;
        for (int i = 0; i < n; i++) {
            unsigned b = (cur[i] >> shift) & 255;
            hist[b]++;
            hi = b > hi ? b : hi;
        }
        unsigned b = hi;
        for (; b > 0; b--) {
            if (want <= hist[b]) break;
            want -= hist[b];
        }
        prefix |= (uint32_t)b << shift;
        if (!shift) break;
        if (hist[b] != n) {
            int m = 0;
            for (int i = 0; i < n; i++) {
                tmp[m] = cur[i];
                m += ((cur[i] >> shift) & 255) == b;
            }
            n = m;
            cur = tmp;
        }
    }
    return prefix;
}

int tp_gather_at_least(const uint32_t *keys, int n, uint32_t t, uint16_t *pos, uint32_t *ck) {
    int m = 0, i = 0;
#ifdef __AVX2__
    /* Keys are below 2^31, so a signed compare against t - 1 is keys >= t (t = 0 keeps all). */
    __m256i tv = _mm256_set1_epi32((int32_t)t - 1);
    for (; i + 8 <= n; i += 8) {
        __m256i kv = _mm256_loadu_si256((const __m256i *)(keys + i));
        unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(kv, tv)));
        while (bits) {
            int j = __builtin_ctz(bits);
            pos[m] = (uint16_t)(i + j);
            ck[m] = keys[i + j];
            m++;
            bits &= bits - 1;
        }
    }
#endif
    for (; i < n; i++) {
        pos[m] = (uint16_t)i;
        ck[m] = keys[i];
        m += keys[i] >= t;
    }
    return m;
}

uint32_t tp_select_topk(const uint32_t *keys, int n, int k, int m, uint16_t *out, uint16_t *cand_pos,
                        uint32_t *cand_key, uint32_t *tmp) {
    if (k >= n) {
        for (int i = 0; i < n; i++) out[i] = (uint16_t)i;
        return tp_kth_largest(keys, n, n, tmp);
    }
    if (m < k) {
        m = 0;
        /* Sample threshold: the sample's r-th largest, with r chosen so that about 4k keys of the
         * block are expected to pass; falling short of k (rare) means taking every key. */
        enum { SAMPLE = 256 };
        if (n >= 4 * SAMPLE && (int64_t)k * 16 <= n) {
            uint32_t sample[SAMPLE];
            int stride = n / SAMPLE;
            for (int j = 0; j < SAMPLE; j++) sample[j] = keys[j * stride + stride / 2];
            int r = (int)(((int64_t)4 * k * SAMPLE + n - 1) / n);
            uint32_t t = tp_kth_largest(sample, SAMPLE, r < 1 ? 1 : r, tmp);
            m = tp_gather_at_least(keys, n, t, cand_pos, cand_key);
        }
        if (m < k) m = tp_gather_at_least(keys, n, 0, cand_pos, cand_key);
    }
    /* Candidates hold every key > T (T = k-th largest overall) and every key == T, in position
     * order, so the first (k - #greater) keys equal to T are exactly the lower-position ties. */
    uint32_t T = tp_kth_largest(cand_key, m, k, tmp);
    int greater = 0;
    for (int i = 0; i < m; i++) greater += cand_key[i] > T;
    int ties = k - greater, o = 0;
    for (int i = 0; i < m; i++) {
        uint32_t c = cand_key[i];
        if (c > T || (c == T && ties-- > 0)) out[o++] = cand_pos[i];
    }
    return T;
}
