/* Helpers shared by the substrate tests: the metadata fixtures in tests/substrate/data, JSON and
 * hex for test values, and polkadot-js (tests/substrate/value_ref.mjs) as the reference. Each
 * fails the running test with a message instead of returning an error. */
#ifndef TP_TESTS_SUBSTRATE_UTIL_H
#define TP_TESTS_SUBSTRATE_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "substrate/metadata.h"

/* $TEMPLAR_ROOT, the checkout (set by make); not to be freed. */
const char *sub_root(void);
/* The bytes of tests/substrate/data/NAME, their count in *len; the caller frees them. */
uint8_t *sub_read_fixture(const char *name, size_t *len);
/* tests/substrate/data/NAME parsed; the caller frees it with tp_metadata_free. */
tp_metadata *sub_load_metadata(const char *name);
/* JSON written in a test (any value, NUL allowed in strings); the caller owns it (json_decref). */
json_t *sub_json(const char *text);
/* "0x" + the hex of n bytes; the caller frees it. */
char *sub_hex0x(const uint8_t *p, size_t n);
/* polkadot-js's answer to each request (a JSON array) against metadata file md_name: an array of
 * one string per request, which the caller owns (json_decref). */
json_t *sub_polkadot(const char *md_name, const json_t *requests);

#endif
