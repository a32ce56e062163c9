/* sr25519: published vectors (sp-core's sr25519 tests, schnorrkel's docs, the dev accounts), both
 * directions against polkadot-js on fixed and random keys and messages (tests/crypto/sr25519_ref.mjs:
 * @polkadot/util-crypto and the @scure/sr25519 it signs with), and every way a signature, public
 * key or secret can be refused. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "crypto/sr25519.h"
#include "crypto/sr25519_internal.h"

/* subkey's DEV_PHRASE "bottom drive obey lake curtain smoke basket hold race lonely fit walk" as a
 * mini secret (@polkadot/util-crypto's mnemonicToMiniSecret). */
#define DEV_SEED "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"
#define ALICE "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
#define BOB "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"
/* The group order l, little endian. */
static const uint8_t group_order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                        0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

static void unhex(const char *h, uint8_t *out, size_t n) {
    cr_assert_eq(tp_unhex(h, out, n), 0, "bad hex (%zu bytes wanted): %s", n, h);
}

static void expect_hex(const uint8_t *got, size_t n, const char *want, const char *what) {
    char h[257];
    cr_assert_leq(n, 128);
    tp_hex(got, n, h);
    cr_expect_str_eq(h, want, "%s", what);
}

static void pair_of(const char *seed_hex, uint8_t secret[64], uint8_t pub[32]) {
    uint8_t seed[32];
    unhex(seed_hex, seed, 32);
    tp_sr25519_from_seed(seed, secret, pub);
}

/* A junction's chain code as Substrate makes it for a short name: SCALE (compact length ++ bytes),
 * zero-padded to 32 bytes. */
static void name_chain_code(const char *name, uint8_t cc[32]) {
    memset(cc, 0, 32);
    cc[0] = (uint8_t)(strlen(name) << 2);
    memcpy(cc + 1, name, strlen(name));
}

static void sign_ok(const uint8_t secret[64], const uint8_t pub[32], const uint8_t *msg, size_t len,
                    uint8_t sig[64]) {
    tp_err err;
    cr_assert_eq(tp_sr25519_sign(secret, pub, msg, len, sig, &err), TP_OK, "sign: %s", err.msg);
}

/* ---------------------------------------------------------------------- published vectors */

