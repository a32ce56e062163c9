/* Wire format of an update (DESIGN §8): a safetensors file with, per parameter {name} in layout
 * order, {name}.idx (U8, index stream), {name}.val (U8, packed codes) and {name}.qp (F32: shift,
 * scale, lookup[bins]), and string metadata:
 *
 *   format "templar-sparseloco", format_version "2", window, uid, global_step (decimal),
 *   hotkey (public key, hex), key_type ("ed25519" or "sr25519": how the hotkey signs), run_version, model_config (canonical text of the model
 *   config) and model_digest (its BLAKE2b-256, hex), chunk, topk, bins, range, dct, index_coding,
 *   sample_digest (hex), data_hash (BLAKE2b-256 of the data section, hex), signature (hex).
 *
 * The signature is the hotkey's (of its key type; sr25519 in context "substrate") over the canonical header without the signature (the
 * header JSON object minus metadata.signature, compact, keys sorted) followed by the 32-byte data
 * hash. Encoding is deterministic but for an sr25519 signature, which schnorrkel randomizes: the same
 * message, info and key give the same bytes (with an ed25519 key, all of them). */
#ifndef TP_CODEC_WIRE_H
#define TP_CODEC_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/sparse.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "crypto/keypair.h"
#include "model/config.h"

#define TP_WIRE_FORMAT "templar-sparseloco"
#define TP_WIRE_VERSION 2 /* 2: key_type, so sr25519 hotkeys sign */
#define TP_WIRE_RUN_VERSION_MAX 63

/* What the miner says about an update besides the tensors. */
typedef struct {
    uint64_t window;
    uint32_t uid;
    uint64_t global_step;
    char run_version[TP_WIRE_RUN_VERSION_MAX + 1]; /* 1-63 of [A-Za-z0-9._-] */
    uint8_t sample_digest[32];
} tp_wire_info;

/* Canonical text of a model config ("dim=...;layers=...;...") and its BLAKE2b-256. */
tp_status tp_model_canonical(const tp_model_config *m, char *out, size_t n, tp_err *err);
tp_status tp_model_digest(const tp_model_config *m, uint8_t out[32], tp_err *err);
/* Inverse of tp_model_canonical; accepts only the canonical text of a valid config. */
tp_status tp_model_parse_canonical(const char *s, tp_model_config *m, tp_err *err);

int tp_run_version_ok(const char *s);

/* Largest payload (bytes) an honest node can send for this model and codec: receivers refuse
 * anything larger before parsing. */
tp_status tp_wire_max_bytes(const tp_model_config *m, const tp_codec_params *p, size_t *out, tp_err *err);

/* Encodes u (sized for m's layout) and signs it with the hotkey signer. *out is malloc'ed. */
tp_status tp_wire_encode(const tp_update *u, const tp_model_config *m, const tp_wire_info *info,
                         const tp_keypair *signer, uint8_t **out, size_t *len, tp_err *err);

/* ---- lower level, shared with the validator and useful to build test payloads ---- */

typedef struct {
    const char *name;
    tp_dtype dtype;
    int ndim;
    int64_t shape[TP_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} tp_wire_tensor;

typedef struct {
    const char *key, *value;
} tp_wire_kv;

/* Lays the tensors out in the given order, sets data_hash and (if signer) signature in the metadata
 * (replacing any given), and writes the safetensors bytes. */
tp_status tp_wire_assemble(const tp_wire_tensor *t, int n, const tp_wire_kv *meta, int nmeta,
                           const tp_keypair *signer, uint8_t **out, size_t *len, tp_err *err);

/* The bytes the signature covers, from a parsed file: canonical header without the signature,
 * then the data hash. *msg is malloc'ed. */
tp_status tp_wire_signed_bytes(const tp_st *st, const uint8_t data_hash[32], uint8_t **msg, size_t *len,
                               tp_err *err);


#endif
