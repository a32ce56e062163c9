#include "codec/indexcode.h"

#include <string.h>

/* ---- 12bit ---- */

size_t tp_pack12_bytes(int64_t count) { return (size_t)((count + 1) / 2) * 3; }

void tp_pack12(const uint16_t *pos, int64_t count, uint8_t *out) {
    for (int64_t i = 0; i < count; i += 2) {
        unsigned a = pos[i] & 0xfff, b = i + 1 < count ? pos[i + 1] & 0xfff : 0;
        *out++ = (uint8_t)(a & 0xff);
        *out++ = (uint8_t)((a >> 8) | (b & 0x0f) << 4);
        *out++ = (uint8_t)(b >> 4);
    }
}

int tp_unpack12(const uint8_t *in, size_t len, int64_t count, uint16_t *out) {
    if (len != tp_pack12_bytes(count)) return -1;
    for (int64_t i = 0; i < count; i += 2) {
        unsigned b0 = in[0], b1 = in[1], b2 = in[2];
        in += 3;
        out[i] = (uint16_t)(b0 | (b1 & 0x0f) << 8);
        uint16_t second = (uint16_t)(b1 >> 4 | b2 << 4);
        if (i + 1 < count) out[i + 1] = second;
        else if (second) return -1;
    }
    return 0;
}

/* ---- rice ---- */

/* Gaps of block-sorted positions; -1 where a block is not strictly increasing. */
static inline int64_t gap(const uint16_t *blk, int64_t j) { return j ? (int64_t)blk[j] - blk[j - 1] - 1 : blk[0]; }

int64_t tp_rice_bytes(const uint16_t *pos, int64_t nblocks, int64_t k, int r) {
    uint64_t bits = 0;
    for (int64_t b = 0; b < nblocks; b++) {
        const uint16_t *blk = pos + b * k;
        for (int64_t j = 0; j < k; j++) {
            int64_t g = gap(blk, j);
            if (g < 0) return -1;
            bits += 1 + (uint64_t)r + ((uint64_t)g >> r);
        }
    }
    return 1 + (int64_t)((bits + 7) / 8);
}

int tp_rice_choose(const uint16_t *pos, int64_t nblocks, int64_t k, size_t *bytes) {
    /* sums[r] = total of gap >> r: the only part of the length that depends on the data. */
    uint64_t sums[TP_RICE_MAX_R + 1] = {0};
    for (int64_t b = 0; b < nblocks; b++) {
        const uint16_t *blk = pos + b * k;
        for (int64_t j = 0; j < k; j++) {
            uint32_t g = (uint32_t)gap(blk, j);
            for (int r = 0; r <= TP_RICE_MAX_R; r++) sums[r] += g >> r;
        }
    }
    uint64_t n = (uint64_t)(nblocks * k), best_bits = UINT64_MAX;
    int best = 0;
    for (int r = 0; r <= TP_RICE_MAX_R; r++) {
        uint64_t bits = n * (1 + (uint64_t)r) + sums[r];
        /* Compare whole bytes: two parameters with the same length give the same size either way,
         * and the smaller one wins. */
        uint64_t len = (bits + 7) / 8;
        if (len < best_bits) {
            best_bits = len;
            best = r;
        }
    }
    if (bytes) *bytes = 1 + (size_t)best_bits;
    return best;
}

size_t tp_rice_max_bytes(int64_t nblocks, int64_t k, int64_t totalk) {
    /* Per block, the gaps sum to at most totalk - k, so sum(gap >> r) <= (totalk - k) >> r; the
     * encoder's choice is no longer than the best of these bounds. */
    uint64_t best = UINT64_MAX;
    for (int r = 0; r <= TP_RICE_MAX_R; r++) {
        uint64_t per = (uint64_t)k * (1 + (uint64_t)r) + ((uint64_t)(totalk - k) >> r);
        uint64_t bytes = ((uint64_t)nblocks * per + 7) / 8;
        if (bytes < best) best = bytes;
    }
    return 1 + (size_t)best;
}

typedef struct {
    uint8_t *out;
    size_t cap, n;
    uint64_t acc;
    int nacc;
    int overflow;
} bitwriter;

