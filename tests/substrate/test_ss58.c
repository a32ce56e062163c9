/* SS58: the well-known dev-account addresses, a cross-check of random keys and prefixes against
 * @polkadot/util-crypto's encodeAddress (tests/substrate/ss58_ref.mjs), and every way a decode can
 * refuse an address (addresses made here byte by byte with their own base58 encoder). */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "substrate/ss58.h"

#define ALICE "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
#define ALICE_SS58 "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
#define BOB "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"
#define BOB_SS58 "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"

static void unhex32(const char *h, uint8_t out[32]) { cr_assert_eq(tp_unhex(h, out, 32), 0, "bad test hex %s", h); }

static void fill_key(uint8_t k[32], uint64_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 7;
    for (int i = 0; i < 32; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k[i] = (uint8_t)(x >> 29);
    }
}

static void expect_round_trip(uint16_t prefix, const uint8_t key[32], const char *want) {
    char s[TP_SS58_MAX];
    tp_err err;
    cr_assert_eq(tp_ss58_encode(prefix, key, s, &err), TP_OK, "encode: %s", err.msg);
    cr_expect_str_eq(s, want, "prefix %u", prefix);
    uint8_t back[32];
    uint16_t p = 0xffff;
    cr_assert_eq(tp_ss58_decode(want, back, &p, &err), TP_OK, "decode %s: %s", want, err.msg);
    cr_expect_eq(p, prefix);
    cr_expect_eq(memcmp(back, key, 32), 0, "decode %s gave another key", want);
}

Test(substrate, ss58_dev_accounts) {
    uint8_t k[32];
    unhex32(ALICE, k);
    expect_round_trip(42, k, ALICE_SS58);
    unhex32(BOB, k);
    expect_round_trip(TP_SS58_BITTENSOR, k, BOB_SS58);
    tp_err err;
    cr_expect_eq(tp_ss58_decode(ALICE_SS58, k, NULL, &err), TP_OK, "a NULL prefix is allowed: %s", err.msg);
}

/* Runs the reference encoder on n "PREFIX HEX" lines; out[i] gets its address. */
static void reference(const uint16_t *prefixes, uint8_t (*keys)[32], int n, char (*out)[TP_SS58_MAX]) {
    const char *root = getenv("TEMPLAR_ROOT");
    char script[4096], input[] = "/tmp/templar-ss58-XXXXXX", cmd[8192];
    snprintf(script, sizeof script, "%s/tests/substrate/ss58_ref.mjs", root ? root : ".");
    int fd = mkstemp(input);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < n; i++) {
        char hex[65];
        tp_hex(keys[i], 32, hex);
        fprintf(f, "%u %s\n", prefixes[i], hex);
    }
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "node '%s' < '%s'", script, input);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    for (int i = 0; i < n; i++) {
        cr_assert(fgets(out[i], TP_SS58_MAX, p), "the reference encoder gave %d of %d lines (%s)", i, n, cmd);
        out[i][strcspn(out[i], "\n")] = 0;
    }
    cr_assert_eq(pclose(p), 0, "%s failed (is @polkadot/util-crypto installed? run scripts/install-deps)", cmd);
    unlink(input);
}

Test(substrate, ss58_matches_polkadot_js) {
    enum { KEYS = 5, FIXED = 6, RANDOM = 12, N = FIXED * KEYS + RANDOM };
    static const uint16_t fixed[FIXED] = {0, 2, 42, 64, 255, 16383};
    uint16_t prefixes[N];
    uint8_t keys[N][32];
    int n = 0;
    for (int i = 0; i < FIXED; i++)
        for (int k = 0; k < KEYS; k++, n++) {
            prefixes[n] = fixed[i];
            fill_key(keys[n], (uint64_t)n + 1);
        }
    uint64_t x = 12345;
    while (n < N) { /* random prefixes over the whole range, reserved ones skipped */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint16_t p = (uint16_t)((x >> 33) % 16384);
        if (p == 46 || p == 47) continue;
        prefixes[n] = p;
        fill_key(keys[n], x);
        n++;
    }
    memset(keys[0], 0, 32); /* leading zero bytes after a zero prefix: base58's leading '1's */
    memset(keys[1], 0xff, 32);
    char (*want)[TP_SS58_MAX] = calloc(N, TP_SS58_MAX);
    reference(prefixes, keys, N, want);
    for (int i = 0; i < N; i++) expect_round_trip(prefixes[i], keys[i], want[i]);
    free(want);
}

