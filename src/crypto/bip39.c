/* BIP-39 phrases ↔ entropy, and Substrate's mini secret (substrate-bip39) from a phrase.
 *
 * A phrase of n words holds 11n bits: the entropy (32n/3 bits) and then the first n/3 bits of the
 * entropy's SHA-256 as a checksum. Phrases are secrets: every buffer that held words, indices or
 * entropy is wiped before returning, on every path. */
#include "crypto/bip39.h"

#include <sodium.h>
#include <string.h>

#include "crypto/bip39_english.h"

#define WORDS_MAX 24
#define BITS_BYTES 33 /* 24 words × 11 bits */

/* BIP-39 says words are separated by spaces; tabs, newlines and repeated spaces from copy-and-paste
 * are accepted too, as the Rust bip39 crate (split_whitespace) accepts them. */
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static int valid_word_count(int n) { return n >= 12 && n <= WORDS_MAX && n % 3 == 0; }

/* The index of the word w[0..len) in the list, or -1. */
static int word_index(const char *w, size_t len) {
    if (len == 0 || len > TP_BIP39_WORD_MAX) return -1;
    int lo = 0, hi = TP_BIP39_WORDS - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = tp_bip39_english[mid];
        int c = strncmp(w, m, len);
        if (c == 0 && m[len]) c = -1; /* w is a proper prefix of m, so it sorts first */
        if (c == 0) return mid;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

static int count_words(const char *s) {
    int n = 0;
    while (*s) {
        while (is_space(*s)) s++;
        if (!*s) break;
        n++;
        while (*s && !is_space(*s)) s++;
    }
    return n;
}

static unsigned get11(const uint8_t *b, size_t bit) {
    unsigned v = 0;
    for (int k = 0; k < 11; k++, bit++) v = v << 1 | ((b[bit >> 3] >> (7 - (bit & 7))) & 1u);
    return v;
}

static void put11(uint8_t *b, size_t bit, unsigned v) {
    for (int k = 0; k < 11; k++, bit++)
        if ((v >> (10 - k)) & 1u) b[bit >> 3] |= (uint8_t)(0x80u >> (bit & 7));
}

/* The error for an unknown word. A long "word" is more likely a pasted seed or key than a typo
 * (list words have at most 8 letters), so it is described rather than echoed into a log. */
static tp_status unknown_word(const char *w, size_t len, int pos, tp_err *err) {
    if (len > 12) return tp_fail(err, TP_ERR_FORMAT, "word %d is not a BIP-39 English word (it has %zu characters)", pos, len);
    char shown[13]; /* control characters would garble a terminal or a log line */
    int upper = 0;
    for (size_t i = 0; i < len; i++) {
        upper |= w[i] >= 'A' && w[i] <= 'Z';
        shown[i] = (unsigned char)w[i] < 0x20 || w[i] == 0x7f ? '?' : w[i];
    }
    shown[len] = 0;
    return tp_fail(err, TP_ERR_FORMAT, "unknown word '%s' (word %d)%s", shown, pos, upper ? "; the words are lower case" : "");
}

/* Packs the phrase's n word indices, 11 bits each, into bits (BITS_BYTES, zeroed by the caller). */
static tp_status pack_words(const char *s, uint8_t bits[BITS_BYTES], tp_err *err) {
    for (int i = 0; *s; i++) {
        while (is_space(*s)) s++;
        if (!*s) break;
        size_t len = 0;
        while (s[len] && !is_space(s[len])) len++;
        int idx = word_index(s, len);
        if (idx < 0) return unknown_word(s, len, i + 1, err);
        put11(bits, (size_t)i * 11, (unsigned)idx);
        s += len;
    }
    return TP_OK;
}

tp_status tp_bip39_to_entropy(const char *phrase, uint8_t entropy[TP_BIP39_ENTROPY_MAX], size_t *len, tp_err *err) {
    if (!phrase) return tp_fail(err, TP_ERR_ARG, "no phrase given");
    int n = count_words(phrase);
    if (!valid_word_count(n))
        return tp_fail(err, TP_ERR_FORMAT, "a phrase has 12, 15, 18, 21 or 24 words, not %d", n);
    uint8_t bits[BITS_BYTES] = {0}, hash[crypto_hash_sha256_BYTES];
    tp_status st = pack_words(phrase, bits, err);
    size_t ent = (size_t)n / 3 * 4, cs = (size_t)n / 3; /* entropy bytes, checksum bits */
    if (st == TP_OK) {
        crypto_hash_sha256(hash, bits, ent);
        /* the checksum bits follow the entropy and the rest of bits is zero */
        if (bits[ent] != (hash[0] & (uint8_t)(0xffu << (8 - cs))))
            st = tp_fail(err, TP_ERR_FORMAT, "bad checksum: the words do not fit together (a mistyped or misplaced word?)");
    }
    if (st == TP_OK) {
        memcpy(entropy, bits, ent);
        *len = ent;
    }
    sodium_memzero(bits, sizeof bits);
    sodium_memzero(hash, sizeof hash);
    return st;
}

tp_status tp_bip39_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t cap, tp_err *err) {
    if (len < 16 || len > 32 || len % 4)
        return tp_fail(err, TP_ERR_ARG, "entropy must be 16, 20, 24, 28 or 32 bytes, not %zu", len);
    uint8_t bits[BITS_BYTES] = {0};
    memcpy(bits, entropy, len);
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, entropy, len);
    bits[len] = hash[0]; /* only the first len/4 bits of it are read */
    size_t n = len * 3 / 4, need = 0;
    for (size_t i = 0; i < n; i++) need += strlen(tp_bip39_english[get11(bits, i * 11)]) + 1;
    tp_status st = TP_OK;
    if (need > cap) {
        st = tp_fail(err, TP_ERR_ARG, "the phrase needs %zu bytes, the buffer has %zu", need, cap);
    } else {
        char *p = out;
        for (size_t i = 0; i < n; i++) {
            const char *w = tp_bip39_english[get11(bits, i * 11)];
            size_t wl = strlen(w);
            memcpy(p, w, wl);
            p += wl;
            *p++ = i + 1 < n ? ' ' : '\0';
        }
    }
    sodium_memzero(bits, sizeof bits);
    sodium_memzero(hash, sizeof hash);
    return st;
}

