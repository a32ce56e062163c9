/* A templar tokenizer's vocabulary as Hugging Face and llama.cpp store byte-level BPE vocabularies:
 * every token spelled in GPT-2's byte alphabet (export/bytelevel.h), the end-of-document token by its
 * name. Both look tokens up by that text, so every spelling must be distinct. */
#ifndef TP_EXPORT_VOCAB_H
#define TP_EXPORT_VOCAB_H

#include <stddef.h>

#include "core/error.h"
#include "data/tokenizer.h"

#define TP_EOT_NAME "<|endoftext|>" /* GPT-2's; llama.cpp also knows it as the end of text */

/* Token id's spelling, NUL-terminated, at text + off[id]; n = vocab_size. */
typedef struct {
    char *text;
    size_t *off;
    int n;
} tp_spelled_vocab;

/* Spells every token of tok into *s (free with tp_spelled_vocab_free, also after a failure). Fails
 * with TP_ERR_CONFIG, naming both ids and the text, when two tokens spell alike: two merges can build
 * the same bytes (a+bc, ab+c), and a token could spell the end-of-document name. */
tp_status tp_spell_vocab(const tp_tokenizer *tok, tp_spelled_vocab *s, tp_err *err);
static inline const char *tp_spelled(const tp_spelled_vocab *s, int id) { return s->text + s->off[id]; }
void tp_spelled_vocab_free(tp_spelled_vocab *s);

#endif
