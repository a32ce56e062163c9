/* The BIP-39 English word list, for bip39.c and its tests (not part of the public API). */
#ifndef TP_CRYPTO_BIP39_ENGLISH_H
#define TP_CRYPTO_BIP39_ENGLISH_H

#define TP_BIP39_WORDS 2048
#define TP_BIP39_WORD_MAX 8 /* the longest word's letters */

/* In byte order, so a word's index is found by binary search. */
extern const char tp_bip39_english[TP_BIP39_WORDS][TP_BIP39_WORD_MAX + 1];

#endif
