/* Where the tests find the shared conformance vectors: $TEMPLAR_CONFORMANCE_DIR, else
 * $TEMPLAR_ROOT/../shared/conformance, else ../shared/conformance. */
#ifndef TP_TESTS_CONFORMANCE_H
#define TP_TESTS_CONFORMANCE_H

#include <jansson.h>
#include <stddef.h>

/* Writes the path of entry `name` (a file or folder) inside the conformance directory. */
void conformance_path(char *out, size_t n, const char *name);
/* Parses a JSON vector file of the conformance directory; fails the test if it cannot. */
json_t *conformance_json(const char *name);

#endif
