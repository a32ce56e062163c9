/* End to end through the built binary: `templar tokenizer train` and `templar prep` on a generated
 * multi-document corpus, then the shards are checked with our reader, with numpy, and against the
 * input documents (every document decodes back exactly, followed by one EOT). Also: shards API,
 * determinism across thread counts, stale shard removal, and corruption detection. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/npy.h"
#include "core/rng.h"
#include "data/shards.h"
#include "data/tokenizer.h"

#define PY "/usr/bin/python3"
#define N_DOCS 30
#define VOCAB 320

static char g_dir[64];

typedef struct {
    uint8_t *data[N_DOCS + 1];
    size_t len[N_DOCS + 1];
    int n;
} corpus;

static void setup(void) {
    strcpy(g_dir, "/tmp/tp-prep-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void) { tp_remove_tree(g_dir, &(tp_err){0}); }

TestSuite(prep, .init = setup, .fini = teardown, .timeout = 120);

static const char *bin(void) {
    const char *b = getenv("TEMPLAR_BIN");
    cr_assert(b && *b, "TEMPLAR_BIN is not set (run the tests through make)");
    return b;
}

/* Runs "ENV templar ARGS" in g_dir with output in g_dir/log; returns the exit status. */
static int run(const char *env, const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >log 2>&1", g_dir, env ? env : "", bin(), args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    uint8_t *b;
    size_t l;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1u << 30, &b, &l, &err), TP_OK, "%s", err.msg);
    if (len) *len = l;
    return (char *)b;
}

static const char *log_text(void) {
    static char buf[8192];
    char *l = slurp("log", NULL);
    snprintf(buf, sizeof buf, "%s", l);
    free(l);
    return buf;
}

/* Documents of English-like text; some carry NULs, invalid UTF-8 or a mid-line 0x1E; document 10 is
 * larger than prep's 1 MB read piece, so it is cut inside. */
static corpus make_corpus(void) {
    static const char *const words[] = {"the", "driver", "memory", "lock", "is", "held", "when", "a", "page",
                                        "faults", "and", "we'll", "retry", "1024", "bytes", "(see", "below)."};
    corpus c = {0};
    tp_rng r;
    tp_rng_seed(&r, 99);
    for (int d = 0; d < N_DOCS; d++) {
        size_t target = d == 10 ? 1300000 : 300 + (size_t)(d * 997) % 4000;
        uint8_t *b = malloc(target + 64);
        size_t n = 0;
        while (n < target) {
            n += (size_t)snprintf((char *)b + n, 64, "%s%s", n ? (tp_rng_below(&r, 12) ? " " : "\n") : "",
                                  words[tp_rng_below(&r, sizeof words / sizeof *words)]);
        }
        if (d == 3) memcpy(b + 10, "\0\xff\xfe\x80\0", 5);
        if (d == 7) memcpy(b + 20, "x\x1ey", 3);
        c.data[d] = b;
        c.len[d] = n;
    }
    c.n = N_DOCS;
    return c;
}

static void corpus_free(corpus *c) {
    for (int i = 0; i < c->n; i++) free(c->data[i]);
}

/* Writes documents [from, to) joined by separators, with an empty document in the middle. */
static void write_docs(const corpus *c, int from, int to, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (int d = from; d < to; d++) {
        if (d > from) fwrite("\n\x1e\n", 1, 3, f);
        if (d == from + 2) fwrite("\x1e\n", 1, 2, f); /* an empty document: skipped */
        fwrite(c->data[d], 1, c->len[d], f);
    }
    fclose(f);
}

