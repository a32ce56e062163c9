/* BIP-39 mnemonics (English word list) and Substrate's mini secret from them: PBKDF2-HMAC-SHA512 of
 * the mnemonic's *entropy* (not its words, unlike BIP-39 seeds) salted "mnemonic" ++ password, 2048
 * rounds, first 32 bytes (substrate-bip39). */
#ifndef TP_CRYPTO_BIP39_H
#define TP_CRYPTO_BIP39_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_BIP39_ENTROPY_MAX 32
#define TP_BIP39_PHRASE_MAX (24 * 9) /* 24 words of at most 8 letters, spaces, NUL */

/* The entropy (16-32 bytes) of a 12/15/18/21/24-word phrase, its checksum checked. Words are lower
 * case, separated by any run of whitespace (leading and trailing whitespace is ignored). A refusal is
 * TP_ERR_FORMAT and says why: the word count, the first unknown word and its position (a word too
 * long to be a typo, such as a pasted seed, is described rather than echoed), or a bad checksum. */
tp_status tp_bip39_to_entropy(const char *phrase, uint8_t entropy[TP_BIP39_ENTROPY_MAX], size_t *len, tp_err *err);
/* The phrase of entropy (16, 20, 24, 28 or 32 bytes) into out (TP_BIP39_PHRASE_MAX bytes). */
tp_status tp_bip39_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t cap, tp_err *err);
/* A new phrase of words (12, 15, 18, 21 or 24) from fresh randomness. */
tp_status tp_bip39_generate(int words, char *out, size_t cap, tp_err *err);
/* Substrate's mini secret of a phrase and an optional password (NULL or "": none); the password is
 * taken as its bytes, unnormalised, as substrate-bip39 and polkadot-js take it. */
tp_status tp_bip39_mini_secret(const char *phrase, const char *password, uint8_t seed[32], tp_err *err);

#endif
