/* JSON helpers over jansson for text from outside (buckets, files, the chain). */
#ifndef TP_CORE_JSON_H
#define TP_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Parses text (len bytes) with jansson's flags into *out (json_decref it). Malformed text is
 * TP_ERR_FORMAT with a message naming `what`; memory running out is TP_ERR_NOMEM, so that a reader's
 * own trouble is never taken for bad input. */
tp_status tp_json_parse(const char *text, size_t len, size_t flags, const char *what, json_t **out, tp_err *err);

/* The non-negative integer `field` of a JSON object such as {"window": N} into *value; TP_ERR_FORMAT
 * naming `what` when the text is not such an object. */
tp_status tp_json_index(const char *text, size_t len, const char *field, const char *what, int64_t *value,
                        tp_err *err);

/* json_dumps that can be trusted when memory runs short: jansson 2.14 ignores a failure to write an
 * object's key and goes on, so its json_dumps can return text with keys missing. Here any failed
 * write fails the whole dump (TP_ERR_NOMEM). *out is NUL-terminated (free it); *len (may be NULL)
 * excludes the NUL. */
tp_status tp_json_dump(const json_t *j, size_t flags, char **out, size_t *len, tp_err *err);

/* A JSON array of the integers v[0..n), or NULL when memory ran out (nothing half-built is left). */
json_t *tp_json_int_array(const int64_t *v, size_t n);

/* Whether s (NUL-terminated) is valid UTF-8, as jansson requires of keys and strings. */
bool tp_utf8_valid(const char *s);

#endif
