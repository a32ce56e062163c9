/* Keccak-f[1600], STROBE-128 and Merlin transcripts: published vectors of each layer, and random
 * transcripts (appends, challenges, transcript-RNG witnesses) against @scure/sr25519's Merlin, the
 * one polkadot-js signs with (tests/crypto/sr25519_ref.mjs). */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "crypto/keccak.h"
#include "crypto/merlin.h"

static void expect_hex(const uint8_t *got, size_t n, const char *want, const char *what) {
    char *h = malloc(2 * n + 1);
    tp_hex(got, n, h);
    cr_expect_str_eq(h, want, "%s", what);
    free(h);
}

static const uint8_t *str(const char *s) { return (const uint8_t *)s; }

/* -------------------------------------------------------------------------------- Keccak */

/* SHA3-256 as a sponge on our permutation: rate 136, padding 0x06 ... 0x80. */
static void sha3_256(const uint8_t *msg, size_t len, uint8_t out[32]) {
    uint8_t st[200] = {0};
    size_t pos = 0;
    for (size_t i = 0; i < len; i++) {
        st[pos++] ^= msg[i];
        if (pos == 136) {
            tp_keccak_f1600(st);
            pos = 0;
        }
    }
    st[pos] ^= 0x06;
    st[135] ^= 0x80;
    tp_keccak_f1600(st);
    memcpy(out, st, 32);
}

