/* Reads a text file as a stream of documents, in pieces of bounded size and constant memory.
 * Documents are separated by a line holding the single byte 0x1E (ASCII record separator), i.e.
 * "\n\x1e\n" between two documents; a file without one is one document. Empty documents are skipped.
 * A piece ends at a document end or where tp_pretok_safe_prefix allows a cut, so encoding pieces one
 * at a time gives exactly the tokens of encoding each whole document. */
#ifndef TP_DATA_DOCSTREAM_H
#define TP_DATA_DOCSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_DOC_SEPARATOR "\n\x1e\n"
#define TP_DOCSTREAM_MIN_PIECE 4096

typedef struct tp_docstream tp_docstream;

typedef struct {
    const uint8_t *data; /* valid until the next call */
    size_t len;          /* may be 0 for the final piece of a document */
    int doc_end;         /* 1 if this piece ends its document */
} tp_doc_piece;

/* piece_max >= TP_DOCSTREAM_MIN_PIECE bounds every piece (and the memory used). */
tp_status tp_docstream_open(const char *path, size_t piece_max, tp_docstream **out, tp_err *err);
/* Sets *got = 1 and fills *p, or *got = 0 at the end of the file. */
tp_status tp_docstream_next(tp_docstream *d, tp_doc_piece *p, int *got, tp_err *err);
uint64_t tp_docstream_size(const tp_docstream *d);     /* file size when opened */
uint64_t tp_docstream_consumed(const tp_docstream *d); /* bytes handed out or skipped so far */
void tp_docstream_close(tp_docstream *d);

#endif
