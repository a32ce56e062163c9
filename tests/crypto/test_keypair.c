/* Key pairs and secret URIs: the well-known dev accounts, RFC 8032 and Substrate's own vectors, chain
 * codes worked by hand, a cross-check of fixed and random URIs and of signatures against
 * @polkadot/keyring and @polkadot/util-crypto (tests/crypto/keys_ref.mjs), and every refusal with its
 * message. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "crypto/bip39.h"
#include "crypto/keypair.h"
#include "keys_ref.h"

#define DEV_PHRASE "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
#define ALICE_SR "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
#define BOB_SR "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"
#define ALICE_ED "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
#define BOB_ED "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69"
/* RFC 8032 section 7.1, test 1 */
#define RFC_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define RFC_PUB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC_SIG                                                                                                      \
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24" \
    "655141438e7a100b"
#define PHRASE "legal winner thank year wave sausage worth useful legal winner thank yellow"

static char *hex_of(const uint8_t *b, size_t n) {
    static char s[4][2 * 64 + 1]; /* a few live at once in one assertion */
    static int k;
    k = (k + 1) % 4;
    tp_hex(b, n, s[k]);
    return s[k];
}

static void unhex(const char *h, uint8_t *out, size_t n) { cr_assert_eq(tp_unhex(h, out, n), 0, "bad test hex %s", h); }

static uint64_t next_rand(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static const char *type_name(tp_key_type t) { return tp_key_type_name(t) ? tp_key_type_name(t) : "(bad type)"; }

/* The public key of suri, which must be accepted. */
static const char *pub_of(tp_key_type t, const char *suri) {
    tp_keypair kp;
    tp_err err;
    cr_assert_eq(tp_keypair_from_suri(t, suri, &kp, &err), TP_OK, "%s '%s': %s", type_name(t), suri, err.msg);
    const char *h = hex_of(kp.pub, 32);
    tp_keypair_clear(&kp);
    return h;
}

Test(keypair, key_type_names) {
    cr_expect_str_eq(tp_key_type_name(TP_KEY_ED25519), "ed25519");
    cr_expect_str_eq(tp_key_type_name(TP_KEY_SR25519), "sr25519");
    cr_expect_null(tp_key_type_name((tp_key_type)7));
    tp_key_type t;
    tp_err err;
    cr_expect_eq(tp_key_type_parse("sr25519", &t, &err), TP_OK);
    cr_expect_eq(t, TP_KEY_SR25519);
    cr_expect_eq(tp_key_type_parse("ed25519", &t, &err), TP_OK);
    cr_expect_eq(t, TP_KEY_ED25519);
    cr_expect_eq(tp_key_type_parse("ecdsa", &t, &err), TP_ERR_ARG);
    cr_expect_str_eq(err.msg, "unknown key type 'ecdsa' (ed25519 or sr25519)");
    cr_expect_eq(tp_key_type_parse(NULL, &t, &err), TP_ERR_ARG);
}

/* ---------------------------------------------------------------- ed25519 (no sr25519 needed) */

Test(keypair, ed25519_dev_accounts) {
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, "//Alice"), ALICE_ED);
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, "//Bob"), BOB_ED);
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, DEV_PHRASE "//Alice"), ALICE_ED);
    /* Substrate's default_phrase_should_be_used: the password applies to the development phrase */
    char want[65];
    strcpy(want, pub_of(TP_KEY_ED25519, DEV_PHRASE "//Alice///password"));
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, "//Alice///password"), want);
    cr_expect_str_neq(want, ALICE_ED);
}