/* Concatenation of DIR/SPLIT_NNNNNN.npy; checks dtype and the shard size contract. */
static uint32_t *read_split(const char *dir, const char *split, size_t shard_tokens, size_t *n, int *files) {
    uint32_t *all = NULL;
    size_t total = 0;
    int k = 0;
    for (;; k++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s/%s_%06d.npy", g_dir, dir, split, k);
        if (!tp_path_exists(path)) break;
        tp_npy_map m;
        tp_err err;
        cr_assert_eq(tp_npy_map_open(path, &m, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(m.npy.dtype, TP_DT_U32);
        cr_assert_eq(m.npy.ndim, 1);
        cr_assert_gt(m.npy.count, 0, "%s is empty", path);
        if (k > 0) cr_assert_eq(total % shard_tokens, 0, "shard %d of %s is not full", k - 1, split);
        all = realloc(all, (total + (size_t)m.npy.count) * 4 + 4);
        memcpy(all + total, m.npy.data, (size_t)m.npy.count * 4);
        total += (size_t)m.npy.count;
        tp_npy_map_close(&m);
    }
    *n = total;
    *files = k;
    return all;
}

/* Splits a token stream at EOTs and compares each document with the expected ones. */
static void check_stream(const tp_tokenizer *tok, const uint32_t *ids, size_t n, const corpus *c, const int *which,
                         int nwhich) {
    uint32_t eot = tp_tokenizer_eot(tok);
    cr_assert(n > 0 && ids[n - 1] == eot, "stream does not end with EOT");
    size_t from = 0;
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] != eot) continue;
        cr_assert_lt(d, nwhich, "more documents than expected");
        cr_assert_gt(i, from, "an empty document");
        uint8_t *text;
        size_t len;
        tp_err err;
        cr_assert_eq(tp_tokenizer_decode(tok, ids + from, i - from, &text, &len, &err), TP_OK);
        int k = which[d];
        cr_assert(len == c->len[k] && !memcmp(text, c->data[k], len), "document %d does not decode to its text", k);
        free(text);
        from = i + 1;
        d++;
    }
    cr_assert_eq(d, nwhich, "%d documents in the stream, expected %d", d, nwhich);
}

static json_t *load_meta(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s/meta.json", g_dir, dir);
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    cr_assert_not_null(m, "meta.json: %s", je.text);
    return m;
}

static int64_t meta_int(json_t *m, const char *key) {
    json_t *v = json_object_get(m, key);
    cr_assert(json_is_integer(v), "meta.json lacks integer %s", key);
    return json_integer_value(v);
}

