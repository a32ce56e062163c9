/* Tokenizer: pre-tokenisation rules, training (known answers, determinism, agreement with the
 * Python reference tests/data/bpe_ref.py), the file format's validation, and the round-trip
 * property decode(encode(s)) == s on thousands of hostile byte strings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "data/tokenizer.h"

#define PY "/usr/bin/python3"

static const char *const syllables[] = {"ker", "nel", "dri", "ver", "mem", "o", "ry", "page", "lock", "in",
                                        "ter", "rupt", "sched", "ule", "task", "val", "ue", "buf", "fer", "de",
                                        "vice", "the", "and", "of", "to", "is", "con", "fig", "ure", "ing"};

/* Deterministic English-like text: words of 1-3 syllables, numbers, punctuation, contractions and
 * newlines, with a Zipf-ish bias so some words are common. */
static uint8_t *make_text(uint64_t seed, size_t target, size_t *len) {
    tp_rng r;
    tp_rng_seed(&r, seed);
    uint8_t *buf = malloc(target + 64);
    size_t n = 0, ns = sizeof syllables / sizeof *syllables;
    while (n < target) {
        char w[48] = "";
        int k = 1 + (int)tp_rng_below(&r, 3);
        for (int i = 0; i < k; i++) strcat(w, syllables[tp_rng_below(&r, 1 + tp_rng_below(&r, ns))]);
        int p = (int)tp_rng_below(&r, 24);
        n += (size_t)snprintf((char *)buf + n, 64, "%s%s%s", n ? " " : "", w,
                              p == 0 ? "." : p == 1 ? ",\n" : p == 2 ? " 1024" : p == 3 ? "()" : p == 4 ? "'s" : "");
    }
    *len = n;
    return buf;
}

static tp_tokenizer *train_small(int vocab) {
    size_t len;
    uint8_t *text = make_text(1, 40000, &len);
    const uint8_t *texts[1] = {text};
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_train(texts, &len, 1, vocab, &tok, &err), TP_OK, "%s", err.msg);
    free(text);
    return tok;
}

/* Splits s into pre-token chunks; returns the count, lengths in out. */
static int chunk_lens(const char *s, size_t *out, int max) {
    size_t len = strlen(s), pos = 0;
    int n = 0;
    while (pos < len && n < max) {
        out[n] = tp_pretok_chunk((const uint8_t *)s + pos, len - pos);
        pos += out[n++];
    }
    return n;
}

static void expect_chunks(const char *s, const char *const *want, int nwant) {
    size_t lens[64];
    int n = chunk_lens(s, lens, 64);
    cr_assert_eq(n, nwant, "'%s': %d chunks, expected %d", s, n, nwant);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(lens[i], strlen(want[i]), "'%s' chunk %d has length %zu, expected '%s'", s, i, lens[i], want[i]);
        cr_assert(!memcmp(s + at, want[i], lens[i]), "'%s' chunk %d differs from '%s'", s, i, want[i]);
        at += lens[i];
    }
}

Test(bpe_pretok, gpt2_like_rules) {
    expect_chunks("Hello world", (const char *[]){"Hello", " world"}, 2);
    expect_chunks("don't we'll", (const char *[]){"don", "'t", " we", "'ll"}, 4);
    expect_chunks("abc123 456", (const char *[]){"abc", "123", " 456"}, 3);
    expect_chunks("x  = y;", (const char *[]){"x", " ", " =", " y", ";"}, 5);
    expect_chunks("\n\nfoo", (const char *[]){"\n\n", "foo"}, 2);
    expect_chunks("a\t\n  b  ", (const char *[]){"a", "\t\n ", " b", "  "}, 4);
    expect_chunks("caf\xc3\xa9 na\xc3\xafve", (const char *[]){"caf\xc3\xa9", " na\xc3\xafve"}, 2);
    expect_chunks("(*p)->x", (const char *[]){"(*", "p", ")->", "x"}, 4);
}

