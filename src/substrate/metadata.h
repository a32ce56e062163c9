/* The runtime's metadata (frame-metadata v14 and v15): the portable type registry, the pallets with
 * their indices, storage entries (hashers, key and value types, defaults), calls, events, errors
 * and constants, and the extrinsic format with its signed extensions. A client takes pallet and
 * call indices, storage layouts and the signed-extension list from here, never from constants, so
 * that it follows a runtime upgrade or refuses it by name.
 *
 * The bytes come from an RPC endpoint and are untrusted: the parser bounds every count and length,
 * checks that every type id it stores refers to a type in the registry, and fails with
 * TP_ERR_FORMAT naming what was malformed. Cyclic types are legal in the registry (a call that
 * holds calls); users of it bound their recursion depth (TP_MD_MAX_DEPTH). */
#ifndef TP_SUBSTRATE_METADATA_H
#define TP_SUBSTRATE_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_MD_MAX_DEPTH 64       /* nesting bound for walking a type */
#define TP_MD_MAX_BYTES (64u << 20) /* metadata larger than this is refused */

typedef enum {
    TP_TY_COMPOSITE,
    TP_TY_VARIANT,
    TP_TY_SEQUENCE,
    TP_TY_ARRAY,
    TP_TY_TUPLE,
    TP_TY_PRIMITIVE,
    TP_TY_COMPACT,
    TP_TY_BITSEQ,
} tp_ty_kind;

/* In scale-info's order (its SCALE tag). */
typedef enum {
    TP_PRIM_BOOL,
    TP_PRIM_CHAR,
    TP_PRIM_STR,
    TP_PRIM_U8,
    TP_PRIM_U16,
    TP_PRIM_U32,
    TP_PRIM_U64,
    TP_PRIM_U128,
    TP_PRIM_U256,
    TP_PRIM_I8,
    TP_PRIM_I16,
    TP_PRIM_I32,
    TP_PRIM_I64,
    TP_PRIM_I128,
    TP_PRIM_I256,
} tp_prim;

typedef struct {
    const char *name;      /* NULL for a tuple-like field */
    uint32_t type;
    const char *type_name; /* the Rust type as written, or NULL */
} tp_md_field;

typedef struct {
    const char *name;
    uint8_t index; /* the SCALE tag */
    uint32_t n_fields;
    const tp_md_field *fields;
} tp_md_variant;

typedef struct {
    const char *path; /* "sp_core::crypto::AccountId32"; "" when the type has no path */
    tp_ty_kind kind;
    uint32_t n_fields; /* composite */
    const tp_md_field *fields;
    uint32_t n_variants; /* variant */
    const tp_md_variant *variants;
    uint32_t elem; /* sequence, array, compact: the element type; bitseq: the store type */
    uint32_t len;  /* array */
    uint32_t n_tuple;
    const uint32_t *tuple;
    tp_prim prim;
    uint32_t bit_order; /* bitseq */
} tp_md_type;

typedef enum {
    TP_HASH_BLAKE2_128,
    TP_HASH_BLAKE2_256,
    TP_HASH_BLAKE2_128_CONCAT,
    TP_HASH_TWOX_128,
    TP_HASH_TWOX_256,
    TP_HASH_TWOX_64_CONCAT,
    TP_HASH_IDENTITY,
} tp_md_hasher;

typedef struct {
    const char *name;
    int optional; /* 1: Option (absent reads as None); 0: Default (absent reads as default_value) */
    uint32_t n_hashers; /* 0 for a plain value; one per key for a map */
    const tp_md_hasher *hashers;
    uint32_t key_type; /* a map's key; a tuple of n_hashers types when n_hashers > 1 */
    uint32_t value_type;
    const uint8_t *default_value;
    size_t default_len;
} tp_md_storage;

typedef struct {
    const char *name;
    uint32_t type;
    const uint8_t *value; /* SCALE bytes of type */
    size_t value_len;
} tp_md_constant;

typedef struct {
    const char *name;
    uint8_t index;
    const char *storage_prefix; /* NULL when the pallet has no storage */
    uint32_t n_storage;
    const tp_md_storage *storage;
    int has_calls, has_events, has_errors;
    uint32_t calls_type, events_type, errors_type; /* variant types, valid when has_* */
    uint32_t n_constants;
    const tp_md_constant *constants;
} tp_md_pallet;

typedef struct {
    const char *identifier; /* "CheckNonce", "ChargeTransactionPayment", ... */
    uint32_t extra_type;      /* encoded in the extrinsic */
    uint32_t additional_type; /* signed but not sent */
} tp_md_signed_ext;

typedef struct tp_metadata tp_metadata;
struct tp_metadata {
    uint32_t version; /* 14 or 15 */
    uint32_t n_types;
    const tp_md_type *types; /* index = type id */
    uint32_t n_pallets;
    const tp_md_pallet *pallets;
    uint8_t extrinsic_version; /* 4 */
    uint32_t n_signed_exts;
    const tp_md_signed_ext *signed_exts; /* in extrinsic order */
    void *arena; /* private: everything above lives in it */
};

/* Parses RuntimeMetadataPrefixed ("meta", version byte, v14 or v15 body). Other versions are refused
 * naming the version. *out is owned by the caller: free with tp_metadata_free. Names point into
 * the parsed copy, so the input may be freed after. */
tp_status tp_metadata_parse(const uint8_t *bytes, size_t len, tp_metadata **out, tp_err *err);
void tp_metadata_free(tp_metadata *md);

/* Lookups by name (exact, case-sensitive) or index; NULL when absent. (Named tp_md_find_* because
 * tp_md_pallet and the others are the types.) Pointers live as long as md. */
const tp_md_pallet *tp_md_find_pallet(const tp_metadata *md, const char *name);
const tp_md_pallet *tp_md_pallet_at(const tp_metadata *md, uint8_t index);
const tp_md_storage *tp_md_find_storage(const tp_md_pallet *p, const char *name);
const tp_md_constant *tp_md_find_constant(const tp_md_pallet *p, const char *name);
/* A variant of a variant type, by name or by tag. NULL when ty is not a variant type or has no such variant. */
const tp_md_variant *tp_md_variant_named(const tp_metadata *md, uint32_t ty, const char *name);
const tp_md_variant *tp_md_variant_tagged(const tp_metadata *md, uint32_t ty, uint8_t index);
/* A pallet's call, by name ("burned_register"). NULL when the pallet or the call is absent. */
const tp_md_variant *tp_md_find_call(const tp_metadata *md, const tp_md_pallet *p, const char *name);

/* The type after looking through composites of exactly one field (newtypes), e.g.
 * AccountId32 → [u8; 32]. Bounded by TP_MD_MAX_DEPTH. */
uint32_t tp_md_resolve(const tp_metadata *md, uint32_t ty);
/* 1 when ty encodes to no bytes at all (unit tuple, composite of such fields, empty array). */
int tp_md_is_empty(const tp_metadata *md, uint32_t ty);

#endif