Test(sr25519, published_vectors) {
    uint8_t secret[64], pub[32], sig[64];
    /* sp-core sr25519 tests: sr_test_vector_should_work and seeded_pair_should_work */
    pair_of("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", secret, pub);
    expect_hex(pub, 32, "44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f", "sr_test_vector");
    sign_ok(secret, pub, NULL, 0, sig);
    cr_expect_eq(tp_sr25519_verify(sig, NULL, 0, pub), 0, "the empty message");
    const uint8_t *seed = (const uint8_t *)"12345678901234567890123456789012";
    tp_sr25519_from_seed(seed, secret, pub);
    expect_hex(pub, 32, "741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63", "seeded_pair");
    uint8_t msg[82];
    unhex("2f8c6129d816cf51c374bc7f08c3e63ed156cf78aefb4a6550d97b87997977ee00000000000000000200d75a980182b10a"
          "b7d54bfed3c964073a0ee172f3daa62325af021a68f707511a4500000000000000",
          msg, sizeof msg);
    sign_ok(secret, pub, msg, sizeof msg, sig);
    cr_expect_eq(tp_sr25519_verify(sig, msg, sizeof msg, pub), 0, "seeded_pair's message");
    /* schnorrkel keys.rs, SecretKey::from_ed25519_bytes's example */
    uint8_t ed[64], back[64];
    tp_err err;
    unhex("28b0ae221c6bb06856b287f60d7ea0d98552ea5a16db16956849aa371db3eb51fd190cce74df356432b410bd64682309d6dedb"
          "27c76845daf388557cbac3ca34",
          ed, 64);
    cr_assert_eq(tp_sr25519_from_ed25519_bytes(ed, secret, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_sr25519_public(secret, pub, &err), TP_OK, "%s", err.msg);
    expect_hex(pub, 32, "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a", "from_ed25519_bytes");
    tp_sr25519_to_ed25519_bytes(secret, back);
    cr_expect_eq(memcmp(back, ed, 64), 0, "to_ed25519_bytes does not give the bytes back");
}

/* The dev accounts: sp-core's derive_hard_known_pair_should_work (//Alice) and
 * derive_soft_known_pair_should_work (/Alice); //Bob is the well-known Bob. */
Test(sr25519, dev_accounts) {
    uint8_t dev[64], dev_pub[32], cc[32], child_seed[32], child[64], pub[32], soft_pub[32];
    tp_err err;
    pair_of(DEV_SEED, dev, dev_pub);
    name_chain_code("Alice", cc);
    cr_assert_eq(tp_sr25519_derive_hard(dev, cc, child_seed, &err), TP_OK, "%s", err.msg);
    tp_sr25519_from_seed(child_seed, child, pub);
    expect_hex(pub, 32, ALICE, "//Alice");
    /* subkey inspect //Alice: its secret seed */
    expect_hex(child_seed, 32, "e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a", "//Alice seed");
    name_chain_code("Bob", cc);
    cr_assert_eq(tp_sr25519_derive_hard(dev, cc, child_seed, &err), TP_OK, "%s", err.msg);
    tp_sr25519_from_seed(child_seed, child, pub);
    expect_hex(pub, 32, BOB, "//Bob");
    name_chain_code("Alice", cc);
    cr_assert_eq(tp_sr25519_derive_soft(dev, cc, child, pub, &err), TP_OK, "%s", err.msg);
    expect_hex(pub, 32, "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e", "/Alice");
    cr_assert_eq(tp_sr25519_derive_soft_public(dev_pub, cc, soft_pub, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(memcmp(soft_pub, pub, 32), 0, "/Alice from the public key alone");
    uint8_t sig[64];
    sign_ok(child, pub, (const uint8_t *)"soft", 4, sig);
    cr_expect_eq(tp_sr25519_verify(sig, (const uint8_t *)"soft", 4, pub), 0, "a soft-derived key signs");
}

/* ---------------------------------------------------------------------------- own behaviour */

Test(sr25519, sign_verify_round_trip) {
    static const size_t lens[] = {0, 1, 31, 32, 33, 165, 166, 167, 332, 1000, 5000};
    uint8_t seed[32], secret[64], pub[32], msg[5000], sig[64], sig2[64];
    cr_assert_geq(sodium_init(), 0);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        randombytes_buf(seed, sizeof seed);
        randombytes_buf(msg, lens[i]);
        tp_sr25519_from_seed(seed, secret, pub);
        sign_ok(secret, pub, msg, lens[i], sig);
        sign_ok(secret, pub, msg, lens[i], sig2);
        cr_expect_eq(tp_sr25519_verify(sig, msg, lens[i], pub), 0, "length %zu", lens[i]);
        cr_expect_eq(tp_sr25519_verify(sig2, msg, lens[i], pub), 0, "length %zu, again", lens[i]);
        cr_expect(sig[63] & 0x80, "no schnorrkel marker");
        cr_expect_neq(memcmp(sig, sig2, 64), 0, "two signatures of one message are equal: no fresh randomness");
    }
}

/* The witness randomness is the only input that may vary: the same 32 bytes give the same signature. */
Test(sr25519, sign_entropy_is_deterministic) {
    uint8_t secret[64], pub[32], entropy[32] = {7}, a[64], b[64];
    tp_err err;
    pair_of(DEV_SEED, secret, pub);
    cr_assert_eq(tp_sr25519_sign_entropy(secret, pub, (const uint8_t *)"m", 1, entropy, a, &err), TP_OK);
    cr_assert_eq(tp_sr25519_sign_entropy(secret, pub, (const uint8_t *)"m", 1, entropy, b, &err), TP_OK);
    cr_expect_eq(memcmp(a, b, 64), 0);
    entropy[31] = 1;
    cr_assert_eq(tp_sr25519_sign_entropy(secret, pub, (const uint8_t *)"m", 1, entropy, b, &err), TP_OK);
    cr_expect_neq(memcmp(a, b, 64), 0);
}

Test(sr25519, ed25519_form) {
    uint8_t seed[32], secret[64], pub[32], ed[64], back[64], buf[64];
    tp_err err;
    cr_assert_geq(sodium_init(), 0);
    for (int i = 0; i < 20; i++) {
        randombytes_buf(seed, sizeof seed);
        tp_sr25519_from_seed(seed, secret, pub);
        tp_sr25519_to_ed25519_bytes(secret, ed);
        cr_expect_eq(ed[0] & 7, 0, "the ed25519 form is a multiple of 8");
        cr_assert_eq(tp_sr25519_from_ed25519_bytes(ed, back, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(back, secret, 64), 0, "ed25519 form round trip");
        memcpy(buf, ed, 64); /* in place, both ways */
        cr_assert_eq(tp_sr25519_from_ed25519_bytes(buf, buf, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(buf, secret, 64), 0, "in place from");
        tp_sr25519_to_ed25519_bytes(buf, buf);
        cr_expect_eq(memcmp(buf, ed, 64), 0, "in place to");
    }
    /* The low three bits are dropped, as schnorrkel drops them. */
    ed[0] |= 5;
    cr_assert_eq(tp_sr25519_from_ed25519_bytes(ed, back, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(memcmp(back, secret, 64), 0);
    /* 8l: the quotient l is not reduced; all ones: 2^253 - 1 is not; zero is no key. */
    memcpy(buf, group_order, 32);
    tp_sr25519_to_ed25519_bytes(buf, buf);
    cr_expect_eq(tp_sr25519_from_ed25519_bytes(buf, back, &err), TP_ERR_FORMAT, "8l accepted");
    memset(buf, 0xff, 32);
    cr_expect_eq(tp_sr25519_from_ed25519_bytes(buf, back, &err), TP_ERR_FORMAT, "all ones accepted");
    memset(buf, 0, 32);
    cr_expect_eq(tp_sr25519_from_ed25519_bytes(buf, back, &err), TP_ERR_FORMAT, "zero accepted");
    cr_expect(strstr(err.msg, "zero"), "%s", err.msg);
}

Test(sr25519, bad_secrets_refused) {
    uint8_t secret[64], pub[32], other[64], other_pub[32], sig[64], out[64];
    tp_err err;
    pair_of(DEV_SEED, secret, pub);
    pair_of("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", other, other_pub);
    cr_expect_eq(tp_sr25519_sign(secret, other_pub, (const uint8_t *)"m", 1, sig, &err), TP_ERR_ARG,
                 "signed with another key's public key");
    cr_expect(strstr(err.msg, "does not belong"), "%s", err.msg);
    uint8_t bad[3][32];
    memcpy(bad[0], group_order, 32); /* l */
    memset(bad[1], 0xff, 32);
    memset(bad[2], 0, 32);
    for (int i = 0; i < 3; i++) {
        memcpy(secret, bad[i], 32);
        cr_expect_eq(tp_sr25519_public(secret, pub, &err), TP_ERR_FORMAT, "bad scalar %d", i);
        cr_expect(strstr(err.msg, i == 2 ? "zero" : "not reduced"), "%s", err.msg);
        cr_expect_eq(tp_sr25519_sign(secret, other_pub, (const uint8_t *)"m", 1, sig, &err), TP_ERR_FORMAT);
        cr_expect_eq(tp_sr25519_derive_hard(secret, other_pub, out, &err), TP_ERR_FORMAT);
        cr_expect_eq(tp_sr25519_derive_soft(secret, other_pub, out, pub, &err), TP_ERR_FORMAT);
    }
}

/* A signature for seed's key on msg, and the key, for the refusal tests. */
static void signed_message(uint8_t secret[64], uint8_t pub[32], const uint8_t *msg, size_t len, uint8_t sig[64]) {
    pair_of(DEV_SEED, secret, pub);
    sign_ok(secret, pub, msg, len, sig);
    cr_assert_eq(tp_sr25519_verify(sig, msg, len, pub), 0);
}

Test(sr25519, flipped_bits_refused) {
    uint8_t secret[64], pub[32], sig[64], msg[16] = "flip every bit", t[64];
    signed_message(secret, pub, msg, sizeof msg, sig);
    for (int bit = 0; bit < 512; bit++) {
        memcpy(t, sig, 64);
        t[bit / 8] ^= (uint8_t)(1 << bit % 8);
        cr_expect_eq(tp_sr25519_verify(t, msg, sizeof msg, pub), -1, "signature bit %d", bit);
    }
    for (int bit = 0; bit < 128; bit++) {
        memcpy(t, msg, sizeof msg);
        t[bit / 8] ^= (uint8_t)(1 << bit % 8);
        cr_expect_eq(tp_sr25519_verify(sig, t, sizeof msg, pub), -1, "message bit %d", bit);
    }
    for (int bit = 0; bit < 256; bit++) {
        memcpy(t, pub, 32);
        t[bit / 8] ^= (uint8_t)(1 << bit % 8);
        cr_expect_eq(tp_sr25519_verify(sig, msg, sizeof msg, t), -1, "public key bit %d", bit);
    }
    cr_expect_eq(tp_sr25519_verify(sig, msg, sizeof msg - 1, pub), -1, "a shorter message");
    cr_expect_eq(tp_sr25519_verify(sig, msg, sizeof msg, pub), 0, "the original stopped verifying");
}

/* Adds l to the s of a signature: the same value mod l, but not the canonical encoding. */
static void add_order(uint8_t s[32]) {
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += (unsigned)s[i] + group_order[i];
        s[i] = (uint8_t)carry;
        carry >>= 8;
    }
}

Test(sr25519, malformed_signatures_refused) {
    uint8_t secret[64], pub[32], sig[64], t[64], msg[] = "malformed";
    signed_message(secret, pub, msg, sizeof msg, sig);
    /* No marker: schnorrkel's from_bytes refuses it (NotMarkedSchnorrkel) before any arithmetic. */
    memcpy(t, sig, 64);
    t[63] &= 0x7f;
    cr_expect_eq(tp_sr25519_verify(t, msg, sizeof msg, pub), -1, "a signature without the marker");
    /* s + l: a valid s in disguise; schnorrkel's check_scalar refuses it (ScalarFormatError). */
    memcpy(t, sig, 64);
    t[63] &= 0x7f;
    add_order(t + 32);
    cr_assert_eq(t[63] & 0x80, 0, "s + l overflowed into the marker bit");
    t[63] |= 0x80;
    cr_expect_eq(tp_sr25519_verify(t, msg, sizeof msg, pub), -1, "s + l accepted");
    /* An R that is not a canonical encoding (the sign bit of the field element set). */
    memcpy(t, sig, 64);
    t[31] |= 0x80;
    cr_expect_eq(tp_sr25519_verify(t, msg, sizeof msg, pub), -1, "a non-canonical R");
    /* Public keys: the identity (anyone can sign for it), a non-canonical field element (p = 2^255 - 19
     * itself), and a negative one (1: an odd encoding). */
    uint8_t bad_pub[3][32] = {{0}, {0xed}, {1}};
    memset(bad_pub[1] + 1, 0xff, 30);
    bad_pub[1][31] = 0x7f;
    for (int i = 0; i < 3; i++) cr_expect_eq(tp_sr25519_verify(sig, msg, sizeof msg, bad_pub[i]), -1, "pub %d", i);
    /* The identity as a signer: R = rB, s = r would verify under any challenge if it were allowed. */
    uint8_t r[32] = {5}, ident[32] = {0};
    cr_assert_eq(crypto_scalarmult_ristretto255_base(t, r), 0);
    memcpy(t + 32, r, 32);
    t[63] |= 0x80;
    cr_expect_eq(tp_sr25519_verify(t, msg, sizeof msg, ident), -1, "a signature by the identity");
    tp_err err;
    uint8_t cc[32] = {1}, out[32];
    for (int i = 0; i < 3; i++)
        cr_expect_eq(tp_sr25519_derive_soft_public(bad_pub[i], cc, out, &err), TP_ERR_FORMAT, "pub %d", i);
}

/* sp-core's verify_from_old_wasm_works and verify_known_old_message_should_work: signatures of the
 * pre-audit schnorrkel (no marker, another transcript) that Pair::verify must refuse. */
Test(sr25519, pre_audit_signatures_refused) {
    uint8_t secret[64], pub[32], sig[64], old_pub[32];
    pair_of("0000000000000000000000000000000000000000000000000000000000000000", secret, pub);
    unhex("28a854d54903e056f89581c691c1f7d2ff39f8f896c9e9c22475e60902cc2b3547199e0e91fa32902028f2ca2355e8cdd16cfe19"
          "ba5e8b658c94aa80f3b81a00",
          sig, 64);
    cr_expect_eq(tp_sr25519_verify(sig, (const uint8_t *)"SUBSTRATE", 9, pub), -1, "old wasm signature");
    sig[63] |= 0x80; /* marked, it is still a signature under the old transcript */
    cr_expect_eq(tp_sr25519_verify(sig, (const uint8_t *)"SUBSTRATE", 9, pub), -1, "old wasm signature, marked");
    const char *msg = "Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n";
    unhex("b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918", old_pub, 32);
    unhex("5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12"
          "317ab6c313285cd938453202",
          sig, 64);
    cr_expect_eq(tp_sr25519_verify(sig, (const uint8_t *)msg, strlen(msg), old_pub), -1, "1.1 signature");
}

/* ------------------------------------------------------------------------- polkadot-js */

typedef struct {
    char *text;
    size_t size;
    FILE *f;
    int n;
} batch;

typedef struct {
    char *line;
    char *w[16];
    int nw;
} answer;

static void batch_open(batch *b) {
    memset(b, 0, sizeof *b);
    b->f = open_memstream(&b->text, &b->size);
    cr_assert_not_null(b->f);
}

/* One request line: the command, then count byte strings given as (const uint8_t *, int) pairs. */
static void req(batch *b, const char *cmd, int count, ...) {
    va_list ap;
    va_start(ap, count);
    fputs(cmd, b->f);
    for (int i = 0; i < count; i++) {
        const uint8_t *p = va_arg(ap, const uint8_t *);
        int n = va_arg(ap, int);
        fputc(' ', b->f);
        if (!n) fputc('-', b->f);
        for (int j = 0; j < n; j++) fprintf(b->f, "%02x", p[j]);
    }
    va_end(ap);
    fputc('\n', b->f);
    b->n++;
}

/* Runs the requests through sr25519_ref.mjs; every answer split into words. */
static answer *batch_run(batch *b) {
    cr_assert_eq(fclose(b->f), 0);
    const char *root = getenv("TEMPLAR_ROOT");
    char input[] = "/tmp/templar-sr25519-XXXXXX", cmd[8192];
    int fd = mkstemp(input);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, b->text, b->size), (ssize_t)b->size);
    close(fd);
    free(b->text);
    snprintf(cmd, sizeof cmd, "node '%s/tests/crypto/sr25519_ref.mjs' < '%s'", root ? root : ".", input);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    answer *a = calloc((size_t)b->n, sizeof *a);
    size_t cap = 0;
    for (int i = 0; i < b->n; i++) {
        char *line = NULL;
        cr_assert(getline(&line, &cap, p) > 0, "the reference gave %d of %d lines (%s)", i, b->n, cmd);
        cap = 0;
        line[strcspn(line, "\n")] = 0;
        cr_assert(strncmp(line, "ERR", 3), "reference request %d: %s", i, line);
        a[i].line = line;
        char *save = NULL;
        for (char *w = strtok_r(line, " ", &save); w && a[i].nw < 16; w = strtok_r(NULL, " ", &save))
            a[i].w[a[i].nw++] = w;
    }
    cr_assert_eq(pclose(p), 0, "%s failed (is @polkadot/util-crypto installed? run scripts/install-deps)", cmd);
    unlink(input);
    return a;
}

static void answers_free(answer *a, int n) {
    for (int i = 0; i < n; i++) free(a[i].line);
    free(a);
}

static void word_bytes(const answer *a, int i, uint8_t *out, size_t n) {
    cr_assert_gt(a->nw, i, "answer %s has no word %d", a->line, i);
    unhex(a->w[i], out, n);
}

/* Fixed seeds (edge values and the sp-core ones) then random ones. */
enum { FIXED_SEEDS = 5, KEYS = 16 };
static void test_seed(int i, uint8_t seed[32]) {
    static const char *const fixed[FIXED_SEEDS] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "3132333435363738393031323334353637383930313233343536373839303132",
        DEV_SEED,
    };
    if (i < FIXED_SEEDS) unhex(fixed[i], seed, 32);
    else randombytes_buf(seed, 32);
}

Test(sr25519, keys_match_polkadot_js) {
    uint8_t seeds[KEYS][32], secret[64], pub[32], ed[64], want_pub[32], want_ed[64];
    batch b;
    cr_assert_geq(sodium_init(), 0);
    batch_open(&b);
    for (int i = 0; i < KEYS; i++) {
        test_seed(i, seeds[i]);
        req(&b, "pair", 1, seeds[i], 32);
    }
    answer *a = batch_run(&b);
    for (int i = 0; i < KEYS; i++) {
        tp_sr25519_from_seed(seeds[i], secret, pub);
        tp_sr25519_to_ed25519_bytes(secret, ed);
        word_bytes(&a[i], 0, want_pub, 32);
        word_bytes(&a[i], 1, want_ed, 64);
        cr_expect_eq(memcmp(pub, want_pub, 32), 0, "public key of seed %d (%s)", i, a[i].w[0]);
        cr_expect_eq(memcmp(ed, want_ed, 64), 0, "secret key of seed %d", i);
    }
    answers_free(a, b.n);
}

/* Messages of fixed lengths around STROBE's 166-byte block, with random or patterned bytes. */
static size_t test_message(int i, uint8_t *msg) {
    static const size_t lens[KEYS] = {0, 1, 2, 9, 32, 64, 100, 165, 166, 167, 200, 331, 332, 500, 1024, 3000};
    for (size_t j = 0; j < lens[i]; j++) msg[j] = (uint8_t)(i < FIXED_SEEDS ? j * 7 + (size_t)i : 0);
    if (i >= FIXED_SEEDS) randombytes_buf(msg, lens[i]);
    return lens[i];
}

/* Ours verify in polkadot-js, theirs in ours, a tampered one in neither; and with the witness
 * randomness fixed, @scure/sr25519 and we produce the very same signature. */
Test(sr25519, signatures_match_polkadot_js) {
    static uint8_t msgs[KEYS][3000];
    uint8_t secret[KEYS][64], pub[KEYS][32], ed[KEYS][64], sig[KEYS][64], bad[KEYS][64], entropy[KEYS][32];
    size_t lens[KEYS];
    batch b;
    tp_err err;
    cr_assert_geq(sodium_init(), 0);
    batch_open(&b);
    for (int i = 0; i < KEYS; i++) {
        uint8_t seed[32];
        test_seed(i, seed);
        tp_sr25519_from_seed(seed, secret[i], pub[i]);
        tp_sr25519_to_ed25519_bytes(secret[i], ed[i]);
        lens[i] = test_message(i, msgs[i]);
        sign_ok(secret[i], pub[i], msgs[i], lens[i], sig[i]);
        memcpy(bad[i], sig[i], 64);
        bad[i][i % 32] ^= 1;
        randombytes_buf(entropy[i], 32);
        req(&b, "verify", 3, pub[i], 32, msgs[i], (int)lens[i], sig[i], 64);
        req(&b, "verify", 3, pub[i], 32, msgs[i], (int)lens[i], bad[i], 64);
        req(&b, "sign", 3, pub[i], 32, ed[i], 64, msgs[i], (int)lens[i]);
        req(&b, "signr", 3, ed[i], 64, msgs[i], (int)lens[i], entropy[i], 32);
    }
    answer *a = batch_run(&b);
    for (int i = 0; i < KEYS; i++) {
        uint8_t theirs[64], mine[64];
        cr_expect_str_eq(a[4 * i].w[0], "1", "polkadot-js refuses our signature %d", i);
        cr_expect_str_eq(a[4 * i + 1].w[0], "0", "polkadot-js takes our tampered signature %d", i);
        word_bytes(&a[4 * i + 2], 0, theirs, 64);
        cr_expect_eq(tp_sr25519_verify(theirs, msgs[i], lens[i], pub[i]), 0, "we refuse polkadot-js's signature %d", i);
        theirs[63] &= 0x7f;
        cr_expect_eq(tp_sr25519_verify(theirs, msgs[i], lens[i], pub[i]), -1, "unmarked polkadot-js signature %d", i);
        word_bytes(&a[4 * i + 3], 0, theirs, 64);
        cr_assert_eq(tp_sr25519_sign_entropy(secret[i], pub[i], msgs[i], lens[i], entropy[i], mine, &err), TP_OK);
        cr_expect_eq(memcmp(mine, theirs, 64), 0, "signature %d with fixed randomness differs from @scure/sr25519's", i);
    }
    answers_free(a, b.n);
}

/* Hard: the same child (seed, so the whole secret). Soft: the same child key and public key (the
 * nonce seed is random in both), the whole secret once the randomness is fixed, and the same child
 * public key from the public key alone. */
Test(sr25519, derivation_matches_polkadot_js) {
    uint8_t secret[KEYS][64], pub[KEYS][32], ed[KEYS][64], cc[KEYS][32], entropy[KEYS][32];
    batch b;
    tp_err err;
    cr_assert_geq(sodium_init(), 0);
    batch_open(&b);
    for (int i = 0; i < KEYS; i++) {
        uint8_t seed[32];
        test_seed(i, seed);
        tp_sr25519_from_seed(seed, secret[i], pub[i]);
        tp_sr25519_to_ed25519_bytes(secret[i], ed[i]);
        if (i < 3) memset(cc[i], i ? 0xff : 0, 32);
        else if (i < 6) name_chain_code(i == 3 ? "Alice" : i == 4 ? "polkadot" : "", cc[i]);
        else randombytes_buf(cc[i], 32);
        randombytes_buf(entropy[i], 32);
        req(&b, "hard", 3, pub[i], 32, ed[i], 64, cc[i], 32);
        req(&b, "soft", 3, pub[i], 32, ed[i], 64, cc[i], 32);
        req(&b, "softr", 3, ed[i], 64, cc[i], 32, entropy[i], 32);
        req(&b, "softpub", 2, pub[i], 32, cc[i], 32);
    }
    answer *a = batch_run(&b);
    for (int i = 0; i < KEYS; i++) {
        uint8_t seed[32], child[64], child_pub[32], child_ed[64], want_pub[32], want_ed[64];
        cr_assert_eq(tp_sr25519_derive_hard(secret[i], cc[i], seed, &err), TP_OK, "%s", err.msg);
        tp_sr25519_from_seed(seed, child, child_pub);
        tp_sr25519_to_ed25519_bytes(child, child_ed);
        word_bytes(&a[4 * i], 0, want_pub, 32);
        word_bytes(&a[4 * i], 1, want_ed, 64);
        cr_expect_eq(memcmp(child_pub, want_pub, 32), 0, "hard public key %d", i);
        cr_expect_eq(memcmp(child_ed, want_ed, 64), 0, "hard secret key %d", i);
        cr_assert_eq(tp_sr25519_derive_soft(secret[i], cc[i], child, child_pub, &err), TP_OK, "%s", err.msg);
        tp_sr25519_to_ed25519_bytes(child, child_ed);
        word_bytes(&a[4 * i + 1], 0, want_pub, 32);
        word_bytes(&a[4 * i + 1], 1, want_ed, 64);
        cr_expect_eq(memcmp(child_pub, want_pub, 32), 0, "soft public key %d", i);
        cr_expect_eq(memcmp(child_ed, want_ed, 32), 0, "soft secret scalar %d", i);
        cr_assert_eq(tp_sr25519_derive_soft_entropy(secret[i], cc[i], entropy[i], child, child_pub, &err), TP_OK);
        tp_sr25519_to_ed25519_bytes(child, child_ed);
        word_bytes(&a[4 * i + 2], 0, want_ed, 64);
        cr_expect_eq(memcmp(child_ed, want_ed, 64), 0, "soft secret %d with fixed randomness", i);
        cr_assert_eq(tp_sr25519_derive_soft_public(pub[i], cc[i], child_pub, &err), TP_OK, "%s", err.msg);
        word_bytes(&a[4 * i + 3], 0, want_pub, 32);
        cr_expect_eq(memcmp(child_pub, want_pub, 32), 0, "soft public key %d from the public key", i);
    }
    answers_free(a, b.n);
}

/* Whole derivation paths: polkadot-js parses them (keyExtractPath: names, numbers, names over 32 bytes
 * hashed) and walks them (keyFromPath); we walk its chain codes with our functions. */
Test(sr25519, derivation_paths_match_polkadot_js) {
    static const char *const paths[] = {
        "//Alice", "//Bob", "/Alice", "//Alice/0", "//polkadot//0/1//x/y", "//1//2//3", "/0/1/2",
        "//a-name-longer-than-thirty-two-bytes-is-hashed/soft", "//Alice//stash", "/soft//hard",
    };
    enum { N = sizeof paths / sizeof *paths };
    batch b;
    tp_err err;
    batch_open(&b);
    for (int i = 0; i < N; i++) {
        fprintf(b.f, "path %s %s\n", DEV_SEED, paths[i]);
        b.n++;
    }
    answer *a = batch_run(&b);
    for (int i = 0; i < N; i++) {
        uint8_t secret[64], pub[32], ed[64], cc[32], seed[32], want_pub[32], want_ed[64];
        bool last_hard = false;
        pair_of(DEV_SEED, secret, pub);
        for (int j = 2; j < a[i].nw; j++) {
            const char *junction = a[i].w[j];
            cr_assert(junction[0] && junction[1] == ':', "%s", junction);
            unhex(junction + 2, cc, 32);
            last_hard = junction[0] == 'h';
            if (last_hard) {
                cr_assert_eq(tp_sr25519_derive_hard(secret, cc, seed, &err), TP_OK, "%s", err.msg);
                tp_sr25519_from_seed(seed, secret, pub);
            } else {
                cr_assert_eq(tp_sr25519_derive_soft(secret, cc, secret, pub, &err), TP_OK, "%s", err.msg);
            }
        }
        tp_sr25519_to_ed25519_bytes(secret, ed);
        word_bytes(&a[i], 0, want_pub, 32);
        word_bytes(&a[i], 1, want_ed, 64);
        cr_expect_eq(memcmp(pub, want_pub, 32), 0, "public key of %s", paths[i]);
        cr_expect_eq(memcmp(ed, want_ed, last_hard ? 64 : 32), 0, "secret key of %s", paths[i]);
        if (i == 0) expect_hex(pub, 32, ALICE, "//Alice");
    }
    answers_free(a, b.n);
}