Test(bpe_pretok, chunks_are_capped) {
    uint8_t run[600];
    memset(run, 'a', sizeof run);
    cr_assert_eq(tp_pretok_chunk(run, sizeof run), TP_PRETOK_MAX_CHUNK);
    memset(run, ' ', sizeof run);
    cr_assert_eq(tp_pretok_chunk(run, sizeof run), TP_PRETOK_MAX_CHUNK);
    memset(run, 0, sizeof run);
    cr_assert_eq(tp_pretok_chunk(run, sizeof run), TP_PRETOK_MAX_CHUNK);
    cr_assert_eq(tp_pretok_chunk(run, 1), 1);
}

/* Cutting at a safe prefix must not change the encoding: encode(whole) == encode(cut) ++ encode(rest). */
Test(bpe_pretok, safe_prefix_cuts_do_not_change_tokens) {
    tp_tokenizer *tok = train_small(400);
    tp_rng r;
    tp_rng_seed(&r, 7);
    size_t len;
    uint8_t *text = make_text(2, 20000, &len);
    /* Sprinkle hostile bytes so cuts meet every byte class. */
    for (int i = 0; i < 500; i++) text[tp_rng_below(&r, len)] = (uint8_t)tp_rng_below(&r, 256);
    tp_err err;
    uint32_t *whole;
    size_t nwhole;
    cr_assert_eq(tp_tokenizer_encode(tok, text, len, &whole, &nwhole, &err), TP_OK);
    for (int trial = 0; trial < 300; trial++) {
        size_t lim = TP_PRETOK_MAX_CHUNK + 4 + tp_rng_below(&r, len - TP_PRETOK_MAX_CHUNK - 4);
        size_t cut = tp_pretok_safe_prefix(text, lim);
        cr_assert(cut > 0 && cut <= lim, "cut %zu of %zu", cut, lim);
        uint32_t *a, *b;
        size_t na, nb;
        cr_assert_eq(tp_tokenizer_encode(tok, text, cut, &a, &na, &err), TP_OK);
        cr_assert_eq(tp_tokenizer_encode(tok, text + cut, len - cut, &b, &nb, &err), TP_OK);
        cr_assert_eq(na + nb, nwhole, "cut at %zu: %zu + %zu tokens, whole %zu", cut, na, nb, nwhole);
        cr_assert(!memcmp(a, whole, na * 4) && !memcmp(b, whole + na, nb * 4), "cut at %zu changed tokens", cut);
        free(a);
        free(b);
    }
    free(whole);
    free(text);
    tp_tokenizer_free(tok);
}

Test(bpe_train, known_merges_and_tie_break) {
    tp_err err;
    tp_tokenizer *tok;
    const uint8_t *t1[] = {(const uint8_t *)"abababab"};
    size_t l1[] = {8};
    cr_assert_eq(tp_tokenizer_train(t1, l1, 1, 260, &tok, &err), TP_OK, "%s", err.msg);
    uint32_t want1[3][2] = {{'a', 'b'}, {256, 256}, {257, 257}};
    for (int i = 0; i < 3; i++) {
        uint32_t a, b;
        tp_tokenizer_merge(tok, i, &a, &b);
        cr_assert(a == want1[i][0] && b == want1[i][1], "merge %d is [%u,%u]", i, a, b);
    }
    tp_tokenizer_free(tok);
    /* All three pairs occur once: ties go to the smallest first id, then the smallest second id. */
    const uint8_t *t2[] = {(const uint8_t *)"ba dc"};
    size_t l2[] = {5};
    cr_assert_eq(tp_tokenizer_train(t2, l2, 1, 260, &tok, &err), TP_OK, "%s", err.msg);
    uint32_t want2[3][2] = {{' ', 'd'}, {'b', 'a'}, {256, 'c'}};
    for (int i = 0; i < 3; i++) {
        uint32_t a, b;
        tp_tokenizer_merge(tok, i, &a, &b);
        cr_assert(a == want2[i][0] && b == want2[i][1], "merge %d is [%u,%u]", i, a, b);
    }
    size_t n;
    const uint8_t *bytes = tp_tokenizer_token_bytes(tok, 258, &n);
    cr_assert(n == 3 && !memcmp(bytes, " dc", 3));
    cr_assert_eq(tp_tokenizer_token_bytes(tok, 259, &n) != NULL && n == 0, 1, "EOT has no bytes");
    cr_assert_null(tp_tokenizer_token_bytes(tok, 260, &n));
    tp_tokenizer_free(tok);
}