static inline void put_bits(bitwriter *w, uint64_t v, int nbits) { /* nbits <= 32 */
    w->acc |= v << w->nacc;
    w->nacc += nbits;
    if (w->nacc >= 32) {
        if (w->n + 4 <= w->cap) {
            uint32_t lo = (uint32_t)w->acc;
            uint8_t b[4] = {(uint8_t)lo, (uint8_t)(lo >> 8), (uint8_t)(lo >> 16), (uint8_t)(lo >> 24)};
            memcpy(w->out + w->n, b, 4);
        } else {
            w->overflow = 1;
        }
        w->n += 4;
        w->acc >>= 32;
        w->nacc -= 32;
    }
}

size_t tp_rice_encode(const uint16_t *pos, int64_t nblocks, int64_t k, int r, uint8_t *out, size_t cap) {
    if (cap < 1 || r < 0 || r > TP_RICE_MAX_R) return 0;
    out[0] = (uint8_t)r;
    bitwriter w = {.out = out + 1, .cap = cap - 1};
    const uint32_t mask = (1u << r) - 1;
    for (int64_t b = 0; b < nblocks; b++) {
        const uint16_t *blk = pos + b * k;
        for (int64_t j = 0; j < k; j++) {
            int64_t g = gap(blk, j);
            if (g < 0) return 0;
            uint32_t q = (uint32_t)g >> r;
            while (q >= 32) {
                put_bits(&w, 0, 32);
                q -= 32;
            }
            put_bits(&w, (uint64_t)1 << q, (int)q + 1);
            if (r) put_bits(&w, (uint32_t)g & mask, r);
        }
    }
    while (w.nacc > 0) {
        if (w.n < w.cap) w.out[w.n] = (uint8_t)w.acc;
        else w.overflow = 1;
        w.n++;
        w.acc >>= 8;
        w.nacc -= 8;
    }
    return w.overflow ? 0 : w.n + 1;
}

