/* The few XML documents S3 sends back (ListObjectsV2 pages, error bodies), parsed from untrusted
 * bytes: a small non-validating scanner that accepts well-formed element trees, decodes the five
 * predefined entities, character references and CDATA, and rejects everything else (DTDs,
 * mismatched tags, nesting deeper than 16, text longer than 4 KiB, invalid code points). */
#ifndef TP_NET_S3_XML_H
#define TP_NET_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "net/store.h"

#define TP_S3_TOKEN_MAX 1024

/* One ListObjectsV2 page: appends its Contents to out, sets *truncated and (when truncated) the
 * NextContinuationToken. Fails with TP_ERR_FORMAT on anything malformed. */
tp_status tp_s3_parse_list(const char *xml, size_t len, tp_store_list *out, int *truncated,
                           char token[TP_S3_TOKEN_MAX], tp_err *err);

/* An <Error> body: its Code and Message, reduced to printable ASCII so they are safe to show.
 * Returns TP_OK only if the document is an Error with a Code. */
tp_status tp_s3_parse_error(const char *xml, size_t len, char *code, size_t code_n, char *msg, size_t msg_n);

/* ISO 8601 UTC as S3 writes it: YYYY-MM-DDTHH:MM:SS[.fraction]Z. Returns 0 on success. */
int tp_s3_parse_iso_time(const char *s, size_t n, double *out);

#endif