Test(bpe_train, vocab_size_and_determinism) {
    tp_tokenizer *a = train_small(512), *b = train_small(512);
    cr_assert_eq(tp_tokenizer_vocab_size(a), 512);
    cr_assert_eq(tp_tokenizer_eot(a), 511);
    cr_assert_eq(tp_tokenizer_num_merges(a), 512 - 257);
    for (int i = 0; i < tp_tokenizer_num_merges(a); i++) {
        uint32_t x, y, u, v;
        tp_tokenizer_merge(a, i, &x, &y);
        tp_tokenizer_merge(b, i, &u, &v);
        cr_assert(x == u && y == v, "merge %d differs between two runs", i);
    }
    tp_tokenizer_free(a);
    tp_tokenizer_free(b);
}

/* Merges depend only on the multiset of chunks: the same documents in another order agree. */
Test(bpe_train, independent_of_text_order) {
    size_t la, lb;
    uint8_t *a = make_text(3, 8000, &la), *b = make_text(4, 8000, &lb);
    const uint8_t *ab[] = {a, b}, *ba[] = {b, a};
    size_t lab[] = {la, lb}, lba[] = {lb, la};
    tp_tokenizer *x, *y;
    tp_err err;
    cr_assert_eq(tp_tokenizer_train(ab, lab, 2, 330, &x, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_tokenizer_train(ba, lba, 2, 330, &y, &err), TP_OK, "%s", err.msg);
    for (int i = 0; i < 330 - 257; i++) {
        uint32_t p, q, r, s;
        tp_tokenizer_merge(x, i, &p, &q);
        tp_tokenizer_merge(y, i, &r, &s);
        cr_assert(p == r && q == s, "merge %d depends on text order", i);
    }
    tp_tokenizer_free(x);
    tp_tokenizer_free(y);
    free(a);
    free(b);
}

Test(bpe_train, too_few_pairs_is_an_error) {
    const uint8_t *t[] = {(const uint8_t *)"ab"};
    size_t l[] = {2};
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_train(t, l, 1, 300, &tok, &err), TP_ERR_ARG);
    cr_assert_null(tok);
    cr_assert(strstr(err.msg, "allows only 1 merges"), "%s", err.msg);
    cr_assert_eq(tp_tokenizer_train(t, l, 1, 256, &tok, &err), TP_ERR_ARG);
}

