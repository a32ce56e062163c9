/* Signed extrinsics, format v4: compact length ++ 0x84 ++ MultiAddress::Id(signer) ++
 * MultiSignature ++ extra ++ call. The signature covers call ++ extra ++ additional (BLAKE2b-256 of
 * it when longer than 256 bytes). Extra and additional come from the runtime's signed extensions,
 * each encoded by the types the metadata gives it; the extensions a signer knows are listed in
 * extrinsic.c, and an unknown one whose data is not empty is refused by name, never guessed. */
#ifndef TP_SUBSTRATE_EXTRINSIC_H
#define TP_SUBSTRATE_EXTRINSIC_H

#include <stdint.h>

#include "crypto/keypair.h"
#include "substrate/metadata.h"
#include "substrate/scale.h"

/* What a signature commits to besides the call (the "additional" data) and the sender's extra. */
typedef struct {
    uint8_t genesis_hash[32];
    uint32_t spec_version, tx_version;
    uint64_t nonce;
    tp_u128 tip;
    /* Mortality: valid for era_period blocks (a power of two, 4-65536) from era_block, whose hash is
     * era_block_hash. era_period 0: immortal (era_block_hash must then be the genesis hash). */
    uint64_t era_period, era_block;
    uint8_t era_block_hash[32];
} tp_tx_params;

/* The mortal era's two bytes for period and the block it starts from (period rounded up to a power
 * of two within 4-65536, as Substrate does). */
uint16_t tp_era_encode(uint64_t period, uint64_t block);

/* Appends the signed extrinsic for call, signed by s with MultiSignature's variant of its key type
 * (its SCALE bytes, pallet and call index first) to out.
 * Fails naming the signed extension it cannot encode, or the address or signature type it does
 * not know. */
tp_status tp_extrinsic_sign(const tp_metadata *md, const tp_keypair *s, const tp_tx_params *p, const uint8_t *call,
                            size_t call_len, tp_scale_buf *out, tp_err *err);

#endif
