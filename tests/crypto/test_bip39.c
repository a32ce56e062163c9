/* BIP-39: the word list is the standard one, the published vectors (Trezor's entropy ↔ phrase pairs,
 * substrate-bip39's mini secrets), a cross-check of fixed and random phrases, entropies and passwords
 * against @polkadot/util-crypto (tests/crypto/keys_ref.mjs), whitespace, and every refusal with its
 * message. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "crypto/bip39.h"
#include "crypto/bip39_english.h"
#include "keys_ref.h"

/* Trezor's python-mnemonic vectors.json ("english": entropy, mnemonic), which substrate-bip39's tests
 * reuse with the password "Substrate"; mini is the first 32 bytes of substrate-bip39's seed. */
static const struct {
    const char *entropy, *phrase, *mini;
} VECTORS[] = {
    {"00000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e3"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f", "legal winner thank year wave sausage worth useful legal winner thank yellow",
     "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8d60b78041685"},
    {"80808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
     "27f3eb595928c60d5bc91a4d747da40ed236328183046892ed6cd5aa9ae38122"},
    {"ffffffffffffffffffffffffffffffff", "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
     "227d6256fd4f9ccaf06c45eaa4b2345969640462bbb00c5f51f43cb43418c7a7"},
    {"000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon agent",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e3"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal will",
     "cb1d50e14101024a88905a098feb1553d4306d072d7460e167a60ccb3439a681"},
    {"808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid "
     "letter always",
     "9ddecf32ce6bee77f867f3c4bb842d1f0151826a145cb4489598fe71ac29e355"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
     "8971cb290e7117c64b63379c97ed3b5c6da488841bd9f95cdc2a5651ac89571e"},
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e3"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal "
     "winner thank year wave sausage worth title",
     "3037276a5d05fcd7edf51869eb841bdde27c574dae01ac8cfb1ea476f6bea6ef"},
    {"8080808080808080808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid "
     "letter advice cage absurd amount doctor acoustic bless",
     "2c9c6144a06ae5a855453d98c3dea470e2a8ffb78179c2e9eb15208ccca7d831"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
     "047e89ef7739cbfe30da0ad32eb1720d8f62441dd4f139b981b8e2d0bd412ed4"},
    {"9e885d952ad362caeb4efe34a8e91bd2", "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
     "f4956be6960bc145cdab782e649a5056598fd07cd3f32ceb73421c3da2783324"},
    {"6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
     "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable "
     "narrow fog",
     "fbcc5229ade0c0ff018cb7a329c5459f91876e4dde2a97ddf03c832eab7f2612"},
    {"68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis "
     "maple dilemma loan word shrug inflict delay length",
     "7c60c555126c297deddddd59f8cdcdc9e3608944455824dd604897984b5cc369"},
    {"c0ba5a8e914111210f2bd131f3d5e08d", "scheme spot photo card baby mountain device kick cradle pact join borrow",
     "c12157bf2506526c4bd1b79a056453b071361538e9e2c19c28ba2cfa39b5f230"},
    {"6d9be1ee6ebd27a258115aad99b7317b9c8d28b6d76431c3",
     "horn tenant knee talent sponsor spell gate clip pulse soap slush warm silver nephew swap uncle crack brave",
     "23766723e970e6b79dec4d5e4fdd627fd27d1ee026eb898feb9f653af01ad220"},
    {"9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
     "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash "
     "devote level hobby quick inner drive ghost inside",
     "f4c83c86617cb014d35cd87d38b5ef1c5d5c3d58a73ab779114438a7b358f457"},
    {"23db8160a31d3e0dca3688ed941adbf3", "cat swing flag economy stadium alone churn speed unique patch report train",
     "719d4d4de0638a1705bf5237262458983da76933e718b2d64eb592c470f3c5d2"},
    {"8197a4a47f0425faeaa69deebc05ca29c0a5b5cc76ceacc0",
     "light rule cinnamon wrap drastic word pride squirrel upgrade then income fatal apart sustain crack supply "
     "proud access",
     "7ae1291db32d16457c248567f2b101e62c5549d2a64cd2b7605d503ec876d587"},
    {"066dca1a2bb7e8a1db2832148ce9933eea0f3ac9548d793112d9a95c9407efad",
     "all hour make first leader extend hole alien behind guard gospel lava path output census museum junior mass "
     "reopen famous sing advance salt reform",
     "a911a5f4db0940b17ecb79c4dcf9392bf47dd18acaebdd4ef48799909ebb4967"},
    {"f30f8c1da665478f49b001d94c5fc452", "vessel ladder alter error federal sibling chat ability sun glass valve picture",
     "4e2314ca7d9eebac6fe5a05a5a8d3546bc891785414d82207ac987926380411e"},
    {"c10ec20dc3cd9f652c7fac2f1230f7a3c828389a14392f05",
     "scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango "
     "congress clump",
     "7a83851102849edc5d2a3ca9d8044d0d4f00e5c4a292753ed3952e4080859325"},
    {"f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
     "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group "
     "space point ten exist slush involve unfold",
     "938ba18c3f521f19bd4a399c8425b02c716844325b1a65106b9d1593fbafe5e0"},
};
#define NVECTORS (sizeof VECTORS / sizeof *VECTORS)