/* Training and encoding agree exactly with the slow, independent Python implementation. */
Test(bpe_train, matches_python_reference, .timeout = 60) {
    char dir[] = "/tmp/tp-tok-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    size_t len;
    uint8_t *text = make_text(5, 30000, &len);
    tp_rng r;
    tp_rng_seed(&r, 11);
    for (int i = 0; i < 200; i++) text[tp_rng_below(&r, len)] = (uint8_t)tp_rng_below(&r, 256);
    for (size_t i = 0; i < len; i++)
        if (text[i] == 0x1e) text[i] = 'x'; /* the reference splits documents on separators */
    char path[256], cmd[1024];
    tp_err err;
    snprintf(path, sizeof path, "%s/text.bin", dir);
    cr_assert_eq(tp_write_file_atomic(path, text, len, &err), TP_OK);
    const uint8_t *texts[] = {text};
    tp_tokenizer *tok;
    cr_assert_eq(tp_tokenizer_train(texts, &len, 1, 420, &tok, &err), TP_OK, "%s", err.msg);
    char tpath[256];
    snprintf(tpath, sizeof tpath, "%s/tok.json", dir);
    cr_assert_eq(tp_tokenizer_save(tok, tpath, &err), TP_OK);
    const char *root = getenv("TEMPLAR_ROOT");
    snprintf(cmd, sizeof cmd,
             PY " - <<'EOF'\n"
                "import json, sys\n"
                "sys.path.insert(0, '%s/tests/data')\n"
                "import bpe_ref\n"
                "data = open('%s', 'rb').read()\n"
                "mine = json.load(open('%s'))['merges']\n"
                "ref = bpe_ref.train([data], 420)\n"
                "assert [list(m) for m in ref] == mine, 'merges differ'\n"
                "probe = data[::-1] + bytes(range(256)) * 3 + b'aaaa' * 100\n"
                "ids = bpe_ref.encode(mine, probe)\n"
                "open('%s/probe.bin', 'wb').write(probe)\n"
                "open('%s/probe.ids', 'w').write(' '.join(map(str, ids)))\n"
                "EOF",
             root ? root : ".", path, tpath, dir, dir);
    cr_assert_eq(system(cmd), 0, "the Python reference disagrees (or failed)");
    uint8_t *probe, *ref_ids;
    size_t plen, rlen;
    snprintf(path, sizeof path, "%s/probe.bin", dir);
    cr_assert_eq(tp_read_file(path, 1 << 24, &probe, &plen, &err), TP_OK);
    snprintf(path, sizeof path, "%s/probe.ids", dir);
    cr_assert_eq(tp_read_file(path, 1 << 24, &ref_ids, &rlen, &err), TP_OK);
    uint32_t *ids;
    size_t n;
    cr_assert_eq(tp_tokenizer_encode(tok, probe, plen, &ids, &n, &err), TP_OK);
    char *save = NULL, *w = strtok_r((char *)ref_ids, " ", &save);
    for (size_t i = 0; i < n; i++, w = strtok_r(NULL, " ", &save)) {
        cr_assert_not_null(w, "reference has only %zu tokens, we have %zu", i, n);
        cr_assert_eq(ids[i], (uint32_t)strtoul(w, NULL, 10), "token %zu differs from the reference", i);
    }
    cr_assert_null(w, "reference has more tokens than our %zu", n);
    free(ids);
    free(probe);
    free(ref_ids);
    free(text);
    tp_tokenizer_free(tok);
    tp_remove_tree(dir, &(tp_err){0});
}

