/* Storage keys: twox128(pallet prefix) ++ twox128(entry name) ++ for each map key its hasher's
 * output (Blake2_128Concat and Twox64Concat append the encoded key after the hash, so map keys
 * can be read back from a full key; Identity is the encoded key itself). Hashers: xxHash64
 * (libxxhash) with seeds 0, 1, … for twox; BLAKE2b (libsodium) for blake2. */
#ifndef TP_SUBSTRATE_STORAGE_KEY_H
#define TP_SUBSTRATE_STORAGE_KEY_H

#include <jansson.h>

#include "substrate/metadata.h"
#include "substrate/scale.h"

/* out (16 bytes) = xxh64(seed 0) ++ xxh64(seed 1), each little-endian. */
void tp_twox128(const void *p, size_t n, uint8_t out[16]);
/* Appends the hasher's output for the already-encoded key. */
void tp_hash_key(tp_md_hasher h, const uint8_t *key, size_t n, tp_scale_buf *out);

/* The 32-byte prefix of every key of an entry (what state_getKeysPaged takes to list a map). */
void tp_storage_prefix(const char *pallet_prefix, const char *entry, tp_scale_buf *out);

/* The full key of pallet.entry with keys: a JSON array of one value per hasher (an empty array or
 * NULL for a plain value), each encoded by its key type (value.h) and hashed. Errors name the
 * pallet, the entry and the key that did not fit. *entry_out (may be NULL) receives the entry. */
tp_status tp_storage_key(const tp_metadata *md, const char *pallet, const char *entry, const json_t *keys,
                         tp_scale_buf *out, const tp_md_storage **entry_out, tp_err *err);

#endif
