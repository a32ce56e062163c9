/* Reading and validation of untrusted update payloads (DESIGN §8, §13). tp_payload_read takes the
 * raw bytes of a gradient file and either returns the decoded message, having checked everything a
 * receiver relies on, or rejects it with a named reason and a message. It never reads outside the
 * buffer and never hands out a message that failed any check.
 *
 * Checks, in order (the first failure is the reason):
 *   too_large        more bytes than the model config and codec allow (before any parsing)
 *   malformed        not safetensors, metadata missing, unknown or unparseable fields
 *   unknown_format   format id or version other than ours
 *   wrong_window / wrong_uid / wrong_version (run version) / wrong_model (config digest)
 *   wrong_k, wrong_params   codec topk, or other codec parameters, differ from the expected ones
 *   wrong_key_type   the payload's key type is not the one its uid registered (its commitment)
 *   bad_signature    hotkey is not the expected key, or the signature does not verify under its key type
 *   bad_hash         data_hash is not the BLAKE2b-256 of the data section
 *   extra_tensor / missing_tensor
 *   bad_length       a tensor's dtype, shape or byte length is wrong
 *   bad_quant_params non-finite quant params or |scale| outside [1e-12, 1e4]
 *   index_out_of_range, index_unsorted, index_duplicate, wrong_k (index stream holds more or fewer
 *                    than k positions per block)
 *   bad_code         a code >= bins or non-zero padding bits
 *   nonfinite_value  a dequantised value (lookup + shift) is not finite
 * Tensors are checked in layout order. */
#ifndef TP_CODEC_VALIDATE_H
#define TP_CODEC_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/sparse.h"
#include "codec/wire.h"
#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"

typedef enum {
    TP_REJ_NONE = 0,
    TP_REJ_TOO_LARGE,
    TP_REJ_MALFORMED,
    TP_REJ_UNKNOWN_FORMAT,
    TP_REJ_WRONG_WINDOW,
    TP_REJ_WRONG_UID,
    TP_REJ_WRONG_VERSION,
    TP_REJ_WRONG_MODEL,
    TP_REJ_WRONG_K,
    TP_REJ_WRONG_PARAMS,
    TP_REJ_WRONG_KEY_TYPE,
    TP_REJ_BAD_SIGNATURE,
    TP_REJ_BAD_HASH,
    TP_REJ_EXTRA_TENSOR,
    TP_REJ_MISSING_TENSOR,
    TP_REJ_BAD_LENGTH,
    TP_REJ_BAD_QUANT,
    TP_REJ_INDEX_RANGE,
    TP_REJ_INDEX_UNSORTED,
    TP_REJ_INDEX_DUPLICATE,
    TP_REJ_BAD_CODE,
    TP_REJ_NONFINITE,
    TP_REJ_INTERNAL, /* out of memory while validating: not a verdict on the payload */
    TP_REJ_COUNT
} tp_reject;

/* "too_large", "malformed", ... */
const char *tp_reject_name(tp_reject r);

/* What the receiver expects. Unset (NULL / 0) fields are taken from the payload itself, which is
 * what `templar inspect` without --model does; a node applying updates sets them all. */
typedef struct {
    const tp_model_config *model;
    const tp_codec_params *params;
    int check_window;
    uint64_t window;
    int check_uid;
    uint32_t uid;
    const char *run_version;
    const uint8_t *pubkey; /* 32 bytes: the uid's registered hotkey */
    int check_key_type;    /* key_type: how that hotkey signs, as its uid committed */
    tp_key_type key_type;
    size_t max_bytes;      /* 0: tp_wire_max_bytes of model and params */
} tp_payload_expect;

typedef struct {
    size_t idx_bytes, val_bytes, qp_bytes;
    int rice_r; /* -1 for 12bit */
} tp_payload_tensor;

typedef struct {
    tp_reject reason;
    /* Header, valid once have_header is set (also for some rejected payloads). */
    int have_header;
    tp_wire_info info;
    uint8_t hotkey[32], model_digest[32], data_hash[32];
    tp_key_type key_type;
    tp_model_config model;
    tp_codec_params params;
    size_t header_bytes, total_bytes;
    /* Message, only for a valid payload. */
    int valid;
    tp_layout layout;
    tp_update update;
    tp_payload_tensor *stats; /* one per tensor */
} tp_payload;

/* Returns TP_OK for a valid payload; TP_ERR_FORMAT for a rejected one (out->reason names why, err
 * says "reason: detail"); TP_ERR_NOMEM if memory ran out. out is always initialised; free it with
 * tp_payload_free. */
tp_status tp_payload_read(const uint8_t *buf, size_t len, const tp_payload_expect *exp, tp_payload *out,
                          tp_err *err);
void tp_payload_free(tp_payload *p);

/* Reads n payloads (a window's gather): payloads run in parallel, each on one thread. exps holds one
 * expectation per payload; st[i], outs[i] and errs[i] (errs may be NULL) are what tp_payload_read
 * gives for payload i. */
void tp_payload_read_many(const uint8_t *const *bufs, const size_t *lens, const tp_payload_expect *exps, int n,
                          tp_payload *outs, tp_status *st, tp_err *errs);

/* Reads a file with the size limit applied before reading, then tp_payload_read. */
tp_status tp_payload_load(const char *path, const tp_payload_expect *exp, tp_payload *out, tp_err *err);

#endif
