/* SS58 addresses (Substrate's account text form): base58 of prefix ++ account id ++ the first two
 * bytes of BLAKE2b-512("SS58PRE" ++ prefix ++ account id). Prefixes 0-63 take one byte, 64-16383
 * two. Bittensor uses prefix 42. */
#ifndef TP_SUBSTRATE_SS58_H
#define TP_SUBSTRATE_SS58_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_SS58_BITTENSOR 42
#define TP_SS58_MAX 64 /* enough for any 32-byte account address and its NUL */

/* out holds at least TP_SS58_MAX bytes. prefix <= 16383 and not 46 or 47 (reserved). */
tp_status tp_ss58_encode(uint16_t prefix, const uint8_t account[32], char *out, tp_err *err);
/* Decodes a 32-byte account address, checking the checksum; *prefix (may be NULL) gets the prefix.
 * Errors name what is wrong (not base58, wrong length, bad checksum). */
tp_status tp_ss58_decode(const char *s, uint8_t account[32], uint16_t *prefix, tp_err *err);

#endif