/* Up to 64 bits of the stream from bit pos; bits past the end read as zero. */
static inline uint64_t peek(const uint8_t *d, size_t len, uint64_t pos) {
    size_t byte = (size_t)(pos >> 3);
    uint64_t w = 0;
    if (byte + 8 <= len) {
        memcpy(&w, d + byte, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
    } else {
        for (size_t i = 0; byte + i < len; i++) w |= (uint64_t)d[byte + i] << (8 * i);
    }
    return w >> (pos & 7);
}

/* Bit reader over [d, end): buf holds nb unread bits (least significant first). Bits above nb are
 * the stream's next bits or zero, never anything else, so a set bit found there is real data. */
typedef struct {
    const uint8_t *d, *p, *end;
    uint64_t buf;
    int nb;
} bitreader;

static inline void refill(bitreader *br) {
    if (br->end - br->p >= 8) {
        uint64_t w;
        memcpy(&w, br->p, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        br->buf |= w << br->nb;
        br->p += (63 - br->nb) >> 3;
        br->nb |= 56;
    } else {
        while (br->nb <= 56 && br->p < br->end) {
            br->buf |= (uint64_t)*br->p++ << br->nb;
            br->nb += 8;
        }
    }
}

/* Position of the next unread bit. */
static inline uint64_t bitpos(const bitreader *br) { return (uint64_t)(br->p - br->d) * 8 - (uint64_t)br->nb; }

static inline void seek(bitreader *br, uint64_t pos) {
    br->p = br->d + (pos >> 3);
    br->buf = 0;
    br->nb = 0;
    refill(br);
    int skip = (int)(pos & 7);
    br->buf >>= skip;
    br->nb -= skip;
}

tp_rice_result tp_rice_decode(const uint8_t *in, size_t len, int64_t nblocks, int64_t k, int64_t totalk,
                              uint16_t *out) {
    tp_rice_result res = {0};
    if (len < 1 || in[0] > TP_RICE_MAX_R) {
        res.status = TP_RICE_BAD_PARAM;
        res.value = len ? in[0] : 0;
        return res;
    }
    const int r = in[0];
    const uint8_t *d = in + 1;
    const size_t dlen = len - 1;
    const uint64_t total = (uint64_t)dlen * 8, mask = ((uint64_t)1 << r) - 1;
    /* The largest quotient a valid gap (< totalk) can have. */
    const uint64_t qmax = (uint64_t)(totalk - 1) >> r;
    bitreader br = {.d = d, .p = d, .end = d + dlen};
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t prev = -1;
        uint16_t *o = out + b * k;
        for (int64_t j = 0; j < k; j++) {
            if (br.nb < 40) refill(&br);
            uint64_t g;
            int z = br.buf ? __builtin_ctzll(br.buf) : 64;
            if (z + 1 + r <= br.nb && (uint64_t)z <= qmax) {
                g = (uint64_t)z << r | ((br.buf >> (z + 1)) & mask);
                br.buf >>= z + 1 + r;
                br.nb -= z + 1 + r;
            } else {
                /* Long unary runs and the end of the stream, on exact bit positions. */
                uint64_t pos = bitpos(&br), q = 0;
                for (;;) {
                    if (pos >= total) goto short_stream;
                    uint64_t w = peek(d, dlen, pos);
                    if (w) {
                        int zz = __builtin_ctzll(w);
                        q += (uint64_t)zz;
                        pos += (uint64_t)zz + 1;
                        break;
                    }
                    q += 56;
                    pos += 56;
                    if (q > qmax) break;
                }
                if (q > qmax) {
                    res.status = TP_RICE_RANGE;
                    res.value = (uint64_t)(prev + 1) + (q << r);
                    goto fail;
                }
                if (pos > total || pos + (uint64_t)r > total) goto short_stream;
                g = q << r | (r ? (peek(d, dlen, pos) & mask) : 0);
                seek(&br, pos + (uint64_t)r);
            }
            int64_t p = prev + 1 + (int64_t)g;
            if (p >= totalk) {
                res.status = TP_RICE_RANGE;
                res.value = (uint64_t)p;
                goto fail;
            }
            o[j] = (uint16_t)p;
            prev = p;
            continue;
        short_stream:
            res.status = TP_RICE_SHORT;
        fail:
            res.block = b;
            res.entry = j;
            return res;
        }
    }
    uint64_t pos = bitpos(&br), used = (pos + 7) / 8;
    if (used < dlen || (pos & 7 && (d[used - 1] >> (pos & 7)))) {
        res.status = TP_RICE_TRAILING;
        res.block = nblocks;
        res.value = dlen - used;
    }
    return res;
}

/* ---- codes ---- */

size_t tp_codes_bytes(int64_t count, int bits) { return (size_t)((count * bits + 7) / 8); }

void tp_codes_pack(const uint8_t *codes, int64_t count, int bits, uint8_t *out) {
    size_t n = tp_codes_bytes(count, bits);
    memset(out, 0, n);
    if (bits == 2) {
        int64_t i = 0;
        for (; i + 4 <= count; i += 4)
            out[i >> 2] = (uint8_t)(codes[i] | codes[i + 1] << 2 | codes[i + 2] << 4 | codes[i + 3] << 6);
        for (; i < count; i++) out[i >> 2] |= (uint8_t)(codes[i] << ((i & 3) * 2));
    } else {
        int64_t i = 0;
        for (; i + 2 <= count; i += 2) out[i >> 1] = (uint8_t)(codes[i] | codes[i + 1] << 4);
        for (; i < count; i++) out[i >> 1] |= (uint8_t)(codes[i] << ((i & 1) * 4));
    }
}

int tp_codes_unpack(const uint8_t *in, int64_t count, int bits, int bins, uint8_t *out, int64_t *bad_at) {
    const unsigned m = (1u << bits) - 1;
    const int per = 8 / bits;
    uint8_t maxc = 0;
    int64_t i = 0;
    for (; i + per <= count; i += per) {
        unsigned byte = in[i / per];
        for (int s = 0; s < per; s++) {
            uint8_t c = (uint8_t)((byte >> (s * bits)) & m);
            out[i + s] = c;
            maxc = c > maxc ? c : maxc;
        }
    }
    for (; i < count; i++) {
        uint8_t c = (uint8_t)((in[i / per] >> ((i % per) * bits)) & m);
        out[i] = c;
        maxc = c > maxc ? c : maxc;
    }
    if (maxc >= bins) {
        for (int64_t j = 0; j < count; j++)
            if (out[j] >= bins) {
                if (bad_at) *bad_at = j;
                return -1;
            }
    }
    if (count % per && in[count / per] >> ((count % per) * bits)) return -2;
    return 0;
}
