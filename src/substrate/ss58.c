/* SS58 addresses. Debian 12 packages no base58 library, so a small codec is here: the inputs are at
 * most a few dozen bytes, so the quadratic schoolbook conversion is plenty. Decoding is strict so that
 * every accepted address has exactly one spelling: a two-byte prefix below 64 (which encodes as one
 * byte) is refused, and so are the reserved prefixes 46 and 47. */
#include "substrate/ss58.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ACCOUNT 32
#define CHECKSUM 2
#define MAX_BYTES 40 /* two prefix bytes + account + checksum, with room */
#define MAX_CHARS 56 /* 40 bytes in base58 (1.37 characters each), with room */

static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* ---------------------------------------------------------------- base58 */

/* n <= MAX_BYTES; out holds at least MAX_CHARS + 1. */
static void b58_encode(const uint8_t *in, size_t n, char *out) {
    uint8_t digits[MAX_CHARS]; /* base-58 digits, least significant first */
    size_t len = 0, zeros = 0;
    while (zeros < n && !in[zeros]) zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < len; j++) {
            carry += 256u * digits[j];
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        for (; carry; carry /= 58) digits[len++] = (uint8_t)(carry % 58);
    }
    size_t k = 0;
    for (size_t i = 0; i < zeros; i++) out[k++] = '1'; /* each leading zero byte is one '1' */
    while (len) out[k++] = ALPHABET[digits[--len]];
    out[k] = 0;
}

static int b58_digit(char c) {
    const char *p = c ? strchr(ALPHABET, c) : NULL;
    return p ? (int)(p - ALPHABET) : -1;
}