static void hex_digest(const char *name, char hex[65]) {
    size_t len;
    char *b = slurp(name, &len);
    unsigned char h[32];
    cr_assert_geq(sodium_init(), 0);
    crypto_generichash(h, sizeof h, (unsigned char *)b, len, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
    free(b);
}

static tp_tokenizer *train_tokenizer(void) {
    cr_assert_eq(run(NULL, "tokenizer train --vocab %d --out tok.json train.txt extra.txt", VOCAB), 0, "%s",
                 log_text());
    cr_assert(strstr(log_text(), "vocab 320"), "%s", log_text());
    char path[256];
    snprintf(path, sizeof path, "%s/tok.json", g_dir);
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load(path, &tok, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_tokenizer_vocab_size(tok), VOCAB);
    return tok;
}

Test(prep, end_to_end_every_kth_document) {
    corpus c = make_corpus();
    write_docs(&c, 0, N_DOCS - 1, "train.txt");
    write_docs(&c, N_DOCS - 1, N_DOCS, "extra.txt"); /* no separator: one document */
    tp_tokenizer *tok = train_tokenizer();
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out data --val-every 5 --shard-tokens 1000 train.txt extra.txt"),
                 0, "%s", log_text());

    int train_docs[N_DOCS], val_docs[N_DOCS], nt = 0, nv = 0;
    for (int d = 0; d < N_DOCS; d++) {
        if (d % 5 == 4) val_docs[nv++] = d;
        else train_docs[nt++] = d;
    }
    size_t ntrain, nval;
    int ftrain, fval;
    uint32_t *train = read_split("data", "train", 1000, &ntrain, &ftrain);
    uint32_t *val = read_split("data", "val", 1000, &nval, &fval);
    check_stream(tok, train, ntrain, &c, train_docs, nt);
    check_stream(tok, val, nval, &c, val_docs, nv);
    cr_assert_gt(ftrain, 100, "expected many 1000-token shards, got %d", ftrain);

    /* meta.json */
    json_t *m = load_meta("data");
    cr_assert_str_eq(json_string_value(json_object_get(m, "format")), "templar-shards");
    cr_assert_eq(meta_int(m, "vocab_size"), VOCAB);
    cr_assert_eq(meta_int(m, "eot_token"), VOCAB - 1);
    cr_assert_eq(meta_int(m, "train_tokens"), (int64_t)ntrain);
    cr_assert_eq(meta_int(m, "val_tokens"), (int64_t)nval);
    cr_assert_eq(meta_int(m, "train_shards"), ftrain);
    cr_assert_eq(meta_int(m, "val_shards"), fval);
    cr_assert_eq(meta_int(m, "documents"), N_DOCS);
    cr_assert_eq(meta_int(m, "train_documents"), nt);
    cr_assert_eq(meta_int(m, "val_documents"), nv);
    double counts[VOCAB] = {0}, total = 0, h = 0;
    for (size_t i = 0; i < ntrain; i++)
        if (train[i] != VOCAB - 1) counts[train[i]]++, total++;
    for (int i = 0; i < VOCAB; i++)
        if (counts[i] > 0) h -= counts[i] / total * log(counts[i] / total);
    double ent = json_number_value(json_object_get(m, "unigram_entropy"));
    cr_assert(fabs(ent - h) < 1e-9 * h && h > 1.0, "unigram_entropy %.12f, recomputed %.12f", ent, h);
    char hex[65];
    hex_digest("tok.json", hex);
    cr_assert_str_eq(json_string_value(json_object_get(m, "tokenizer_blake2b")), hex);
    size_t la, lb;
    char *a = slurp("tok.json", &la), *b = slurp("data/tokenizer.json", &lb);
    cr_assert(la == lb && !memcmp(a, b, la), "tokenizer.json is not a copy of the tokenizer");
    free(a);
    free(b);
    json_decref(m);

    /* numpy reads every shard as a flat <u4 array with the counts meta.json claims. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s/data' && " PY " -c \"\n"
             "import glob, json, numpy as np\n"
             "m = json.load(open('meta.json'))\n"
             "for s in ('train', 'val'):\n"
             "    fs = sorted(glob.glob(s + '_*.npy'))\n"
             "    assert len(fs) == m[s + '_shards'], fs\n"
             "    a = [np.load(f) for f in fs]\n"
             "    assert all(x.dtype == np.dtype('<u4') and x.ndim == 1 for x in a)\n"
             "    t = np.concatenate(a)\n"
             "    assert t.size == m[s + '_tokens'] and int(t.max()) == m['eot_token']\n"
             "    assert int((t == m['eot_token']).sum()) == m[s + '_documents']\n"
             "\" >py.log 2>&1",
             g_dir);
    cr_assert_eq(system(cmd), 0, "numpy check failed: see %s/data/py.log", g_dir);

    /* The shards API: samples never span shards, and sample i is where the contract says. */
    char dir[256];
    snprintf(dir, sizeof dir, "%s/data", g_dir);
    tp_shards *s;
    tp_err err;
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_shards_vocab_size(s), VOCAB);
    cr_assert_eq(tp_shards_eot(s), VOCAB - 1);
    cr_assert_eq(tp_shards_num_tokens(s, TP_SPLIT_TRAIN), ntrain);
    cr_assert_eq(tp_shards_num_files(s, TP_SPLIT_VAL), fval);
    cr_assert(fabs(tp_shards_unigram_entropy(s) - h) < 1e-9 * h);
    const int seq = 64;
    /* Every shard but the last holds exactly 1000 tokens: 15 samples each, the 40-token tails skipped. */
    uint64_t per = 1000 / seq;
    uint64_t want_samples = (uint64_t)(ftrain - 1) * per + (ntrain - (size_t)(ftrain - 1) * 1000) / seq;
    cr_assert_eq(tp_shards_num_samples(s, TP_SPLIT_TRAIN, seq), want_samples);
    int32_t sample[64];
    for (uint64_t i = 0; i < want_samples; i += 7) {
        cr_assert_eq(tp_shards_read_sample(s, TP_SPLIT_TRAIN, seq, i, sample, &err), TP_OK, "%s", err.msg);
        size_t at = (size_t)(i / per) * 1000 + (size_t)(i % per) * seq;
        for (int t = 0; t < seq; t++) cr_assert_eq((uint32_t)sample[t], train[at + t], "sample %lu", (unsigned long)i);
    }
    cr_assert_eq(tp_shards_read_sample(s, TP_SPLIT_TRAIN, seq, want_samples, sample, &err), TP_ERR_ARG);
    cr_assert_eq(tp_shards_num_samples(s, TP_SPLIT_TRAIN, 0), 0);
    tp_shards_close(s);

    /* One thread gives the same bytes as several. */
    cr_assert_eq(run("OMP_NUM_THREADS=1", "prep --tokenizer tok.json --out one --val-every 5 --shard-tokens 1000 "
                                          "train.txt extra.txt"),
                 0, "%s", log_text());
    for (int k = 0; k < ftrain; k += 37) {
        char x[64], y[64];
        snprintf(x, sizeof x, "data/train_%06d.npy", k);
        snprintf(y, sizeof y, "one/train_%06d.npy", k);
        size_t lx, ly;
        char *bx = slurp(x, &lx), *by = slurp(y, &ly);
        cr_assert(lx == ly && !memcmp(bx, by, lx), "shard %d depends on the thread count", k);
        free(bx);
        free(by);
    }

    /* Re-running into the same directory with bigger shards removes the old ones. */
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out data --val-every 5 train.txt extra.txt"), 0, "%s",
                 log_text());
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_shards_num_files(s, TP_SPLIT_TRAIN), 1);
    cr_assert_eq(tp_shards_num_tokens(s, TP_SPLIT_TRAIN), ntrain);
    tp_shards_close(s);
    char stale[256];
    snprintf(stale, sizeof stale, "%s/data/train_000001.npy", g_dir);
    cr_assert(!tp_path_exists(stale), "an old shard survived");

    free(train);
    free(val);
    tp_tokenizer_free(tok);
    corpus_free(&c);
}

