/* Document streams: separator lines, empty documents, pieces bounded by piece_max, separators that
 * straddle a piece boundary, and cuts that leave the encoding unchanged. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "data/docstream.h"
#include "data/tokenizer.h"

static char g_dir[64];

static void setup(void) {
    strcpy(g_dir, "/tmp/tp-docs-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void) { tp_remove_tree(g_dir, &(tp_err){0}); }

TestSuite(docstream, .init = setup, .fini = teardown);

typedef struct {
    uint8_t *data[64];
    size_t len[64];
    int n;
} docs;

static void docs_free(docs *d) {
    for (int i = 0; i < d->n; i++) free(d->data[i]);
}

/* Reads a file of the given bytes back as documents, checking the piece contract on the way. */
static docs read_docs(const void *bytes, size_t len, size_t piece_max) {
    char path[128];
    snprintf(path, sizeof path, "%s/in.txt", g_dir);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(path, bytes, len, &err), TP_OK);
    tp_docstream *s;
    cr_assert_eq(tp_docstream_open(path, piece_max, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_docstream_size(s), len);
    docs d = {0};
    size_t cur = 0, cap = 0;
    uint8_t *buf = NULL;
    tp_doc_piece p;
    int got;
    while (1) {
        cr_assert_eq(tp_docstream_next(s, &p, &got, &err), TP_OK, "%s", err.msg);
        if (!got) break;
        cr_assert_leq(p.len, piece_max, "piece of %zu bytes > %zu", p.len, piece_max);
        if (!p.doc_end) cr_assert_gt(p.len, 0, "an empty piece that does not end a document");
        if (cur + p.len + 1 > cap) buf = realloc(buf, cap = 2 * (cur + p.len + 1));
        memcpy(buf + cur, p.data, p.len);
        cur += p.len;
        if (p.doc_end) {
            cr_assert_lt(d.n, 64);
            cr_assert_gt(cur, 0, "an empty document was handed out");
            d.data[d.n] = malloc(cur);
            memcpy(d.data[d.n], buf, cur);
            d.len[d.n++] = cur;
            cur = 0;
        }
    }
    cr_assert_eq(cur, 0, "bytes after the last document end");
    cr_assert_eq(tp_docstream_consumed(s), len, "not every byte was consumed");
    tp_docstream_close(s);
    free(buf);
    return d;
}

static void expect_docs(const char *bytes, size_t len, const char *const *want, int nwant) {
    docs d = read_docs(bytes, len, TP_DOCSTREAM_MIN_PIECE);
    cr_assert_eq(d.n, nwant, "%d documents, expected %d", d.n, nwant);
    for (int i = 0; i < d.n; i++)
        cr_assert(d.len[i] == strlen(want[i]) && !memcmp(d.data[i], want[i], d.len[i]), "document %d differs", i);
    docs_free(&d);
}

#define S(lit) lit, sizeof(lit) - 1

Test(docstream, separators) {
    expect_docs(S("a\n\x1e\nb"), (const char *[]){"a", "b"}, 2);
    expect_docs(S("no separator at all\n"), (const char *[]){"no separator at all\n"}, 1);
    /* A leading separator line, an empty document and a trailing separator are all skipped. */
    expect_docs(S("\x1e\na\n\x1e\n\n\x1e\nb\n\x1e\n"), (const char *[]){"a", "b"}, 2);
    /* 0x1E inside a line, or followed by more text, is content; a final "\n\x1e" is a separator. */
    expect_docs(S("x\x1ey\n\x1ez\n\x1e"), (const char *[]){"x\x1ey\n\x1ez"}, 1);
    expect_docs(S("keep\n\n\x1e\nblank lines\n\n"), (const char *[]){"keep\n", "blank lines\n\n"}, 2);
    expect_docs(S(""), NULL, 0);
    expect_docs(S("\x1e"), NULL, 0);
    expect_docs(S("\x1e\n\x1e\n"), NULL, 0);
    docs d = read_docs(S("nul\0bytes\n\x1e\n\xff\0"), TP_DOCSTREAM_MIN_PIECE);
    cr_assert(d.n == 2 && d.len[0] == 9 && !memcmp(d.data[0], "nul\0bytes", 9));
    cr_assert(d.len[1] == 2 && !memcmp(d.data[1], "\xff\0", 2));
    docs_free(&d);
}

