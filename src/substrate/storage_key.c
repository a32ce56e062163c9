#include "substrate/storage_key.h"

#include <sodium.h>
#include <string.h>
#include <xxhash.h>

#include "substrate/value.h"

/* Substrate's twox: xxHash64 with seeds 0, 1, … each written little-endian. */
static void twox(const void *p, size_t n, int parts, uint8_t *out) {
    for (int i = 0; i < parts; i++) {
        uint64_t h = XXH64(p, n, (XXH64_hash_t)i);
        for (int j = 0; j < 8; j++) out[8 * i + j] = (uint8_t)(h >> (8 * j));
    }
}

void tp_twox128(const void *p, size_t n, uint8_t out[16]) { twox(p, n, 2, out); }

void tp_hash_key(tp_md_hasher h, const uint8_t *key, size_t n, tp_scale_buf *out) {
    uint8_t hash[32];
    switch (h) {
    case TP_HASH_BLAKE2_128:
    case TP_HASH_BLAKE2_128_CONCAT:
    case TP_HASH_BLAKE2_256: {
        size_t len = h == TP_HASH_BLAKE2_256 ? 32 : 16;
        crypto_generichash(hash, len, key, n, NULL, 0);
        tp_scale_put_bytes(out, hash, len);
        break;
    }
    case TP_HASH_TWOX_128:
    case TP_HASH_TWOX_256:
    case TP_HASH_TWOX_64_CONCAT: {
        int parts = h == TP_HASH_TWOX_256 ? 4 : h == TP_HASH_TWOX_128 ? 2 : 1;
        twox(key, n, parts, hash);
        tp_scale_put_bytes(out, hash, 8 * (size_t)parts);
        break;
    }
    case TP_HASH_IDENTITY: break;
    }
    /* The concat hashers and Identity keep the key itself, so it can be read back from the full key. */
    if (h == TP_HASH_BLAKE2_128_CONCAT || h == TP_HASH_TWOX_64_CONCAT || h == TP_HASH_IDENTITY)
        tp_scale_put_bytes(out, key, n);
}

void tp_storage_prefix(const char *pallet_prefix, const char *entry, tp_scale_buf *out) {
    uint8_t h[32];
    tp_twox128(pallet_prefix, strlen(pallet_prefix), h);
    tp_twox128(entry, strlen(entry), h + 16);
    tp_scale_put_bytes(out, h, sizeof h);
}

/* Encodes key i of the entry by its key type and appends its hash. */
static tp_status put_key(const tp_metadata *md, const tp_md_storage *s, uint32_t i, const json_t *key,
                         tp_scale_buf *out, tp_err *err) {
    uint32_t ty = s->n_hashers == 1 ? s->key_type : md->types[s->key_type].tuple[i];
    tp_scale_buf enc;
    tp_scale_buf_init(&enc);
    tp_status st = tp_value_encode(md, ty, key, &enc, err);
    if (!st) tp_hash_key(s->hashers[i], enc.data, enc.len, out);
    tp_scale_buf_free(&enc);
    return st;
}

tp_status tp_storage_key(const tp_metadata *md, const char *pallet, const char *entry, const json_t *keys,
                         tp_scale_buf *out, const tp_md_storage **entry_out, tp_err *err) {
    const tp_md_pallet *p = tp_md_find_pallet(md, pallet);
    if (!p) return tp_fail(err, TP_ERR_ARG, "storage: the runtime has no pallet '%.80s'", pallet);
    const tp_md_storage *s = p->storage_prefix ? tp_md_find_storage(p, entry) : NULL;
    if (!s) return tp_fail(err, TP_ERR_ARG, "storage: pallet %.80s has no storage entry '%.80s'", pallet, entry);
    size_t n = keys ? json_array_size(keys) : 0;
    if (keys && !json_is_array(keys))
        return tp_fail(err, TP_ERR_ARG, "storage %.80s.%.80s: the keys are not a JSON array", pallet, entry);
    if (n != s->n_hashers)
        return tp_fail(err, TP_ERR_ARG, "storage %.80s.%.80s: takes %u key%s, got %zu", pallet, entry, s->n_hashers,
                       s->n_hashers == 1 ? "" : "s", n);
    tp_storage_prefix(p->storage_prefix, s->name, out);
    for (uint32_t i = 0; i < s->n_hashers; i++)
        if (put_key(md, s, i, json_array_get(keys, i), out, err))
            return tp_wrap(err, "storage %.80s.%.80s: key %u", pallet, entry, i);
    if (entry_out) *entry_out = s;
    return tp_scale_buf_check(out, err);
}
