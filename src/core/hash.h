/* Fast non-cryptographic hashing for in-memory hash tables (content hashes use BLAKE2b from
 * libsodium instead). */
#ifndef TP_CORE_HASH_H
#define TP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit finaliser of MurmurHash3: spreads every input bit over the output. */
static inline uint64_t tp_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

uint64_t tp_hash_bytes(const uint8_t *s, size_t n);

#endif