Test(substrate, ss58_encode_refuses_prefixes) {
    uint8_t k[32] = {1};
    char s[TP_SS58_MAX];
    tp_err err;
    const uint16_t bad[] = {46, 47, 16384, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(tp_ss58_encode(bad[i], k, s, &err), TP_ERR_ARG, "prefix %u accepted", bad[i]);
        cr_expect(strstr(err.msg, bad[i] < 48 ? "reserved" : "above 16383"), "prefix %u: %s", bad[i], err.msg);
    }
}

/* ---------------------------------------------------------------- hand-made addresses */

/* An independent base58 encoder: the bytes as one big number, divided by 58 repeatedly. */
static void b58(const uint8_t *in, size_t n, char *out) {
    static const char A[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t num[64];
    memcpy(num, in, n);
    char rev[128];
    size_t k = 0, zeros = 0;
    while (zeros < n && !in[zeros]) zeros++;
    for (;;) {
        int nonzero = 0;
        unsigned rem = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned cur = rem * 256 + num[i];
            num[i] = (uint8_t)(cur / 58);
            rem = cur % 58;
            nonzero |= num[i] != 0;
        }
        if (!nonzero && rem == 0) break;
        rev[k++] = A[rem];
        if (!nonzero) break;
    }
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++) out[o++] = '1';
    while (k) out[o++] = rev[--k];
    out[o] = 0;
}

/* prefix bytes ++ key ++ checksum (a correct one unless corrupt), in base58. */
static void craft(const uint8_t *prefix, size_t plen, size_t key_len, int corrupt, char *out) {
    uint8_t b[64];
    memcpy(b, prefix, plen);
    for (size_t i = 0; i < key_len; i++) b[plen + i] = (uint8_t)(i * 7 + 3);
    uint8_t h[64];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 64);
    crypto_generichash_update(&st, (const uint8_t *)"SS58PRE", 7);
    crypto_generichash_update(&st, b, plen + key_len);
    crypto_generichash_final(&st, h, 64);
    b[plen + key_len] = h[0] ^ (corrupt ? 1 : 0);
    b[plen + key_len + 1] = h[1];
    b58(b, plen + key_len + 2, out);
}

static void expect_refused(const char *s, const char *needle) {
    uint8_t k[32];
    tp_err err;
    cr_expect_eq(tp_ss58_decode(s, k, NULL, &err), TP_ERR_FORMAT, "'%s' accepted", s);
    cr_expect(strstr(err.msg, needle), "'%s': expected '%s' in: %s", s, needle, err.msg);
}

Test(substrate, ss58_decode_refusals) {
    char s[128];
    craft((const uint8_t[]){42}, 1, 32, 0, s);
    uint8_t k[32];
    tp_err err;
    cr_assert_eq(tp_ss58_decode(s, k, NULL, &err), TP_OK, "the crafter itself is wrong: %s", err.msg);

    expect_refused("", "empty");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ0", "not base58: '0'");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQl", "not base58: 'l'");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut Y", "byte 0x20");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", "bad checksum");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ", "wrong length");
    expect_refused("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQYY", "wrong length");
    memset(s, 'z', 100);
    s[100] = 0;
    expect_refused(s, "too long");
    craft((const uint8_t[]){42}, 1, 32, 1, s);
    expect_refused(s, "bad checksum");
    craft((const uint8_t[]){42}, 1, 33, 0, s); /* a 33-byte (ECDSA) key */
    expect_refused(s, "wrong length");
    craft((const uint8_t[]){42}, 1, 20, 0, s);
    expect_refused(s, "wrong length");
    craft((const uint8_t[]){0x80}, 1, 32, 0, s);
    expect_refused(s, "invalid prefix byte 0x80");
    craft((const uint8_t[]){46}, 1, 32, 0, s);
    expect_refused(s, "reserved prefix 46");
    craft((const uint8_t[]){0x4a, 0x80}, 2, 32, 0, s); /* 42 spelled in two bytes */
    expect_refused(s, "spells prefix 42 in two bytes");
    craft((const uint8_t[]){0x50, 0x00}, 2, 32, 0, s); /* 64, canonical */
    uint16_t p;
    cr_expect_eq(tp_ss58_decode(s, k, &p, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(p, 64);
}
