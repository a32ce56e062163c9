/* Merlin transcripts (merlin.cool) on the subset of STROBE-128 they need, and schnorrkel's
 * transcript RNG, the way dalek-cryptography/merlin 3.x and w3f/schnorrkel build them: sr25519
 * signatures and key derivation are Fiat-Shamir transcripts, so these must match byte for byte.
 *
 * Labels are NUL-terminated strings (all of schnorrkel's are ASCII constants); messages are bytes.
 * The structures are plain values: copying one forks the transcript (schnorrkel clones its signing
 * context this way). Wipe one that has seen a secret with tp_merlin_wipe / tp_merlin_rng_wipe. */
#ifndef TP_CRYPTO_MERLIN_H
#define TP_CRYPTO_MERLIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------ STROBE */

/* STROBE-128 (strobe.sourceforge.io, v1.0.2) with only meta-AD, AD, PRF and KEY, as merlin has it. */
typedef struct {
    uint8_t state[200];
    uint8_t pos;       /* next byte of the 166-byte rate */
    uint8_t pos_begin; /* where the current operation began, +1 (0: in the previous block) */
} tp_strobe128;

void tp_strobe128_init(tp_strobe128 *s, const uint8_t *protocol_label, size_t len);
/* `more` continues the previous operation, which must be of the same kind (merlin asserts it; here
 * it is the caller's duty): one operation's data given in several calls. */
void tp_strobe128_meta_ad(tp_strobe128 *s, const uint8_t *data, size_t len, bool more);
void tp_strobe128_ad(tp_strobe128 *s, const uint8_t *data, size_t len, bool more);
void tp_strobe128_prf(tp_strobe128 *s, uint8_t *out, size_t len, bool more);
void tp_strobe128_key(tp_strobe128 *s, const uint8_t *data, size_t len, bool more);

/* ------------------------------------------------------------------------------------ Merlin */

typedef struct {
    tp_strobe128 strobe;
} tp_merlin;

/* A transcript for the protocol `label` (STROBE "Merlin v1.0", then "dom-sep" = label). */
void tp_merlin_init(tp_merlin *t, const char *label);
/* Appends msg under label: meta-AD(label || LE32(len)), AD(msg). len must fit in 32 bits. */
void tp_merlin_append(tp_merlin *t, const char *label, const uint8_t *msg, size_t len);
/* Appends x as its 8 little-endian bytes. */
void tp_merlin_append_u64(tp_merlin *t, const char *label, uint64_t x);
/* Fills out with len challenge bytes bound to everything appended so far. */
void tp_merlin_challenge(tp_merlin *t, const char *label, uint8_t *out, size_t len);
void tp_merlin_wipe(tp_merlin *t);

/* -------------------------------------------------------------- transcript RNG (the witness) */

/* Merlin's TranscriptRng: a fork of a transcript, rekeyed with secret witnesses and fresh
 * randomness. schnorrkel draws its signing nonces this way (witness_bytes): the output is bound to
 * the public transcript, the secret nonce seed and the randomness, so a weak RNG alone leaks nothing. */
typedef struct {
    tp_strobe128 strobe;
} tp_merlin_rng;

/* Forks the RNG from the transcript's current state; t is unchanged. */
void tp_merlin_rng_init(tp_merlin_rng *r, const tp_merlin *t);
/* Rekeys with a witness: meta-AD(label || LE32(len)), KEY(witness). */
void tp_merlin_rng_rekey(tp_merlin_rng *r, const char *label, const uint8_t *witness, size_t len);
/* Ends the rekeying with 32 bytes of external randomness: meta-AD("rng"), KEY(entropy). Callers pass
 * randombytes_buf output; tests pass fixed bytes to reproduce another implementation's output. */
void tp_merlin_rng_finalize(tp_merlin_rng *r, const uint8_t entropy[32]);
/* Draws len bytes: meta-AD(LE32(len)), PRF. */
void tp_merlin_rng_fill(tp_merlin_rng *r, uint8_t *out, size_t len);
void tp_merlin_rng_wipe(tp_merlin_rng *r);

#endif