Test(prep, val_files_and_cli_tools) {
    corpus c = make_corpus();
    write_docs(&c, 0, 8, "train.txt");
    write_docs(&c, 11, N_DOCS, "extra.txt");
    write_docs(&c, 8, 10, "val.txt");
    tp_tokenizer *tok = train_tokenizer();
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out d --val val.txt train.txt extra.txt"), 0, "%s",
                 log_text());
    int tr[N_DOCS], nt = 0, va[] = {8, 9};
    for (int d = 0; d < N_DOCS; d++)
        if (d < 8 || d >= 11) tr[nt++] = d;
    size_t n;
    int files;
    uint32_t *ids = read_split("d", "train", 100000000, &n, &files);
    check_stream(tok, ids, n, &c, tr, nt);
    free(ids);
    ids = read_split("d", "val", 100000000, &n, &files);
    check_stream(tok, ids, n, &c, va, 2);
    free(ids);
    json_t *m = load_meta("d");
    cr_assert_eq(meta_int(m, "val_documents"), 2);
    cr_assert_eq(meta_int(m, "val_every"), 0);
    json_decref(m);

    /* encode | decode through the command line. */
    cr_assert_eq(run(NULL, "tokenizer encode --tokenizer tok.json 'the driver said: h\xc3\xa9llo'"), 0, "%s",
                 log_text());
    char *enc = slurp("log", NULL);
    enc[strcspn(enc, "\n")] = 0;
    cr_assert_eq(run(NULL, "tokenizer decode --tokenizer tok.json %s", enc), 0, "%s", log_text());
    cr_assert_str_eq(log_text(), "the driver said: h\xc3\xa9llo");
    free(enc);
    cr_assert_eq(run(NULL, "tokenizer decode --tokenizer tok.json 97 320"), 1);
    cr_assert(strstr(log_text(), "out of range"), "%s", log_text());

    /* Usage errors exit 2, failures 1 with a message. */
    cr_assert_eq(run(NULL, "prep"), 2);
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out x"), 2);
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out x --shard-tokens 0 train.txt"), 2);
    cr_assert_eq(run(NULL, "prep --tokenizer missing.json --out x train.txt"), 1);
    cr_assert(strstr(log_text(), "missing.json"), "%s", log_text());
    cr_assert_eq(run(NULL, "prep --tokenizer train.txt --out x train.txt"), 1, "a text file is not a tokenizer");
    cr_assert_eq(run(NULL, "tokenizer train --vocab 100 --out t.json train.txt"), 2);
    cr_assert_eq(run(NULL, "tokenizer train --vocab 300 train.txt"), 2);
    cr_assert_eq(run(NULL, "tokenizer train --vocab 1000000 --out t.json val.txt"), 1);
    cr_assert(strstr(log_text(), "allows only"), "%s", log_text());
    cr_assert_eq(run(NULL, "tokenizer --help"), 0);
    cr_assert(strstr(log_text(), "usage: templar tokenizer train"), "%s", log_text());
    cr_assert_eq(run(NULL, "prep --help"), 0);
    tp_tokenizer_free(tok);
    corpus_free(&c);
}

