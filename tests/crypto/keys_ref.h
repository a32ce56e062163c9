/* polkadot-js as the reference for the key tests: tests/crypto/keys_ref.mjs run through node. It
 * fails the running test with a message instead of returning an error. */
#ifndef TP_TESTS_CRYPTO_KEYS_REF_H
#define TP_TESTS_CRYPTO_KEYS_REF_H

#include <jansson.h>

/* The answer to each request (a JSON array of requests, each an array; see keys_ref.mjs): an array
 * of one string per request, which the caller owns (json_decref). */
json_t *keys_ref(const json_t *requests);

#endif