Test(keypair, ed25519_rfc8032) {
    uint8_t seed[32], sig[64];
    tp_keypair kp;
    tp_err err;
    unhex(RFC_SEED, seed, 32);
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_ED25519, seed, &kp, &err), TP_OK, "%s", err.msg);
    cr_expect_str_eq(hex_of(kp.pub, 32), RFC_PUB);
    cr_expect_eq(kp.has_seed, 1);
    cr_expect_eq(memcmp(kp.seed, seed, 32), 0);
    cr_expect_eq(memcmp(kp.secret, seed, 32), 0, "libsodium's secret key starts with the seed");
    cr_expect_eq(memcmp(kp.secret + 32, kp.pub, 32), 0, "and ends with the public key");
    cr_assert_eq(tp_keypair_sign(&kp, (const uint8_t *)"", 0, sig, &err), TP_OK, "%s", err.msg);
    cr_expect_str_eq(hex_of(sig, 64), RFC_SIG);
    cr_expect_eq(tp_key_verify(TP_KEY_ED25519, kp.pub, (const uint8_t *)"", 0, sig), 0);
    cr_expect_eq(tp_key_verify(TP_KEY_ED25519, kp.pub, (const uint8_t *)"x", 1, sig), -1);
    sig[63] ^= 1;
    cr_expect_eq(tp_key_verify(TP_KEY_ED25519, kp.pub, (const uint8_t *)"", 0, sig), -1);
    cr_expect_eq(tp_key_verify((tp_key_type)9, kp.pub, (const uint8_t *)"", 0, sig), -1);
    /* the same seed as a secret URI, in either case of hex */
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, "0x" RFC_SEED), RFC_PUB);
    cr_expect_str_eq(pub_of(TP_KEY_ED25519, "0x9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60"),
                     RFC_PUB);
    tp_keypair_clear(&kp);
}

