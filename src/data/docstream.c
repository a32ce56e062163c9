#include "data/docstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "data/tokenizer.h"

struct tp_docstream {
    FILE *f;
    char path[4096];
    uint64_t size, consumed;
    uint8_t *buf;
    size_t cap, start, end, piece_max;
    int eof;
    int at_doc_start; /* at the start of a line that begins a document (file start or after a separator) */
    int in_doc;       /* the current document has handed out bytes */
};

tp_status tp_docstream_open(const char *path, size_t piece_max, tp_docstream **out, tp_err *err) {
    *out = NULL;
    if (piece_max < TP_DOCSTREAM_MIN_PIECE)
        return tp_fail(err, TP_ERR_ARG, "document piece size %zu is below %d", piece_max, TP_DOCSTREAM_MIN_PIECE);
    tp_docstream *d = tp_calloc(1, sizeof *d, err);
    if (!d) return TP_ERR_NOMEM;
    snprintf(d->path, sizeof d->path, "%s", path);
    d->piece_max = piece_max;
    d->cap = piece_max + 64;
    d->at_doc_start = 1;
    d->buf = tp_malloc(d->cap, err);
    if (!d->buf) {
        free(d);
        return TP_ERR_NOMEM;
    }
    d->f = fopen(path, "rb");
    struct stat st;
    if (!d->f || fstat(fileno(d->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        tp_fail(err, TP_ERR_IO, "cannot read %s: %s", path, d->f ? "not a regular file" : strerror(errno));
        tp_docstream_close(d);
        return TP_ERR_IO;
    }
    d->size = (uint64_t)st.st_size;
    *out = d;
    return TP_OK;
}

void tp_docstream_close(tp_docstream *d) {
    if (!d) return;
    if (d->f) fclose(d->f);
    free(d->buf);
    free(d);
}

uint64_t tp_docstream_size(const tp_docstream *d) { return d->size; }
uint64_t tp_docstream_consumed(const tp_docstream *d) { return d->consumed; }

/* Keeps at least piece_max + 3 bytes buffered (a separator starting at piece_max is then visible). */
static tp_status fill(tp_docstream *d, tp_err *err) {
    if (d->eof || d->end - d->start >= d->piece_max + 3) return TP_OK;
    memmove(d->buf, d->buf + d->start, d->end - d->start);
    d->end -= d->start;
    d->start = 0;
    while (!d->eof && d->end < d->cap) {
        size_t r = fread(d->buf + d->end, 1, d->cap - d->end, d->f);
        d->end += r;
        if (r == 0) {
            if (ferror(d->f)) return tp_fail(err, TP_ERR_IO, "reading %s: %s", d->path, strerror(errno));
            d->eof = 1;
        }
    }
    return TP_OK;
}

static void consume(tp_docstream *d, size_t n) {
    d->start += n;
    d->consumed += n;
}

tp_status tp_docstream_next(tp_docstream *d, tp_doc_piece *p, int *got, tp_err *err) {
    *got = 0;
    for (;;) {
        tp_status st = fill(d, err);
        if (st) return st;
        const uint8_t *b = d->buf + d->start;
        size_t avail = d->end - d->start;
        if (avail == 0) { /* end of file: close an open document */
            if (d->in_doc) {
                d->in_doc = 0;
                *p = (tp_doc_piece){b, 0, 1};
                *got = 1;
            }
            return TP_OK;
        }
        if (d->at_doc_start && b[0] == 0x1e && (avail == 1 || b[1] == '\n')) {
            consume(d, avail == 1 ? 1 : 2); /* a separator line right away: an empty document */
            continue;
        }
        d->at_doc_start = 0;
        /* The first separator "\n\x1e" + ("\n" or end of file) that starts at or before piece_max. */
        size_t lim = avail < d->piece_max + 3 ? avail : d->piece_max + 3;
        size_t q = SIZE_MAX, from = 0;
        while (from + 1 < lim) {
            const uint8_t *hit = memmem(b + from, lim - from, "\n\x1e", 2);
            if (!hit) break;
            size_t at = (size_t)(hit - b);
            if (at + 2 < avail ? b[at + 2] == '\n' : d->eof) {
                q = at;
                break;
            }
            from = at + 1;
        }
        if (q <= d->piece_max) {
            consume(d, q + 2 < avail ? q + 3 : q + 2);
            d->at_doc_start = 1;
            if (q == 0 && !d->in_doc) continue;
            d->in_doc = 0;
            *p = (tp_doc_piece){b, q, 1};
            *got = 1;
            return TP_OK;
        }
        if (d->eof && avail <= d->piece_max) {
            consume(d, avail);
            d->in_doc = 0;
            *p = (tp_doc_piece){b, avail, 1};
            *got = 1;
            return TP_OK;
        }
        /* The document runs past piece_max: cut where the pre-tokeniser would cut anyway. */
        size_t cut = tp_pretok_safe_prefix(b, d->piece_max);
        consume(d, cut);
        d->in_doc = 1;
        *p = (tp_doc_piece){b, cut, 0};
        *got = 1;
        return TP_OK;
    }
}