static void check_roundtrip(tp_encoder *enc, const tp_tokenizer *tok, const uint8_t *s, size_t len) {
    tp_err err;
    tp_tokens t = {0};
    cr_assert_eq(tp_encoder_encode(enc, s, len, &t, &err), TP_OK, "%s", err.msg);
    uint8_t *back;
    size_t blen;
    cr_assert_eq(tp_tokenizer_decode(tok, t.ids, t.n, &back, &blen, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(blen, len, "round trip changed the length %zu -> %zu", len, blen);
    cr_assert(!memcmp(back, s, len), "round trip changed the bytes");
    for (size_t i = 0; i < t.n; i++) cr_assert_lt(t.ids[i], tp_tokenizer_eot(tok), "encoding produced EOT or more");
    /* A fresh encoder (empty cache) must agree with the warm one. */
    uint32_t *ids;
    size_t n;
    cr_assert_eq(tp_tokenizer_encode(tok, s, len, &ids, &n, &err), TP_OK);
    cr_assert(n == t.n && (!n || !memcmp(ids, t.ids, n * sizeof *ids)), "cached and uncached encodings differ");
    free(ids);
    free(back);
    tp_tokens_free(&t);
}

Test(bpe_roundtrip, random_hostile_bytes) {
    tp_tokenizer *tok = train_small(600);
    tp_encoder *enc;
    tp_err err;
    cr_assert_eq(tp_encoder_new(tok, &enc, &err), TP_OK);
    tp_rng r;
    tp_rng_seed(&r, 42);
    uint8_t *buf = malloc(4096);
    static const char alpha[] = "the kernel ae'sdl \n\t0123456789.,;()";
    for (int trial = 0; trial < 4000; trial++) {
        size_t len = tp_rng_below(&r, trial % 10 == 0 ? 4096 : 300);
        int kind = trial % 6;
        for (size_t i = 0; i < len; i++) {
            switch (kind) {
            case 0: buf[i] = (uint8_t)tp_rng_below(&r, 256); break;              /* anything, NULs included */
            case 1: buf[i] = (uint8_t)alpha[tp_rng_below(&r, sizeof alpha - 1)]; break; /* merge-rich */
            case 2: buf[i] = (uint8_t)(0x80 + tp_rng_below(&r, 128)); break;     /* invalid UTF-8 */
            case 3: buf[i] = tp_rng_below(&r, 50) ? buf[i ? i - 1 : 0] : (uint8_t)tp_rng_below(&r, 256); break;
            case 4: buf[i] = (uint8_t)"\0 \n'a1"[tp_rng_below(&r, 6)]; break;     /* rule boundaries */
            default: buf[i] = tp_rng_below(&r, 2) ? (uint8_t)alpha[tp_rng_below(&r, 10)] : (uint8_t)tp_rng_below(&r, 256);
            }
        }
        check_roundtrip(enc, tok, buf, len);
    }
    /* Long runs cross the chunk cap. */
    static const uint8_t fills[] = {'a', ' ', 0, '\n', 0xff, '7', '.'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(buf, fills[f], 4096);
        check_roundtrip(enc, tok, buf, 4096);
        check_roundtrip(enc, tok, buf, 257);
    }
    check_roundtrip(enc, tok, buf, 0);
    free(buf);
    tp_encoder_free(enc);
    tp_tokenizer_free(tok);
}

Test(bpe_roundtrip, decode_rejects_out_of_range_and_skips_eot) {
    tp_tokenizer *tok = train_small(300);
    uint32_t ids[] = {'h', 'i', 299, '!'};
    uint8_t *out;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_tokenizer_decode(tok, ids, 4, &out, &len, &err), TP_OK);
    cr_assert(len == 3 && !memcmp(out, "hi!", 3));
    free(out);
    ids[2] = 300;
    cr_assert_eq(tp_tokenizer_decode(tok, ids, 4, &out, &len, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "token 300 at position 2 is out of range"), "%s", err.msg);
    ids[2] = UINT32_MAX;
    cr_assert_eq(tp_tokenizer_decode(tok, ids, 4, &out, &len, &err), TP_ERR_ARG);
    tp_tokenizer_free(tok);
}

Test(bpe_format, save_load_roundtrip) {
    char dir[] = "/tmp/tp-tok-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/tok.json", dir);
    tp_tokenizer *a = train_small(700), *b;
    tp_err err;
    cr_assert_eq(tp_tokenizer_save(a, path, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_tokenizer_load(path, &b, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_tokenizer_vocab_size(b), 700);
    for (uint32_t id = 0; id < 700; id++) {
        size_t la, lb;
        const uint8_t *x = tp_tokenizer_token_bytes(a, id, &la), *y = tp_tokenizer_token_bytes(b, id, &lb);
        cr_assert(la == lb && !memcmp(x, y, la), "token %u differs after reload", id);
    }
    tp_tokenizer_free(b);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    cr_assert_neq(tp_tokenizer_load(path, &b, &err), TP_OK);
    cr_assert_null(b);
    cr_assert(strstr(err.msg, "missing.json"), "%s", err.msg);
    tp_tokenizer_free(a);
    tp_remove_tree(dir, &(tp_err){0});
}

static void expect_reject(const char *json, const char *what) {
    tp_tokenizer *tok = (tp_tokenizer *)1;
    tp_err err;
    tp_status st = tp_tokenizer_load_mem((const uint8_t *)json, strlen(json), &tok, &err);
    cr_assert_eq(st, TP_ERR_FORMAT, "accepted: %s", json);
    cr_assert_null(tok);
    cr_assert(strstr(err.msg, what), "for %s\nexpected a message with '%s', got '%s'", json, what, err.msg);
}

#define HEAD "{\"format\":\"templar-bpe\",\"version\":1,"

Test(bpe_format, loader_names_what_is_wrong) {
    expect_reject("{", "not valid JSON");
    expect_reject("[]", "top level must be a JSON object");
    expect_reject("{\"version\":1,\"vocab_size\":257,\"eot_token\":256,\"merges\":[]}", "missing \"format\"");
    expect_reject("{\"format\":\"gpt2\",\"version\":1,\"vocab_size\":257,\"eot_token\":256,\"merges\":[]}",
                  "\"format\" must be \"templar-bpe\"");
    expect_reject("{\"format\":\"templar-bpe\",\"version\":2,\"vocab_size\":257,\"eot_token\":256,\"merges\":[]}",
                  "\"version\" is 2");
    expect_reject(HEAD "\"vocab_size\":100,\"eot_token\":99,\"merges\":[]}", "\"vocab_size\" is 100");
    expect_reject(HEAD "\"vocab_size\":257.0,\"eot_token\":256,\"merges\":[]}", "\"vocab_size\" must be an integer");
    expect_reject(HEAD "\"vocab_size\":257,\"eot_token\":0,\"merges\":[]}", "\"eot_token\" is 0 but must be");
    expect_reject(HEAD "\"vocab_size\":257,\"eot_token\":256}", "missing \"merges\"");
    expect_reject(HEAD "\"vocab_size\":257,\"eot_token\":256,\"merges\":{}}", "\"merges\" must be an array");
    expect_reject(HEAD "\"vocab_size\":259,\"eot_token\":258,\"merges\":[[97,98]]}",
                  "\"merges\" has 1 entries but vocab_size 259 needs 2");
    expect_reject(HEAD "\"vocab_size\":258,\"eot_token\":257,\"merges\":[[256,97]]}", "merge 0 refers to id 256");
    expect_reject(HEAD "\"vocab_size\":258,\"eot_token\":257,\"merges\":[[-1,97]]}", "merge 0 refers to id -1");
    expect_reject(HEAD "\"vocab_size\":258,\"eot_token\":257,\"merges\":[[97]]}",
                  "merge 0 must be an array of two integers");
    expect_reject(HEAD "\"vocab_size\":258,\"eot_token\":257,\"merges\":[[97,\"b\"]]}",
                  "merge 0 must be an array of two integers");
    expect_reject(HEAD "\"vocab_size\":259,\"eot_token\":258,\"merges\":[[97,98],[97,98]]}",
                  "merge 1 ([97, 98]) repeats merge 0");
    expect_reject(HEAD "\"vocab_size\":257,\"eot_token\":256,\"merges\":[],\"extra\":1}", "unknown key \"extra\"");
    expect_reject(HEAD "\"vocab_size\":257,\"vocab_size\":257,\"eot_token\":256,\"merges\":[]}", "duplicate");
    expect_reject(HEAD "\"vocab_size\":99999999999999999999999,\"eot_token\":256,\"merges\":[]}", "not valid JSON");
    /* Doubling a token 9 times would make it 512 bytes: longer than any chunk. */
    char buf[1024];
    int n = snprintf(buf, sizeof buf, HEAD "\"vocab_size\":%d,\"eot_token\":%d,\"merges\":[[97,97]", 257 + 9, 256 + 9);
    for (int i = 1; i < 9; i++) n += snprintf(buf + n, sizeof buf - (size_t)n, ",[%d,%d]", 255 + i, 255 + i);
    snprintf(buf + n, sizeof buf - (size_t)n, "]}");
    expect_reject(buf, "merge 8 makes a token of 512 bytes");
    /* The size limit is checked before a byte is parsed. */
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load_mem((const uint8_t *)"{}", TP_TOKENIZER_MAX_FILE + 1, &tok, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "more than the limit"), "%s", err.msg);
}

Test(bpe_format, minimal_file_loads) {
    const char *json = HEAD "\"vocab_size\":258,\"eot_token\":257,\"merges\":[[104,105]]}";
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load_mem((const uint8_t *)json, strlen(json), &tok, &err), TP_OK, "%s", err.msg);
    uint32_t *ids;
    size_t n;
    cr_assert_eq(tp_tokenizer_encode(tok, (const uint8_t *)"hi hi", 5, &ids, &n, &err), TP_OK);
    cr_assert(n == 3 && ids[0] == 256 && ids[1] == ' ' && ids[2] == 256, "got %zu tokens", n);
    free(ids);
    tp_tokenizer_free(tok);
}