Test(keypair, ed25519_substrate_vector) {
    /* sp-core ed25519 seed_and_derive_should_work: Hard([0; 32]) (the junction "//0") of the RFC seed */
    tp_keypair kp;
    tp_err err;
    cr_assert_eq(tp_keypair_from_suri(TP_KEY_ED25519, "0x" RFC_SEED "//0", &kp, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(kp.has_seed, 1);
    cr_expect_str_eq(hex_of(kp.seed, 32), "ede3354e133f9c8e337ddd6ee5415ed4b4ffe5fc7d21e933f4930a3730e5b21c");
    tp_keypair_clear(&kp);
}

/* ---------------------------------------------------------------- chain codes by hand */

/* Substrate's chain code of a number: u64 little endian, zero-padded. */
static void cc_number(uint64_t v, uint8_t cc[32]) {
    memset(cc, 0, 32);
    for (int i = 0; i < 8; i++) cc[i] = (uint8_t)(v >> (8 * i));
}

/* Of a string: compact length (1 byte below 64, 2 bytes below 16384) ++ bytes, padded or hashed. */
static void cc_string(const char *s, uint8_t cc[32]) {
    size_t n = strlen(s), k = n < 64 ? 1 : 2;
    uint8_t enc[512];
    cr_assert_lt(n, sizeof enc - 2);
    if (k == 1) enc[0] = (uint8_t)(n << 2);
    else enc[0] = (uint8_t)((n << 2 | 1) & 0xff), enc[1] = (uint8_t)((n << 2 | 1) >> 8);
    memcpy(enc + k, s, n);
    memset(cc, 0, 32);
    if (k + n > 32) crypto_generichash(cc, 32, enc, k + n, NULL, 0);
    else memcpy(cc, enc, k + n);
}

/* ed25519's hard step, written out: blake2_256(0x2c "Ed25519HDKD" ++ seed ++ cc). */
static void hard_step(uint8_t seed[32], const uint8_t cc[32]) {
    uint8_t m[12 + 64] = {0x2c, 'E', 'd', '2', '5', '5', '1', '9', 'H', 'D', 'K', 'D'};
    memcpy(m + 12, seed, 32);
    memcpy(m + 44, cc, 32);
    crypto_generichash(seed, 32, m, sizeof m, NULL, 0);
}

static void expect_one_hard_step(const char *junction, const uint8_t cc[32]) {
    uint8_t seed[32];
    unhex(RFC_SEED, seed, 32);
    hard_step(seed, cc);
    char suri[512];
    snprintf(suri, sizeof suri, "0x%s//%s", RFC_SEED, junction);
    tp_keypair kp;
    tp_err err;
    cr_assert_eq(tp_keypair_from_suri(TP_KEY_ED25519, suri, &kp, &err), TP_OK, "'%s': %s", suri, err.msg);
    cr_expect_str_eq(hex_of(kp.seed, 32), hex_of(seed, 32), "junction '%s'", junction);
    tp_keypair_clear(&kp);
}

Test(keypair, chain_codes_as_substrate_makes_them) {
    uint8_t cc[32];
    cc_number(0, cc);
    expect_one_hard_step("0", cc);
    cc_number(7, cc);
    expect_one_hard_step("7", cc);
    expect_one_hard_step("007", cc);
    expect_one_hard_step("+7", cc); /* Rust's u64::from_str takes a '+' */
    cc_number(UINT64_MAX, cc);
    expect_one_hard_step("18446744073709551615", cc);
    /* one past u64: a string (polkadot-js would read a 256-bit number here) */
    cc_string("18446744073709551616", cc);
    expect_one_hard_step("18446744073709551616", cc);
    cc_string("-1", cc);
    expect_one_hard_step("-1", cc);
    cc_string("Alice", cc);
    expect_one_hard_step("Alice", cc);
    cc_string("0x12", cc); /* a string to Substrate (polkadot-js would take hex) */
    expect_one_hard_step("0x12", cc);
    const char *a31 = "abcdefghijklmnopqrstuvwxyz01234"; /* 1 + 31 bytes: padded, not hashed */
    const char *a32 = "abcdefghijklmnopqrstuvwxyz012345"; /* 1 + 32 bytes: hashed */
    cc_string(a31, cc);
    expect_one_hard_step(a31, cc);
    cc_string(a32, cc);
    expect_one_hard_step(a32, cc);
    char long_name[101];
    memset(long_name, 'q', 100);
    long_name[100] = 0; /* a two-byte compact length */
    cc_string(long_name, cc);
    expect_one_hard_step(long_name, cc);
    cc_string("with space ü", cc);
    expect_one_hard_step("with space ü", cc);
}

/* ---------------------------------------------------------------- URI forms */

Test(keypair, suri_forms_agree) {
    for (int t = 0; t < 2; t++) {
        uint8_t seed[32];
        tp_keypair a, b;
        tp_err err;
        cr_assert_eq(tp_bip39_mini_secret(PHRASE, "pw", seed, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_from_seed((tp_key_type)t, seed, &a, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, PHRASE "///pw", &b, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "%s: phrase///pw is the pair of the mini secret", type_name(t));
        cr_expect_eq(b.has_seed, 1);
        cr_expect_eq(memcmp(b.seed, seed, 32), 0);
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, "  " PHRASE "\n///pw", &b, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "whitespace around the phrase");
        /* a hex seed ignores the password, as Substrate and polkadot-js do */
        char suri[128];
        snprintf(suri, sizeof suri, "0x%s///ignored", hex_of(seed, 32));
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, suri, &b, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "%s: hex seed", type_name(t));
        /* an empty password is no password */
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, PHRASE "///", &a, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, PHRASE, &b, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "%s: empty password", type_name(t));
        /* the password is everything after the first "///", slashes included */
        cr_assert_eq(tp_bip39_mini_secret(PHRASE, "a//b///c/", seed, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_from_seed((tp_key_type)t, seed, &a, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_from_suri((tp_key_type)t, PHRASE "///a//b///c/", &b, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "%s: a password with slashes", type_name(t));
        tp_keypair_clear(&a);
        tp_keypair_clear(&b);
    }
}

Test(keypair, generate_and_clear) {
    for (int t = 0; t < 2; t++) {
        tp_keypair a, b;
        tp_err err;
        cr_assert_eq(tp_keypair_generate((tp_key_type)t, &a, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_keypair_generate((tp_key_type)t, &b, &err), TP_OK, "%s", err.msg);
        cr_expect_neq(memcmp(a.pub, b.pub, 32), 0, "two fresh keys are equal");
        cr_expect_eq(a.type, (tp_key_type)t);
        cr_expect_eq(a.has_seed, 1);
        tp_keypair c;
        cr_assert_eq(tp_keypair_from_seed((tp_key_type)t, a.seed, &c, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &c, sizeof a), 0, "%s: the seed remakes the pair", type_name(t));
        /* from_seed may be given the pair's own seed */
        cr_assert_eq(tp_keypair_from_seed((tp_key_type)t, c.seed, &c, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(&a, &c, sizeof a), 0, "%s: seed aliasing the output", type_name(t));
        uint8_t sig[64];
        cr_assert_eq(tp_keypair_sign(&a, (const uint8_t *)"msg", 3, sig, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(tp_key_verify((tp_key_type)t, a.pub, (const uint8_t *)"msg", 3, sig), 0);
        cr_expect_eq(tp_key_verify((tp_key_type)t, b.pub, (const uint8_t *)"msg", 3, sig), -1);
        tp_keypair_clear(&a);
        static const tp_keypair zero;
        cr_expect_eq(memcmp(&a, &zero, sizeof a), 0, "tp_keypair_clear leaves bytes");
        tp_keypair_clear(&b);
        tp_keypair_clear(&c);
    }
}

/* ---------------------------------------------------------------- refusals */

static void expect_refused(tp_key_type t, const char *suri, tp_status code, const char *msg_part) {
    tp_keypair kp;
    memset(&kp, 0xa5, sizeof kp);
    tp_err err;
    cr_expect_eq(tp_keypair_from_suri(t, suri, &kp, &err), code, "%s accepted '%s'", type_name(t), suri);
    cr_expect(strstr(err.msg, msg_part), "%s '%s': message '%s' lacks '%s'", type_name(t), suri, err.msg, msg_part);
    static const tp_keypair zero;
    cr_expect_eq(memcmp(&kp, &zero, sizeof kp), 0, "a refused '%s' left the pair uncleared", suri);
}

Test(keypair, refusals_name_the_problem) {
    const tp_key_type ED = TP_KEY_ED25519;
    expect_refused(ED, "//Alice/soft", TP_ERR_ARG,
                   "junction 2 of the secret URI's path is soft ('/'); ed25519 keys derive only hard junctions");
    expect_refused(ED, "/Alice", TP_ERR_ARG, "junction 1 of the secret URI's path is soft");
    expect_refused(ED, PHRASE "//a//b/c///pw", TP_ERR_ARG, "junction 3 of the secret URI's path is soft");
    for (int t = 0; t < 2; t++) {
        tp_key_type k = (tp_key_type)t;
        expect_refused(k, "0x1234", TP_ERR_ARG, "a hex seed is 32 bytes (64 hex digits after 0x), not 4 digits");
        expect_refused(k, "0x" RFC_SEED "00//x", TP_ERR_ARG, "not 66 digits");
        expect_refused(k, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7fgg", TP_ERR_ARG,
                       "the hex seed has a character that is not a hex digit (digit 63)");
        expect_refused(k, "0x", TP_ERR_ARG, "not 0 digits");
        expect_refused(k, PHRASE "//", TP_ERR_ARG, "junction 1 of the secret URI's path has no name");
        expect_refused(k, PHRASE "//a/", TP_ERR_ARG, "junction 2 of the secret URI's path has no name");
        expect_refused(k, "/", TP_ERR_ARG, "has no name");
        expect_refused(k, "", TP_ERR_ARG, "the secret URI is empty");
        expect_refused(k, "   ", TP_ERR_ARG, "the secret URI's phrase is blank");
        expect_refused(k, "  //Alice", TP_ERR_ARG, "the secret URI's phrase is blank");
        expect_refused(k, "legal winner thank yearr wave sausage worth useful legal winner thank yellow//x", TP_ERR_FORMAT,
                       "the secret URI's phrase: unknown word 'yearr' (word 4)");
        expect_refused(k, "legal winner thank year wave sausage worth useful legal winner yellow thank", TP_ERR_FORMAT,
                       "the secret URI's phrase: bad checksum");
        expect_refused(k, "legal winner thank year wave sausage worth useful legal winner thank", TP_ERR_FORMAT,
                       "the secret URI's phrase: a phrase has 12, 15, 18, 21 or 24 words, not 11");
        expect_refused(k, "Alice", TP_ERR_FORMAT, "not 1");
    }
    tp_keypair kp;
    tp_err err;
    uint8_t seed[32] = {0};
    cr_expect_eq(tp_keypair_from_seed((tp_key_type)5, seed, &kp, &err), TP_ERR_ARG);
    cr_expect(strstr(err.msg, "unknown key type 5"), "%s", err.msg);
    expect_refused((tp_key_type)5, "//Alice", TP_ERR_ARG, "unknown key type 5");
    cr_expect_eq(tp_keypair_from_suri(TP_KEY_ED25519, NULL, &kp, &err), TP_ERR_ARG);
    char huge[2048];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    expect_refused(TP_KEY_SR25519, huge, TP_ERR_ARG, "the secret URI's phrase is too long (2047 bytes)");
}

/* ---------------------------------------------------------------- sr25519 (needs sr25519.c) */

Test(keypair, sr25519_dev_accounts) {
    cr_expect_str_eq(pub_of(TP_KEY_SR25519, "//Alice"), ALICE_SR);
    cr_expect_str_eq(pub_of(TP_KEY_SR25519, "//Bob"), BOB_SR);
    cr_expect_str_eq(pub_of(TP_KEY_SR25519, DEV_PHRASE "//Alice"), ALICE_SR);
    /* sp-core sr25519 derive_soft_known_pair_should_work; "/Alice" alone derives from the dev phrase */
    cr_expect_str_eq(pub_of(TP_KEY_SR25519, DEV_PHRASE "/Alice"),
                     "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e");
    cr_expect_str_eq(pub_of(TP_KEY_SR25519, "/Alice"), "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e");
}

Test(keypair, sr25519_seed_kept_only_by_hard_steps) {
    tp_keypair kp, h;
    tp_err err;
    cr_assert_eq(tp_keypair_from_suri(TP_KEY_SR25519, "//Alice/soft", &kp, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(kp.has_seed, 0, "no seed makes a soft-derived pair");
    static const uint8_t zero[32];
    cr_expect_eq(memcmp(kp.seed, zero, 32), 0);
    cr_assert_eq(tp_keypair_from_suri(TP_KEY_SR25519, "//Alice/soft//hard", &kp, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(kp.has_seed, 1, "a hard step makes a new mini secret");
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, kp.seed, &h, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(memcmp(&kp, &h, sizeof kp), 0, "the kept seed remakes the pair");
    tp_keypair_clear(&kp);
    tp_keypair_clear(&h);
}

/* ---------------------------------------------------------------- polkadot-js */

/* A random junction name Substrate and polkadot-js read alike: numbers within u64 (leading zeros
 * allowed), short and long strings; never "0x…" or a leading '+', which they read differently. */
static void random_name(uint64_t *x, char *out) {
    static const char *alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.!ü";
    size_t alen = strlen(alpha);
    switch (next_rand(x) % 4) {
    case 0: {
        uint64_t v = next_rand(x); /* of every magnitude */
        sprintf(out, "%llu", (unsigned long long)(v >> (next_rand(x) % 64)));
        return;
    }
    case 1: sprintf(out, "00%u", (unsigned)(next_rand(x) % 1000)); return;
    default: break;
    }
    size_t longest = next_rand(x) % 2 ? 12 : 60;
    size_t n = 1 + next_rand(x) % longest, k = 0;
    while (k < n) {
        char c = alpha[next_rand(x) % alen];
        if ((unsigned char)c >= 0x80) { /* ü: both bytes */
            out[k++] = (char)0xc3;
            out[k++] = (char)0xbc;
            continue;
        }
        out[k++] = c;
    }
    out[k] = 0;
    if (out[0] == '0' && out[1] == 'x') out[0] = 'z';
}

/* A random URI: a phrase, a hex seed or the dev phrase; junctions (hard only for ed25519); maybe a
 * password (a hex seed ignores it, as polkadot-js does too). */
static void random_suri(uint64_t *x, tp_key_type t, char *out, size_t cap) {
    int root = (int)(next_rand(x) % 3);
    size_t k = 0;
    if (root == 0) {
        uint8_t e[32];
        size_t len = 16 + 4 * (next_rand(x) % 5);
        for (size_t i = 0; i < len; i++) e[i] = (uint8_t)next_rand(x);
        tp_err err;
        cr_assert_eq(tp_bip39_from_entropy(e, len, out, cap, &err), TP_OK, "%s", err.msg);
        k = strlen(out);
    } else if (root == 1) {
        uint8_t s[32];
        for (int i = 0; i < 32; i++) s[i] = (uint8_t)next_rand(x);
        k = (size_t)snprintf(out, cap, "0x%s", hex_of(s, 32));
    }
    int junctions = (int)(next_rand(x) % 4) + (root == 2);
    for (int j = 0; j < junctions; j++) {
        char name[160];
        random_name(x, name);
        int hard = t == TP_KEY_ED25519 || (j == 0 && root == 2) || next_rand(x) % 2;
        k += (size_t)snprintf(out + k, cap - k, "%s%s", hard ? "//" : "/", name);
    }
    if (next_rand(x) % 3 == 0) {
        char pw[160];
        random_name(x, pw);
        snprintf(out + k, cap - k, "///%s%s", pw, next_rand(x) % 2 ? "/x//y" : "");
    }
}

static const char *const FIXED[] = {
    "//Alice",
    "//Bob",
    "//Alice///password",
    "//Alice//stash",
    "//0",
    "//1//2//3",
    "//18446744073709551615",
    "//007",
    "//a long junction name of more than thirty-two bytes, hashed",
    "//" "abcdefghijklmnopqrstuvwxyz01234",
    "//" "abcdefghijklmnopqrstuvwxyz012345",
    "//with space ü",
    PHRASE,
    PHRASE "///pw",
    PHRASE "//hard///pässwörd",
    PHRASE "//1//hard//x",
    "0x" RFC_SEED,
    "0x" RFC_SEED "//0",
    "0x" RFC_SEED "//hard//42///ignored",
    "0x9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60//Upper",
    DEV_PHRASE "//Alice",
};
static const char *const FIXED_SOFT[] = {
    DEV_PHRASE "/Alice", "//Alice/soft", "//Alice/0", "//Alice/1/2//3/x", PHRASE "/soft///pw", "0x" RFC_SEED "/soft//hard/7",
    DEV_PHRASE "/a long soft junction name of more than thirty-two bytes",
};

/* Every fixed URI that applies to t and `random` random ones: our public key against Keyring's. */
static void expect_uris_match(tp_key_type t, int random) {
    enum { NF = sizeof FIXED / sizeof *FIXED, NS = sizeof FIXED_SOFT / sizeof *FIXED_SOFT };
    int soft = t == TP_KEY_SR25519, n = NF + (soft ? NS : 0) + random;
    char (*uris)[1024] = calloc((size_t)n, 1024);
    for (int i = 0; i < NF; i++) strcpy(uris[i], FIXED[i]);
    for (int i = 0; soft && i < NS; i++) strcpy(uris[NF + i], FIXED_SOFT[i]);
    uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)t;
    for (int i = n - random; i < n; i++) random_suri(&x, t, uris[i], 1024);
    if (getenv("TP_SHOW_URIS"))
        for (int i = 0; i < n; i++) fprintf(stderr, "%s\n", uris[i]);
    json_t *req = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(req, json_pack("[sss]", "uri", type_name(t), uris[i]));
    json_t *ans = keys_ref(req);
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(pub_of(t, uris[i]), json_string_value(json_array_get(ans, i)), "%s '%s': polkadot-js gave %s",
                         type_name(t), uris[i], json_string_value(json_array_get(ans, i)));
    json_decref(ans);
    json_decref(req);
    free(uris);
}

Test(keypair, ed25519_matches_polkadot_js) { expect_uris_match(TP_KEY_ED25519, 60); }

Test(keypair, sr25519_matches_polkadot_js) { expect_uris_match(TP_KEY_SR25519, 60); }

/* keyFromPath on a pair from a seed (the util-crypto route, not Keyring's), for both types. */
Test(keypair, key_from_path_matches_polkadot_js) {
    static const char *paths[] = {"", "//a", "//1//b//1000000", "//Alice//stash"};
    static const char *soft_paths[] = {"/a", "//a/b", "/1/2/3//x"};
    json_t *req = json_array();
    char uris[2][8][256];
    int n[2] = {0, 0};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 4 + (t ? 3 : 0); i++) {
            const char *p = i < 4 ? paths[i] : soft_paths[i - 4];
            snprintf(uris[t][n[t]++], 256, "0x%s%s", RFC_SEED, p);
            json_array_append_new(req, json_pack("[ssss]", "path", t ? "sr25519" : "ed25519", RFC_SEED, p));
        }
    json_t *ans = keys_ref(req);
    size_t k = 0;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < n[t]; i++, k++)
            cr_expect_str_eq(pub_of((tp_key_type)t, uris[t][i]), json_string_value(json_array_get(ans, k)),
                             "'%s': polkadot-js gave %s", uris[t][i], json_string_value(json_array_get(ans, k)));
    json_decref(ans);
    json_decref(req);
}

/* Our signatures verify there, and theirs (via its public keys) agree with our verification. */
static void expect_signatures_verify(tp_key_type t) {
    enum { N = 8 };
    json_t *req = json_array();
    uint8_t msgs[N][100], sigs[N][64];
    size_t lens[N];
    tp_keypair kp;
    tp_err err;
    cr_assert_eq(tp_keypair_from_suri(t, "//Alice", &kp, &err), TP_OK, "%s", err.msg);
    uint64_t x = 77;
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(i * 13 % 100);
        for (size_t j = 0; j < lens[i]; j++) msgs[i][j] = (uint8_t)next_rand(&x);
        cr_assert_eq(tp_keypair_sign(&kp, msgs[i], lens[i], sigs[i], &err), TP_OK, "%s", err.msg);
        cr_expect_eq(tp_key_verify(t, kp.pub, msgs[i], lens[i], sigs[i]), 0);
        char mh[201], sh[129];
        tp_hex(msgs[i], lens[i], mh);
        tp_hex(sigs[i], 64, sh);
        json_array_append_new(req, json_pack("[sssss]", "verify", type_name(t), hex_of(kp.pub, 32), mh, sh));
        if (i == N - 1) { /* another message: refused there too */
            mh[0] = mh[0] == '0' ? '1' : '0';
            json_array_append_new(req, json_pack("[sssss]", "verify", type_name(t), hex_of(kp.pub, 32), mh, sh));
        }
    }
    json_t *ans = keys_ref(req);
    for (int i = 0; i < N; i++)
        cr_expect_str_eq(json_string_value(json_array_get(ans, i)), "true", "%s signature %d: %s", type_name(t), i,
                         json_string_value(json_array_get(ans, i)));
    cr_expect_str_eq(json_string_value(json_array_get(ans, N)), "false", "a signature of another message: %s",
                     json_string_value(json_array_get(ans, N)));
    json_decref(ans);
    json_decref(req);
    tp_keypair_clear(&kp);
}

Test(keypair, ed25519_signatures_verify_in_polkadot_js) { expect_signatures_verify(TP_KEY_ED25519); }

Test(keypair, sr25519_signatures_verify_in_polkadot_js) { expect_signatures_verify(TP_KEY_SR25519); }
