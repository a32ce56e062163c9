/* Byte-level BPE tokenizer. Ids 0..255 are the raw bytes, merge i creates id 256+i, and the
 * end-of-document token (EOT) is the last id, vocab_size−1; it is never produced by encoding text.
 * Every byte string encodes and decode(encode(s)) == s.
 *
 * Text is first cut into pre-token chunks (GPT-2-like: a contraction ('s 't 're 've 'm 'll 'd), a run
 * of letters, digits or other non-space bytes with an optional leading space, or a whitespace run that
 * leaves its last space to the following word). Bytes >= 0x80 count as letters so UTF-8 words stay
 * together. Chunks are at most TP_PRETOK_MAX_CHUNK bytes; merges never cross a chunk boundary.
 *
 * File format (JSON): {"format":"templar-bpe","version":1,"vocab_size":N,"eot_token":N-1,
 *                      "merges":[[a,b],...]}   with exactly N-257 merges. */
#ifndef TP_DATA_TOKENIZER_H
#define TP_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_TOKENIZER_MIN_VOCAB 257              /* the 256 bytes plus EOT */
#define TP_TOKENIZER_MAX_VOCAB (1 << 20)
#define TP_TOKENIZER_MAX_FILE ((size_t)64 << 20) /* loader refuses larger files */
#define TP_PRETOK_MAX_CHUNK 256                  /* also the longest possible token */

/* ---- pre-tokenisation ---- */

/* The byte classes the chunking runs on: letters are A-Z, a-z and every byte >= 0x80; space is ' '
 * and \t..\r; digits 0-9; other is the rest of ASCII. */
typedef enum { TP_PRETOK_SPACE, TP_PRETOK_LETTER, TP_PRETOK_DIGIT, TP_PRETOK_OTHER } tp_pretok_class;
tp_pretok_class tp_pretok_byte_class(uint8_t c);

/* Length (1..TP_PRETOK_MAX_CHUNK) of the chunk that starts at s[0], where s holds the rest of the
 * text (len >= 1 bytes). */
size_t tp_pretok_chunk(const uint8_t *s, size_t len);
/* The longest prefix of s[0..len) that ends on a chunk boundary which more bytes after s[len-1]
 * could not move: text may be cut there and its pieces encoded separately with the same result.
 * Returns at least 1 whenever len >= TP_PRETOK_MAX_CHUNK + 3. */
size_t tp_pretok_safe_prefix(const uint8_t *s, size_t len);

/* ---- the tokenizer ---- */

typedef struct tp_tokenizer tp_tokenizer;

/* Builds a tokenizer from n_merges pairs (merges[2i], merges[2i+1]); validated like a file. */
tp_status tp_tokenizer_from_merges(const uint32_t *merges, int n_merges, tp_tokenizer **out, tp_err *err);
tp_status tp_tokenizer_load(const char *path, tp_tokenizer **out, tp_err *err);
/* Parses a tokenizer file image (untrusted bytes; at most TP_TOKENIZER_MAX_FILE). A Hugging Face
 * tokenizer.json is refused with a message saying so. */
tp_status tp_tokenizer_load_mem(const uint8_t *buf, size_t len, tp_tokenizer **out, tp_err *err);
/* Writes the JSON file atomically. */
tp_status tp_tokenizer_save(const tp_tokenizer *tok, const char *path, tp_err *err);
void tp_tokenizer_free(tp_tokenizer *tok);

int tp_tokenizer_vocab_size(const tp_tokenizer *tok);
uint32_t tp_tokenizer_eot(const tp_tokenizer *tok);
int tp_tokenizer_num_merges(const tp_tokenizer *tok);
/* Merge i as (a, b); i < num_merges. */
void tp_tokenizer_merge(const tp_tokenizer *tok, int i, uint32_t *a, uint32_t *b);
/* The bytes of token id (EOT: empty), or NULL if id >= vocab_size. */
const uint8_t *tp_tokenizer_token_bytes(const tp_tokenizer *tok, uint32_t id, size_t *len);

/* ---- encoding and decoding ---- */

/* A growable token array; zero-initialise, then append. */
typedef struct {
    uint32_t *ids;
    size_t n, cap;
} tp_tokens;

tp_status tp_tokens_reserve(tp_tokens *t, size_t extra, tp_err *err);
tp_status tp_tokens_push(tp_tokens *t, uint32_t id, tp_err *err);
void tp_tokens_free(tp_tokens *t);

/* An encoder keeps a bounded cache of encoded chunks, so repeated words cost one hash lookup. It is
 * not thread-safe: use one per thread (the tokenizer itself is read-only and may be shared). */
typedef struct tp_encoder tp_encoder;

tp_status tp_encoder_new(const tp_tokenizer *tok, tp_encoder **out, tp_err *err);
/* Appends the tokens of s[0..len) to out. */
tp_status tp_encoder_encode(tp_encoder *e, const uint8_t *s, size_t len, tp_tokens *out, tp_err *err);
void tp_encoder_free(tp_encoder *e);

/* One-shot encode: *ids is malloc'ed (free it), *n tokens. */
tp_status tp_tokenizer_encode(const tp_tokenizer *tok, const uint8_t *s, size_t len, uint32_t **ids, size_t *n,
                              tp_err *err);
/* Decodes ids into a malloc'ed, NUL-terminated (not counted) buffer. EOT decodes to nothing; an id
 * outside [0, vocab_size) is an error naming its position. */
tp_status tp_tokenizer_decode(const tp_tokenizer *tok, const uint32_t *ids, size_t n, uint8_t **out, size_t *len,
                              tp_err *err);

/* ---- training (tokenizer_train.c) ---- */

/* Counts pre-token chunks of the text fed to it, then learns merges: each round merges the most
 * frequent adjacent pair (ties: smallest first id, then smallest second id), so the result depends
 * only on the multiset of chunks, not on the order or cut of the text. */
typedef struct tp_bpe_trainer tp_bpe_trainer;

tp_status tp_bpe_trainer_new(tp_bpe_trainer **out, tp_err *err);
/* Adds text. Pieces of one document must be cut where tp_pretok_safe_prefix allows (or at document
 * ends), so that they chunk as the whole would. */
tp_status tp_bpe_trainer_add(tp_bpe_trainer *t, const uint8_t *text, size_t len, tp_err *err);
uint64_t tp_bpe_trainer_unique_chunks(const tp_bpe_trainer *t);
/* Called every few merges and at the end. */
typedef void (*tp_bpe_progress_fn)(void *ctx, int merges_done, int merges_total);
/* Learns vocab_size−257 merges. Fails (naming how many were possible) when the text runs out of
 * pairs first. The trainer may be freed afterwards; finishing twice is an error. */
tp_status tp_bpe_trainer_finish(tp_bpe_trainer *t, int vocab_size, tp_bpe_progress_fn progress, void *ctx,
                                tp_tokenizer **out, tp_err *err);
void tp_bpe_trainer_free(tp_bpe_trainer *t);

/* Convenience: trains on n whole texts. */
tp_status tp_tokenizer_train(const uint8_t *const *texts, const size_t *lens, int n, int vocab_size,
                             tp_tokenizer **out, tp_err *err);

#endif
