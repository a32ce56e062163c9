/* The `debug-W` model fingerprint (DESIGN §11.5): a BLAKE2b-256 of every parameter plus two sampled
 * values per tensor. Honest nodes that applied the same updates hold bit-identical parameters, so equal
 * hashes prove sync; the samples let a validator measure how far behind a miner is when they differ. */
#ifndef TP_NEURON_FINGERPRINT_H
#define TP_NEURON_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/layout.h"

#define TP_FP_HASH_BYTES 32
#define TP_FP_SAMPLES 2 /* per tensor, at count/3 and 2·count/3 */

typedef struct {
    uint64_t window;
    uint32_t uid;
    uint8_t hash[TP_FP_HASH_BYTES];
    int n;          /* tensors, as in the layout */
    float *samples; /* n·2 values, layout order */
    uint32_t gathered, gather_of; /* the node's gather of this window: valid updates / peers it sought */
} tp_fingerprint;

/* Position of sample j (0 or 1) in a tensor of count floats. */
size_t tp_fp_sample_pos(size_t count, int j);

/* Fingerprint of params (L->total floats). The hash covers each tensor's floats as little-endian bytes,
 * in layout order. */
tp_status tp_fingerprint_compute(const tp_layout *L, const float *params, uint64_t window, uint32_t uid,
                                 tp_fingerprint *out, tp_err *err);
void tp_fingerprint_free(tp_fingerprint *fp);

/* The largest JSON a valid fingerprint of this layout can take; the parser rejects anything longer. */
size_t tp_fingerprint_max_json(const tp_layout *L);

/* {"window": W, "uid": U, "hash": "<64 hex>", "samples": {"<tensor>": [a, b], ...}, "gathered": g,
 * "gather_of": n} (validators penalise a miner that gathered too few of its peers) as a malloc'd
 * NUL-terminated string. Non-finite samples cannot be written (TP_ERR_NUMERIC). */
tp_status tp_fingerprint_to_json(const tp_fingerprint *fp, const tp_layout *L, char **out, tp_err *err);

/* Strict parser for untrusted bytes: exactly those six fields; gathered <= gather_of <= 1024; window and uid in range; hash lower-case
 * hex; one entry per layout tensor and no other; two finite numbers in float range each. TP_ERR_FORMAT
 * with a reason otherwise. out is initialised in any case; free it with tp_fingerprint_free. */
tp_status tp_fingerprint_parse(const char *buf, size_t len, const tp_layout *L, tp_fingerprint *out, tp_err *err);

#endif
