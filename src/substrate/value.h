/* Values of any registry type as JSON (jansson), encoded to and decoded from SCALE by walking the
 * metadata's type: the one codec behind calls, storage keys, storage values and events.
 *
 * JSON shape of each kind (decode writes exactly this; encode accepts it):
 * - composite with named fields: an object {field: value} (also with one named field:
 *   CommitmentInfo {fields} is {"fields": […]}); unnamed fields: an array, except that a composite
 *   of exactly one UNNAMED field (a newtype such as AccountId32, Perbill, BoundedVec, CheckNonce) is
 *   its field's value itself;
 *   a composite of no fields is null;
 * - variant: {"Name": fields} (fields as for a composite) or the string "Name" when it has none;
 *   Option<T> is null or the value of T, unless T's own JSON can be null (Option<()>,
 *   Option<Option<u8>>): then it is the ordinary variant ("None", {"Some": v}), so that None and
 *   Some(null) stay apart;
 * - sequence and array: an array; of u8 elements: a "0x…" lower-case hex string instead (encode
 *   also takes an array of integers, and upper-case hex);
 * - tuple: an array (the unit tuple: null);
 * - bool: true/false; str: a string (valid UTF-8); char: a one-character string;
 * - integers: a JSON integer when it fits in int64, else a decimal string (u128 balances); encode
 *   accepts both and refuses a value out of the type's range;
 * - compact: as its integer; bit sequences, u256 and i256 are refused (none of the calls we make
 *   use them).
 *
 * Decoding is bounded: depth TP_MD_MAX_DEPTH, and no sequence longer than the input could hold (a
 * sequence of zero-size elements: at most 1024). Every error names the path into the value
 * ("SubtensorModule.set_weights.dests[3]: 70000 is out of range for u16"); a value that does not
 * fit its type is TP_ERR_ARG when encoding, bytes that do not are TP_ERR_FORMAT when decoding. */
#ifndef TP_SUBSTRATE_VALUE_H
#define TP_SUBSTRATE_VALUE_H

#include <jansson.h>

#include "substrate/metadata.h"
#include "substrate/scale.h"

/* Appends the encoding of v as type ty to out. */
tp_status tp_value_encode(const tp_metadata *md, uint32_t ty, const json_t *v, tp_scale_buf *out, tp_err *err);
/* Decodes one value of type ty from r; *out is a new reference owned by the caller. */
tp_status tp_value_decode(const tp_metadata *md, uint32_t ty, tp_scale_reader *r, json_t **out, tp_err *err);
/* Decodes bytes that must hold exactly one value of type ty (trailing bytes are an error). */
tp_status tp_value_decode_all(const tp_metadata *md, uint32_t ty, const uint8_t *p, size_t n, json_t **out,
                              tp_err *err);

/* A pallet's call as SCALE: pallet index, call index, then args, an object {arg name: value} (every
 * argument of the call in the metadata, no others; a missing or extra name is an error naming it). */
tp_status tp_value_encode_call(const tp_metadata *md, const char *pallet, const char *call, const json_t *args,
                               tp_scale_buf *out, tp_err *err);

#endif