static void write_text(const char *rel, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(path, text, strlen(text), &err), TP_OK);
}

Test(prep, shards_detect_damage) {
    corpus c = make_corpus();
    write_docs(&c, 0, 6, "train.txt");
    write_docs(&c, 6, 7, "extra.txt");
    tp_tokenizer *tok = train_tokenizer();
    cr_assert_eq(run(NULL, "prep --tokenizer tok.json --out d --val-every 3 train.txt extra.txt"), 0, "%s",
                 log_text());
    char dir[256], path[600];
    snprintf(dir, sizeof dir, "%s/d", g_dir);
    tp_shards *s;
    tp_err err;
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_OK, "%s", err.msg);
    tp_shards_close(s);

    /* A token >= vocab_size: reading that sample fails with a message, no crash. */
    snprintf(path, sizeof path, "%s/train_000000.npy", dir);
    tp_npy_map nm;
    cr_assert_eq(tp_npy_map_open(path, &nm, &err), TP_OK, "%s", err.msg);
    long header = (long)nm.npy.header_len;
    tp_npy_map_close(&nm);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, header + 4 * 70, SEEK_SET);
    uint32_t bad = 5000;
    fwrite(&bad, 4, 1, f);
    fclose(f);
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_OK, "%s", err.msg);
    int32_t sample[64];
    cr_assert_eq(tp_shards_read_sample(s, TP_SPLIT_TRAIN, 64, 0, sample, &err), TP_OK);
    cr_assert_eq(tp_shards_read_sample(s, TP_SPLIT_TRAIN, 64, 1, sample, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "token 5000 at position 70 is out of range"), "%s", err.msg);
    tp_shards_close(s);

    /* A different tokenizer.json than the one recorded. */
    write_text("d/tokenizer.json.keep", "");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    char keep[600];
    snprintf(keep, sizeof keep, "%s/tokenizer.json.keep", dir);
    cr_assert_eq(rename(path, keep), 0);
    write_text("d/tokenizer.json", "{}");
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "different tokenizer"), "%s", err.msg);
    cr_assert_eq(rename(keep, path), 0);

    /* Token totals that disagree with meta.json, a missing shard, a stray extra shard. */
    size_t len;
    char *meta = slurp("d/meta.json", &len);
    json_t *m = json_loads(meta, 0, NULL);
    json_object_set_new(m, "train_tokens", json_integer(meta_int(m, "train_tokens") + 1));
    char *bad_meta = json_dumps(m, 0);
    write_text("d/meta.json", bad_meta);
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "meta.json says"), "%s", err.msg);
    free(bad_meta);
    json_decref(m);
    write_text("d/meta.json", meta);
    snprintf(path, sizeof path, "%s/train_000001.npy", dir);
    char other[600];
    snprintf(other, sizeof other, "%s/val_000000.npy", dir);
    cr_assert_eq(link(other, path), 0);
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "lists only 1 train shards"), "%s", err.msg);
    unlink(path);
    snprintf(path, sizeof path, "%s/val_000000.npy", dir);
    unlink(path);
    cr_assert_neq(tp_shards_open(dir, &s, &err), TP_OK);
    cr_assert(strstr(err.msg, "val_000000.npy"), "%s", err.msg);

    /* No meta.json: an unfinished prep. */
    snprintf(path, sizeof path, "%s/meta.json", dir);
    unlink(path);
    cr_assert_eq(tp_shards_open(dir, &s, &err), TP_ERR_IO);
    cr_assert(strstr(err.msg, "no meta.json"), "%s", err.msg);
    free(meta);
    tp_tokenizer_free(tok);
    corpus_free(&c);
}