tp_status tp_bip39_generate(int words, char *out, size_t cap, tp_err *err) {
    if (!valid_word_count(words))
        return tp_fail(err, TP_ERR_ARG, "a phrase has 12, 15, 18, 21 or 24 words, not %d", words);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    uint8_t entropy[TP_BIP39_ENTROPY_MAX];
    size_t len = (size_t)words / 3 * 4;
    randombytes_buf(entropy, len);
    tp_status st = tp_bip39_from_entropy(entropy, len, out, cap, err);
    sodium_memzero(entropy, sizeof entropy);
    return st;
}

/* The first 64-byte block of PBKDF2-HMAC-SHA512(key, "mnemonic" ++ password, 2048 rounds): the mini
 * secret is its first half, so no second block is needed. The key's HMAC state is made once and
 * copied each round, which halves the hashing. */
static void pbkdf2_block1(const uint8_t *key, size_t key_len, const char *password, uint8_t t[64]) {
    static const uint8_t block_index[4] = {0, 0, 0, 1}; /* INT(1), big endian */
    crypto_auth_hmacsha512_state keyed, st;
    uint8_t u[crypto_auth_hmacsha512_BYTES];
    crypto_auth_hmacsha512_init(&keyed, key, key_len);
    st = keyed;
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)"mnemonic", 8);
    if (password) crypto_auth_hmacsha512_update(&st, (const uint8_t *)password, strlen(password));
    crypto_auth_hmacsha512_update(&st, block_index, sizeof block_index);
    crypto_auth_hmacsha512_final(&st, u);
    memcpy(t, u, 64);
    for (int round = 1; round < 2048; round++) {
        st = keyed;
        crypto_auth_hmacsha512_update(&st, u, sizeof u);
        crypto_auth_hmacsha512_final(&st, u);
        for (int i = 0; i < 64; i++) t[i] ^= u[i];
    }
    sodium_memzero(&keyed, sizeof keyed);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(u, sizeof u);
}

/* substrate-bip39's mini_secret_from_entropy: the PBKDF2 key is the entropy, not the words (BIP-39
 * seeds hash the words), and the password is taken as its UTF-8 bytes, unnormalised. */
tp_status tp_bip39_mini_secret(const char *phrase, const char *password, uint8_t seed[32], tp_err *err) {
    uint8_t entropy[TP_BIP39_ENTROPY_MAX], block[64];
    size_t len = 0;
    tp_status st = tp_bip39_to_entropy(phrase, entropy, &len, err);
    if (st == TP_OK) {
        pbkdf2_block1(entropy, len, password, block);
        memcpy(seed, block, 32);
    }
    sodium_memzero(entropy, sizeof entropy);
    sodium_memzero(block, sizeof block);
    return st;
}