/* Decodes s (at most MAX_CHARS characters) into out[MAX_BYTES]; *n gets the length. */
static tp_status b58_decode(const char *s, size_t s_len, uint8_t *out, size_t *n, tp_err *err) {
    uint8_t bytes[MAX_CHARS]; /* least significant first; 56 digits need at most 41 bytes */
    size_t len = 0, zeros = 0;
    while (zeros < s_len && s[zeros] == '1') zeros++;
    for (size_t i = 0; i < s_len; i++) {
        int d = b58_digit(s[i]);
        if (d < 0) {
            unsigned char c = (unsigned char)s[i];
            if (c > 0x20 && c < 0x7f)
                return tp_fail(err, TP_ERR_FORMAT, "SS58 address is not base58: '%c' at position %zu", c, i);
            return tp_fail(err, TP_ERR_FORMAT, "SS58 address is not base58: byte 0x%02x at position %zu", c, i);
        }
        if (i < zeros) continue;
        unsigned carry = (unsigned)d;
        for (size_t j = 0; j < len; j++) {
            carry += 58u * bytes[j];
            bytes[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        for (; carry; carry >>= 8) bytes[len++] = (uint8_t)(carry & 0xff);
    }
    if (zeros + len > MAX_BYTES)
        return tp_fail(err, TP_ERR_FORMAT, "SS58 address decodes to %zu bytes, too many for an account address", zeros + len);
    memset(out, 0, zeros);
    for (size_t i = 0; i < len; i++) out[zeros + i] = bytes[len - 1 - i];
    *n = zeros + len;
    return TP_OK;
}

/* ---------------------------------------------------------------- SS58 */

/* The first two bytes of BLAKE2b-512("SS58PRE" ++ data). */
static tp_status checksum(const uint8_t *data, size_t n, uint8_t out[CHECKSUM], tp_err *err) {
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_generichash_state st;
    uint8_t h[64];
    if (crypto_generichash_init(&st, NULL, 0, sizeof h) || crypto_generichash_update(&st, (const uint8_t *)"SS58PRE", 7) ||
        crypto_generichash_update(&st, data, n) || crypto_generichash_final(&st, h, sizeof h))
        return tp_fail(err, TP_ERR_INTERNAL, "BLAKE2b failed");
    memcpy(out, h, CHECKSUM);
    return TP_OK;
}

static int reserved(unsigned prefix) { return prefix == 46 || prefix == 47; }

tp_status tp_ss58_encode(uint16_t prefix, const uint8_t account[32], char *out, tp_err *err) {
    out[0] = 0;
    if (prefix > 16383 || reserved(prefix))
        return tp_fail(err, TP_ERR_ARG, "SS58 prefix %u is %s", prefix, reserved(prefix) ? "reserved" : "above 16383");
    uint8_t b[MAX_BYTES];
    size_t k = 0;
    if (prefix < 64) {
        b[k++] = (uint8_t)prefix;
    } else {
        /* Bits 2-7 of the prefix in the first byte (tagged 01), bits 0-1 and 8-13 in the second. */
        b[k++] = (uint8_t)(((prefix & 0xfc) >> 2) | 0x40);
        b[k++] = (uint8_t)((prefix >> 8) | ((prefix & 0x03) << 6));
    }
    memcpy(b + k, account, ACCOUNT);
    k += ACCOUNT;
    if (checksum(b, k, b + k, err)) return err->code;
    b58_encode(b, k + CHECKSUM, out);
    return TP_OK;
}

/* The prefix from the first bytes of a decoded address (at least two); *len gets its length in bytes. */
static tp_status read_prefix(const uint8_t *b, uint16_t *prefix, size_t *len, tp_err *err) {
    if (b[0] & 0x80) return tp_fail(err, TP_ERR_FORMAT, "SS58 address has an invalid prefix byte 0x%02x", b[0]);
    if (!(b[0] & 0x40)) {
        *prefix = b[0];
        *len = 1;
    } else {
        *prefix = (uint16_t)(((b[0] & 0x3f) << 2) | (b[1] >> 6) | ((b[1] & 0x3f) << 8));
        *len = 2;
        if (*prefix < 64)
            return tp_fail(err, TP_ERR_FORMAT, "SS58 address spells prefix %u in two bytes (it takes one)", *prefix);
    }
    if (reserved(*prefix)) return tp_fail(err, TP_ERR_FORMAT, "SS58 address has the reserved prefix %u", *prefix);
    return TP_OK;
}

tp_status tp_ss58_decode(const char *s, uint8_t account[32], uint16_t *prefix, tp_err *err) {
    size_t s_len = strnlen(s, MAX_CHARS + 1);
    if (!s_len) return tp_fail(err, TP_ERR_FORMAT, "SS58 address is empty");
    if (s_len > MAX_CHARS)
        return tp_fail(err, TP_ERR_FORMAT, "SS58 address is too long (over %d characters; an account address has at most 50)",
                       MAX_CHARS);
    uint8_t b[MAX_BYTES];
    size_t n = 0, plen = 1;
    uint16_t p = 0;
    if (b58_decode(s, s_len, b, &n, err)) return err->code;
    /* Length first: a truncated or extended address has garbage where the prefix was. */
    if (n != 1 + ACCOUNT + CHECKSUM && n != 2 + ACCOUNT + CHECKSUM)
        return tp_fail(err, TP_ERR_FORMAT, "SS58 address has the wrong length: %zu bytes, not the 35 or 36 of a 32-byte account",
                       n);
    if (read_prefix(b, &p, &plen, err)) return err->code;
    if (n != plen + ACCOUNT + CHECKSUM)
        return tp_fail(err, TP_ERR_FORMAT, "SS58 address has the wrong length: %zu bytes, not the %zu of a 32-byte account "
                       "with a %zu-byte prefix", n, plen + ACCOUNT + CHECKSUM, plen);
    uint8_t sum[CHECKSUM];
    if (checksum(b, plen + ACCOUNT, sum, err)) return err->code;
    if (memcmp(sum, b + plen + ACCOUNT, CHECKSUM))
        return tp_fail(err, TP_ERR_FORMAT, "SS58 address has a bad checksum (mistyped?)");
    memcpy(account, b + plen, ACCOUNT);
    if (prefix) *prefix = p;
    return TP_OK;
}