Test(merlin, keccak_f1600) {
    /* The all-zero state after one permutation: the Keccak team's KeccakF-1600-IntermediateValues.txt
     * (first and last lanes, as little-endian bytes). */
    uint8_t st[200] = {0};
    tp_keccak_f1600(st);
    expect_hex(st, 8, "e7dde140798f25f1", "lane 0 of f(0)");
    expect_hex(st + 192, 8, "49a2ec5c7bfff1ea", "lane 24 of f(0)");
    /* SHA3-256: FIPS 202's examples ("", "abc", and the 1600-bit message of 0xa3 bytes, which spans
     * two blocks); the same digests as Python's hashlib.sha3_256. */
    uint8_t d[32], a3[200];
    sha3_256(NULL, 0, d);
    expect_hex(d, 32, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a", "SHA3-256('')");
    sha3_256(str("abc"), 3, d);
    expect_hex(d, 32, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532", "SHA3-256(abc)");
    memset(a3, 0xa3, sizeof a3);
    sha3_256(a3, sizeof a3, d);
    expect_hex(d, 32, "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787", "SHA3-256(0xa3 x 200)");
}

/* -------------------------------------------------------------------------------- STROBE */

/* merlin's strobe.rs test_conformance (checked there against strobe-rs): meta-AD split with `more`,
 * a 1024-byte AD spanning several blocks, PRF, KEY, PRF. The outputs are the values that test
 * prints, as published with Python ports of merlin (e.g. its test_strobe_conformance). */
Test(merlin, strobe_conformance) {
    tp_strobe128 s;
    uint8_t msg[1024], prf[32];
    const char *label = "Conformance Test Protocol";
    memset(msg, 99, sizeof msg);
    tp_strobe128_init(&s, str(label), strlen(label));
    tp_strobe128_meta_ad(&s, str("ms"), 2, false);
    tp_strobe128_meta_ad(&s, str("g"), 1, true);
    tp_strobe128_ad(&s, msg, sizeof msg, false);
    tp_strobe128_meta_ad(&s, str("prf"), 3, false);
    tp_strobe128_prf(&s, prf, 32, false);
    expect_hex(prf, 32, "b48e645ca17c667fd5206ba57a6a228d72d8e1903814d3f17f622996d7cfefb0", "first PRF");
    tp_strobe128_meta_ad(&s, str("key"), 3, false);
    tp_strobe128_key(&s, prf, 32, false);
    tp_strobe128_meta_ad(&s, str("prf"), 3, false);
    tp_strobe128_prf(&s, prf, 32, false);
    expect_hex(prf, 32, "07e45cce8078cee259e3e375bb85d75610e2d1e1201c5f645045a194edd49ff8", "PRF after KEY");
}

/* -------------------------------------------------------------------------------- Merlin */

/* merlin's transcript.rs equivalence_simple (the value from the debug-transcript trace published
 * with gtank/merlin's and curve25519-voi's TestSimpleTranscript). */
Test(merlin, simple_transcript) {
    tp_merlin t;
    uint8_t c[32];
    tp_merlin_init(&t, "test protocol");
    tp_merlin_append(&t, "some label", str("some data"), 9);
    tp_merlin_challenge(&t, "challenge", c, sizeof c);
    expect_hex(c, 32, "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615", "challenge");
}

/* merlin's equivalence_complex as gtank/merlin's TestComplexTranscript: 32 rounds of a challenge
 * and 1 KiB appends (many permutations, challenges landing across block edges). */
Test(merlin, complex_transcript) {
    tp_merlin t;
    uint8_t data[1024], c[32];
    memset(data, 99, sizeof data);
    tp_merlin_init(&t, "test protocol");
    tp_merlin_append(&t, "step1", str("some data"), 9);
    for (int i = 0; i < 32; i++) {
        tp_merlin_challenge(&t, "challenge", c, sizeof c);
        tp_merlin_append(&t, "bigdata", data, sizeof data);
        tp_merlin_append(&t, "challengedata", c, sizeof c);
    }
    expect_hex(c, 32, "a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c", "last challenge");
}

Test(merlin, append_u64_is_le_bytes) {
    tp_merlin a, b, c;
    uint8_t ca[16], cb[16], cc[16];
    const uint8_t le[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    tp_merlin_init(&a, "u64");
    b = a; /* a copy forks the transcript */
    c = a;
    tp_merlin_append_u64(&a, "x", 0x0102030405060708ull);
    tp_merlin_append(&b, "x", le, sizeof le);
    tp_merlin_append_u64(&c, "x", 0x0102030405060709ull);
    tp_merlin_challenge(&a, "c", ca, sizeof ca);
    tp_merlin_challenge(&b, "c", cb, sizeof cb);
    tp_merlin_challenge(&c, "c", cc, sizeof cc);
    cr_expect_eq(memcmp(ca, cb, sizeof ca), 0, "append_u64 is not the 8 little-endian bytes");
    cr_expect_neq(memcmp(ca, cc, sizeof ca), 0, "the value does not reach the transcript");
}

/* merlin's transcript_rng_is_bound_to_transcript_and_witnesses: a different commitment or witness
 * gives a different output; the same ones and the same randomness give the same. */
static void rng_output(const char *commitment, const char *witness, uint8_t entropy_byte, uint8_t out[64]) {
    tp_merlin t;
    tp_merlin_rng r;
    uint8_t entropy[32];
    memset(entropy, entropy_byte, sizeof entropy);
    tp_merlin_init(&t, "test TranscriptRng collisions");
    tp_merlin_append(&t, "com", str(commitment), strlen(commitment));
    tp_merlin_rng_init(&r, &t);
    tp_merlin_rng_rekey(&r, "witness", str(witness), strlen(witness));
    tp_merlin_rng_finalize(&r, entropy);
    tp_merlin_rng_fill(&r, out, 64);
}

Test(merlin, transcript_rng_bound_to_transcript_and_witnesses) {
    uint8_t s1[64], s2[64], s3[64], s4[64], s5[64];
    rng_output("commitment data 1", "witness data 1", 0, s1);
    rng_output("commitment data 2", "witness data 1", 0, s2);
    rng_output("commitment data 2", "witness data 2", 0, s3);
    rng_output("commitment data 2", "witness data 2", 0, s4);
    rng_output("commitment data 2", "witness data 2", 1, s5);
    cr_expect_neq(memcmp(s1, s2, 64), 0, "the commitment does not reach the RNG");
    cr_expect_neq(memcmp(s2, s3, 64), 0, "the witness does not reach the RNG");
    cr_expect_eq(memcmp(s3, s4, 64), 0, "the RNG is not a function of its inputs");
    cr_expect_neq(memcmp(s4, s5, 64), 0, "the randomness does not reach the RNG");
}

/* ---------------------------------------------------------------- against @scure/sr25519 */

static size_t rnd(size_t n) { return n ? randombytes_uniform((uint32_t)n) : 0; }

static void put_hex(FILE *f, const uint8_t *p, size_t n) {
    if (!n) fputc('-', f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", p[i]);
}

/* A random ASCII label (the reference treats labels as text), possibly empty. */
static void random_label(char *label, size_t max) {
    size_t n = rnd(max);
    for (size_t i = 0; i < n; i++) label[i] = (char)(0x20 + rnd(0x5f));
    label[n] = 0;
}

/* Builds one random transcript, both as our calls and as a reference request line (sent to f);
 * our outputs, concatenated, go to out. */
static size_t random_transcript(FILE *f, uint8_t *out) {
    char label[24];
    uint8_t buf[400], entropy[32], seeds[3][80];
    size_t used = 0;
    tp_merlin t;
    random_label(label, sizeof label);
    tp_merlin_init(&t, label);
    fprintf(f, "merlin ");
    put_hex(f, (const uint8_t *)label, strlen(label));
    for (int op = 0, ops = 1 + (int)rnd(12); op < ops; op++) {
        size_t kind = rnd(3), len = rnd(sizeof buf);
        random_label(label, sizeof label);
        fprintf(f, " %c:", "acw"[kind]);
        put_hex(f, (const uint8_t *)label, strlen(label));
        if (kind == 0) {
            randombytes_buf(buf, len);
            tp_merlin_append(&t, label, buf, len);
            fputc(':', f);
            put_hex(f, buf, len);
        } else if (kind == 1) {
            tp_merlin_challenge(&t, label, out + used, len);
            fprintf(f, ":%zu", len);
            used += len;
        } else {
            tp_merlin_rng r;
            size_t nseeds = rnd(4);
            randombytes_buf(entropy, sizeof entropy);
            tp_merlin_rng_init(&r, &t);
            fprintf(f, ":%zu:", len);
            put_hex(f, entropy, sizeof entropy);
            fputc(':', f);
            for (size_t i = 0; i < nseeds; i++) {
                size_t sl = rnd(sizeof seeds[i]);
                randombytes_buf(seeds[i], sl);
                tp_merlin_rng_rekey(&r, label, seeds[i], sl);
                if (i) fputc(',', f);
                put_hex(f, seeds[i], sl);
            }
            tp_merlin_rng_finalize(&r, entropy);
            tp_merlin_rng_fill(&r, out + used, len);
            used += len;
        }
    }
    fputc('\n', f);
    return used;
}

Test(merlin, matches_scure_sr25519) {
    enum { N = 40, MAX_OUT = 12 * 400 };
    cr_assert_geq(sodium_init(), 0);
    const char *root = getenv("TEMPLAR_ROOT");
    char input[] = "/tmp/templar-merlin-XXXXXX", cmd[8192];
    int fd = mkstemp(input);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    uint8_t(*outs)[MAX_OUT] = malloc(N * sizeof *outs);
    size_t lens[N];
    for (int i = 0; i < N; i++) lens[i] = random_transcript(f, outs[i]);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/crypto/sr25519_ref.mjs' < '%s'", root ? root : ".", input);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    char *line = NULL, *want = malloc(2 * MAX_OUT + 2);
    size_t cap = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(getline(&line, &cap, p) > 0, "the reference gave %d of %d lines (%s)", i, N, cmd);
        line[strcspn(line, "\n")] = 0;
        if (lens[i]) tp_hex(outs[i], lens[i], want);
        else strcpy(want, "-");
        cr_expect_str_eq(line, want, "transcript %d differs from @scure/sr25519's", i);
    }
    cr_assert_eq(pclose(p), 0, "%s failed (is @polkadot/util-crypto installed? run scripts/install-deps)", cmd);
    unlink(input);
    free(line);
    free(want);
    free(outs);
}