/* Documents whose ends fall just before, on and after the piece limit, followed by a separator. */
Test(docstream, separator_at_piece_boundary) {
    const size_t pm = TP_DOCSTREAM_MIN_PIECE;
    for (size_t l = pm - 4; l <= pm + 4; l++) {
        size_t total = l + 3 + 5;
        char *b = malloc(total);
        memset(b, 'q', l);
        memcpy(b + l, "\n\x1e\nnext!", 8);
        docs d = read_docs(b, total, pm);
        cr_assert_eq(d.n, 2, "doc length %zu: %d documents", l, d.n);
        cr_assert(d.len[0] == l && d.len[1] == 5 && !memcmp(d.data[1], "next!", 5), "doc length %zu", l);
        docs_free(&d);
        free(b);
    }
}

Test(docstream, long_documents_cut_safely) {
    const char *json = "{\"format\":\"templar-bpe\",\"version\":1,\"vocab_size\":261,\"eot_token\":260,"
                       "\"merges\":[[32,116],[256,104],[101,32],[97,97]]}";
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load_mem((const uint8_t *)json, strlen(json), &tok, &err), TP_OK, "%s", err.msg);
    tp_rng r;
    tp_rng_seed(&r, 5);
    size_t lens[3] = {20000, 9000, 30001}, total = 0;
    uint8_t *text = malloc(70000);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < lens[k]; i++) {
            uint64_t c = tp_rng_below(&r, 16);
            text[total + i] = c < 8 ? (uint8_t)"the aa  \n"[c] : (uint8_t)tp_rng_below(&r, 256);
            if (text[total + i] == 0x1e) text[total + i] = 'x';
        }
        total += lens[k];
        if (k < 2) {
            memcpy(text + total, "\n\x1e\n", 3);
            total += 3;
        }
    }
    docs d = read_docs(text, total, TP_DOCSTREAM_MIN_PIECE);
    cr_assert_eq(d.n, 3);
    /* Encode again, piece by piece, and compare with whole-document encodings. */
    char path[128];
    snprintf(path, sizeof path, "%s/in.txt", g_dir);
    tp_docstream *s;
    cr_assert_eq(tp_docstream_open(path, TP_DOCSTREAM_MIN_PIECE, &s, &err), TP_OK);
    tp_encoder *enc;
    cr_assert_eq(tp_encoder_new(tok, &enc, &err), TP_OK);
    tp_tokens piecewise = {0};
    tp_doc_piece p;
    int got, k = 0, pieces = 0;
    while (!tp_docstream_next(s, &p, &got, &err) && got) {
        pieces++;
        cr_assert_eq(tp_encoder_encode(enc, p.data, p.len, &piecewise, &err), TP_OK);
        if (!p.doc_end) continue;
        cr_assert_eq(d.len[k], lens[k]);
        uint32_t *ids;
        size_t n;
        cr_assert_eq(tp_tokenizer_encode(tok, d.data[k], d.len[k], &ids, &n, &err), TP_OK);
        cr_assert(n == piecewise.n && !memcmp(ids, piecewise.ids, n * 4), "document %d: pieces encode differently", k);
        free(ids);
        piecewise.n = 0;
        k++;
    }
    cr_assert_gt(pieces, 15, "documents were not cut into pieces (%d)", pieces);
    tp_tokens_free(&piecewise);
    tp_encoder_free(enc);
    tp_docstream_close(s);
    docs_free(&d);
    free(text);
    tp_tokenizer_free(tok);
}

Test(docstream, errors) {
    tp_docstream *s;
    tp_err err;
    char path[128];
    snprintf(path, sizeof path, "%s/missing.txt", g_dir);
    cr_assert_eq(tp_docstream_open(path, 1 << 20, &s, &err), TP_ERR_IO);
    cr_assert(strstr(err.msg, "missing.txt"), "%s", err.msg);
    cr_assert_eq(tp_docstream_open(path, 100, &s, &err), TP_ERR_ARG);
    cr_assert_eq(tp_docstream_open(g_dir, 1 << 20, &s, &err), TP_ERR_IO, "a directory is not a text file");
}
