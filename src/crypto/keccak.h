/* The Keccak-f[1600] permutation (FIPS 202), the core of STROBE and so of Merlin transcripts.
 * Nothing here pads or hashes: callers build their own sponge on the raw permutation. */
#ifndef TP_CRYPTO_KECCAK_H
#define TP_CRYPTO_KECCAK_H

#include <stdint.h>

#define TP_KECCAK_STATE_BYTES 200

/* Permutes the 200-byte state in place. The bytes are the 25 lanes in little-endian order (lane
 * x + 5y at byte 8(x + 5y)), as STROBE and SHA-3 lay them out, whatever the host's byte order. */
void tp_keccak_f1600(uint8_t state[TP_KECCAK_STATE_BYTES]);

#endif