static size_t unhex_any(const char *h, uint8_t *out) {
    size_t n = strlen(h) / 2;
    cr_assert_eq(tp_unhex(h, out, n), 0, "bad test hex %s", h);
    return n;
}

static char *hex_of(const uint8_t *b, size_t n) {
    static char s[2 * 64 + 1]; /* each test runs in its own process */
    tp_hex(b, n, s);
    return s;
}

/* An xorshift stream for reproducible "random" inputs. */
static uint64_t next_rand(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

Test(bip39, wordlist_is_the_standard_english_list) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (int i = 0; i < TP_BIP39_WORDS; i++) {
        const char *w = tp_bip39_english[i];
        cr_assert(strlen(w) >= 3 && strlen(w) <= TP_BIP39_WORD_MAX, "word %d '%s'", i, w);
        if (i) cr_assert_lt(strcmp(tp_bip39_english[i - 1], w), 0, "not in byte order at %d ('%s')", i, w);
        crypto_hash_sha256_update(&st, (const uint8_t *)w, strlen(w));
        crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
    }
    uint8_t h[32];
    crypto_hash_sha256_final(&st, h);
    /* SHA-256 of bitcoin/bips bip-0039/english.txt (one word a line) */
    cr_expect_str_eq(hex_of(h, 32), "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
    cr_expect_str_eq(tp_bip39_english[0], "abandon");
    cr_expect_str_eq(tp_bip39_english[2047], "zoo");
}

Test(bip39, published_vectors) {
    for (size_t v = 0; v < NVECTORS; v++) {
        uint8_t want[32], got[TP_BIP39_ENTROPY_MAX], seed[32];
        size_t n = unhex_any(VECTORS[v].entropy, want), len = 0;
        char phrase[TP_BIP39_PHRASE_MAX];
        tp_err err;
        cr_assert_eq(tp_bip39_from_entropy(want, n, phrase, sizeof phrase, &err), TP_OK, "%s", err.msg);
        cr_expect_str_eq(phrase, VECTORS[v].phrase);
        cr_assert_eq(tp_bip39_to_entropy(VECTORS[v].phrase, got, &len, &err), TP_OK, "%s", err.msg);
        cr_expect_eq(len, n);
        cr_expect_str_eq(hex_of(got, len), VECTORS[v].entropy);
        cr_assert_eq(tp_bip39_mini_secret(VECTORS[v].phrase, "Substrate", seed, &err), TP_OK, "%s", err.msg);
        cr_expect_str_eq(hex_of(seed, 32), VECTORS[v].mini, "mini secret of vector %zu", v);
    }
}

Test(bip39, phrase_buffer_sizes) {
    /* 24 words of 8 letters, 23 spaces and a NUL: the longest phrase there is fits TP_BIP39_PHRASE_MAX */
    cr_assert_geq(TP_BIP39_PHRASE_MAX, 24 * TP_BIP39_WORD_MAX + 23 + 1);
    uint8_t e[32] = {0};
    for (int i = 0; i < 23 * 11; i++) /* 23 × index 7 ("abstract", 00000000111) */
        if (i % 11 >= 8) e[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    char phrase[TP_BIP39_PHRASE_MAX], words[TP_BIP39_PHRASE_MAX] = "";
    for (int i = 0; i < 23; i++) strcat(words, "abstract ");
    tp_err err;
    cr_assert_eq(tp_bip39_from_entropy(e, 32, phrase, sizeof phrase, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(strncmp(phrase, words, strlen(words)), 0, "%s", phrase);
    size_t need = strlen(phrase) + 1;
    cr_expect_eq(tp_bip39_from_entropy(e, 32, phrase, need, &err), TP_OK, "exactly enough room: %s", err.msg);
    cr_expect_eq(tp_bip39_from_entropy(e, 32, phrase, need - 1, &err), TP_ERR_ARG, "one byte short");
    cr_expect(strstr(err.msg, "the buffer has"), "%s", err.msg);
}

Test(bip39, whitespace_is_normalised) {
    uint8_t e[32];
    size_t len;
    tp_err err;
    const char *messy = "\n  legal winner\tthank year  wave sausage worth useful legal winner thank \r\n yellow  \n";
    cr_assert_eq(tp_bip39_to_entropy(messy, e, &len, &err), TP_OK, "%s", err.msg);
    cr_expect_str_eq(hex_of(e, len), "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f");
    uint8_t a[32], b[32];
    cr_assert_eq(tp_bip39_mini_secret(messy, NULL, a, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_bip39_mini_secret(VECTORS[1].phrase, "", b, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(memcmp(a, b, 32), 0, "whitespace or a NULL password changed the mini secret");
}

Test(bip39, generate_round_trips) {
    for (int words = 12; words <= 24; words += 3) {
        char p1[TP_BIP39_PHRASE_MAX], p2[TP_BIP39_PHRASE_MAX];
        tp_err err;
        cr_assert_eq(tp_bip39_generate(words, p1, sizeof p1, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_bip39_generate(words, p2, sizeof p2, &err), TP_OK, "%s", err.msg);
        cr_expect_str_neq(p1, p2, "two fresh phrases are equal");
        int n = 1;
        for (const char *c = p1; *c; c++) n += *c == ' ';
        cr_expect_eq(n, words, "%s", p1);
        uint8_t e[32];
        size_t len;
        char back[TP_BIP39_PHRASE_MAX];
        cr_assert_eq(tp_bip39_to_entropy(p1, e, &len, &err), TP_OK, "%s: %s", p1, err.msg);
        cr_expect_eq(len, (size_t)words / 3 * 4);
        cr_assert_eq(tp_bip39_from_entropy(e, len, back, sizeof back, &err), TP_OK, "%s", err.msg);
        cr_expect_str_eq(back, p1);
    }
}

/* ---------------------------------------------------------------- refusals */

static void expect_refused(const char *phrase, const char *msg_part) {
    uint8_t e[32], seed[32];
    size_t len;
    tp_err err;
    cr_expect_eq(tp_bip39_to_entropy(phrase, e, &len, &err), TP_ERR_FORMAT, "accepted '%s'", phrase);
    cr_expect(strstr(err.msg, msg_part), "'%s': message '%s' lacks '%s'", phrase, err.msg, msg_part);
    cr_expect_eq(tp_bip39_mini_secret(phrase, "x", seed, &err), TP_ERR_FORMAT, "mini secret of '%s'", phrase);
    cr_expect(strstr(err.msg, msg_part), "'%s': message '%s' lacks '%s'", phrase, err.msg, msg_part);
}

Test(bip39, refusals_name_the_problem) {
    /* a changed last word: every word is known, the checksum is not right */
    expect_refused("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon",
                   "bad checksum");
    expect_refused("legal winner thank year wave sausage worth useful legal winner yellow thank", "bad checksum");
    expect_refused("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandonn",
                   "unknown word 'abandonn' (word 12)");
    expect_refused("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abando about",
                   "unknown word 'abando' (word 11)");
    expect_refused("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon ab\x1b"
                   "[2J",
                   "unknown word 'ab?[2J' (word 12)"); /* no control characters in a message */
    expect_refused("Abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                   "unknown word 'Abandon' (word 1); the words are lower case");
    expect_refused("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
                   "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                   "word 24 is not a BIP-39 English word (it has 64 characters)");
    expect_refused("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                   "a phrase has 12, 15, 18, 21 or 24 words, not 11");
    expect_refused("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo", "not 13");
    expect_refused("", "not 0");
    expect_refused(" \t\n", "not 0");
    char many[27 * 4 + 1] = "";
    for (int i = 0; i < 27; i++) strcat(many, "zoo ");
    expect_refused(many, "not 27");
}

Test(bip39, bad_arguments) {
    uint8_t e[33] = {0};
    char out[TP_BIP39_PHRASE_MAX];
    tp_err err;
    const size_t bad[] = {0, 12, 15, 17, 31, 33};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(tp_bip39_from_entropy(e, bad[i], out, sizeof out, &err), TP_ERR_ARG, "%zu bytes", bad[i]);
        cr_expect(strstr(err.msg, "entropy must be 16, 20, 24, 28 or 32 bytes"), "%s", err.msg);
    }
    const int badw[] = {0, 11, 13, 25, 27, -12};
    for (size_t i = 0; i < sizeof badw / sizeof *badw; i++) {
        cr_expect_eq(tp_bip39_generate(badw[i], out, sizeof out, &err), TP_ERR_ARG, "%d words", badw[i]);
        cr_expect(strstr(err.msg, "12, 15, 18, 21 or 24 words"), "%s", err.msg);
    }
    cr_expect_eq(tp_bip39_generate(24, out, 100, &err), TP_ERR_ARG, "24 words in 100 bytes");
}

/* ---------------------------------------------------------------- polkadot-js */

static json_t *req2(const char *op, const char *a) { return json_pack("[ss]", op, a); }

Test(bip39, matches_polkadot_js) {
    enum { RANDOM = 40, GENERATED = 10 };
    static const char *passwords[] = {NULL, "", "Substrate", "pässwörd ∑", "with spaces / and ///slashes", "0"};
    enum { NPW = sizeof passwords / sizeof *passwords };
    json_t *req = json_array();
    char phrases[NVECTORS + RANDOM][TP_BIP39_PHRASE_MAX];
    char entropies[NVECTORS + RANDOM][65];
    size_t n = 0;
    for (; n < NVECTORS; n++) {
        strcpy(phrases[n], VECTORS[n].phrase);
        strcpy(entropies[n], VECTORS[n].entropy);
    }
    uint64_t x = 0x243f6a8885a308d3ull;
    for (; n < NVECTORS + RANDOM; n++) { /* random entropy of every length */
        uint8_t e[32];
        size_t len = 16 + 4 * (n % 5);
        for (size_t i = 0; i < len; i++) e[i] = (uint8_t)(next_rand(&x) >> 32);
        tp_err err;
        cr_assert_eq(tp_bip39_from_entropy(e, len, phrases[n], sizeof phrases[n], &err), TP_OK, "%s", err.msg);
        tp_hex(e, len, entropies[n]);
    }
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(req, req2("entropy", phrases[i]));
        json_array_append_new(req, req2("phrase", entropies[i]));
        const char *pw = passwords[i % NPW];
        json_array_append_new(req, json_pack("[sss]", "mini", phrases[i], pw ? pw : ""));
    }
    for (int g = 0; g < GENERATED; g++) json_array_append_new(req, json_pack("[si]", "generate", 12 + 3 * (g % 5)));
    json_t *ans = keys_ref(req);
    for (size_t i = 0; i < n; i++) {
        const char *ent = json_string_value(json_array_get(ans, 3 * i));
        const char *phr = json_string_value(json_array_get(ans, 3 * i + 1));
        const char *mini = json_string_value(json_array_get(ans, 3 * i + 2));
        cr_expect_str_eq(ent, entropies[i], "mnemonicToEntropy of '%s': %s", phrases[i], ent);
        cr_expect_str_eq(phr, phrases[i], "entropyToMnemonic of %s: %s", entropies[i], phr);
        uint8_t seed[32];
        tp_err err;
        cr_assert_eq(tp_bip39_mini_secret(phrases[i], passwords[i % NPW], seed, &err), TP_OK, "%s", err.msg);
        cr_expect_str_eq(hex_of(seed, 32), mini, "mini secret of '%s', password '%s'", phrases[i],
                         passwords[i % NPW] ? passwords[i % NPW] : "(NULL)");
    }
    /* phrases polkadot-js made: each must parse here, to the entropy polkadot-js gives for it */
    json_t *req_e = json_array();
    for (int g = 0; g < GENERATED; g++) json_array_append_new(req_e, req2("entropy", json_string_value(json_array_get(ans, 3 * n + g))));
    json_t *ans_e = keys_ref(req_e);
    for (int g = 0; g < GENERATED; g++) {
        const char *p = json_string_value(json_array_get(ans, 3 * n + g));
        uint8_t e[32];
        size_t len;
        tp_err err;
        cr_assert_eq(tp_bip39_to_entropy(p, e, &len, &err), TP_OK, "'%s': %s", p, err.msg);
        cr_expect_str_eq(hex_of(e, len), json_string_value(json_array_get(ans_e, g)), "'%s'", p);
    }
    json_decref(ans_e);
    json_decref(req_e);
    json_decref(ans);
    json_decref(req);
}

Test(bip39, polkadot_js_refuses_what_we_refuse) {
    /* the refusals above are refusals there too (not only a stricter reading here) */
    static const char *bad[] = {
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandonn",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo",
        "Abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    };
    enum { N = sizeof bad / sizeof *bad };
    json_t *req = json_array();
    for (int i = 0; i < N; i++) json_array_append_new(req, req2("valid", bad[i]));
    json_t *ans = keys_ref(req);
    for (int i = 0; i < N; i++) {
        cr_expect_str_eq(json_string_value(json_array_get(ans, i)), "false", "polkadot-js accepts '%s'", bad[i]);
        uint8_t e[32];
        size_t len;
        tp_err err;
        cr_expect_neq(tp_bip39_to_entropy(bad[i], e, &len, &err), TP_OK, "accepted '%s'", bad[i]);
    }
    json_decref(ans);
    json_decref(req);
}
