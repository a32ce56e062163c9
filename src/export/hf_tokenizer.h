/* A templar tokenizer as Hugging Face files, so that AutoTokenizer (Python transformers, tokenizers,
 * transformers.js) loads a checkpoint and gets templar's token ids:
 *   tokenizer.json          the tokenizers library's format: a byte-level BPE model (vocab spelled in
 *                           GPT-2's byte alphabet, merges in rank order), a pre-tokenizer that cuts
 *                           text exactly where tp_pretok_chunk does (ByteLevel, then a Split regex
 *                           on its one-character-per-byte output, so that it counts bytes), the
 *                           byte-level decoder, and the end-of-document token (id vocab_size-1) as
 *                           the special token "<|endoftext|>"
 *   tokenizer_config.json   PreTrainedTokenizerFast, that token as BOS and EOS, no BOS added
 *   generation_config.json  its id as bos_token_id and eos_token_id
 *
 * On any text (Hugging Face takes valid UTF-8 only) the ids are templar's, with one difference:
 * Hugging Face reads the literal text "<|endoftext|>" as the special token, templar as 13 bytes of
 * text. tests/export/test_hf_tokenizer.c checks this with transformers.js. A tokenizer in which two tokens have the same bytes cannot be written
 * (a Hugging Face vocabulary maps each string to one id): that is refused, naming both ids. */
#ifndef TP_EXPORT_HF_TOKENIZER_H
#define TP_EXPORT_HF_TOKENIZER_H

#include <stddef.h>

#include "core/error.h"
#include "data/tokenizer.h"
#include "export/vocab.h"
#include "model/checkpoint.h"
#include "model/config.h"

#define TP_HF_EOT_TOKEN TP_EOT_NAME
#define TP_HF_TOKENIZER_FILES 3

/* One file's name (static) and malloc'ed text. */
typedef struct {
    const char *name;
    char *text;
    size_t len;
} tp_hf_file;

/* Makes the three files: tokenizer.json, tokenizer_config.json, generation_config.json. seq_len > 0
 * is written as model_max_length (0: not written). On failure nothing is left to free. */
tp_status tp_hf_tokenizer_files(const tp_tokenizer *tok, int seq_len, tp_hf_file files[TP_HF_TOKENIZER_FILES],
                                tp_err *err);
void tp_hf_files_free(tp_hf_file *files, int n);

/* Writes the three files into dir (made if missing), each atomically. */
tp_status tp_hf_tokenizer_write(const tp_tokenizer *tok, int seq_len, const char *dir, tp_err *err);

/* The tokenizer files a checkpoint carries, ready for tp_checkpoint_save(..., extra, 4, ...):
 * templar's own (a copy of the file at tokenizer_path, which must outlive *out, named
 * templar_tokenizer.json) and the three Hugging Face files made from it. A tokenizer whose vocab_size
 * is not the model's is refused, naming both. */
typedef struct {
    tp_extra_file extra[1 + TP_HF_TOKENIZER_FILES];
    tp_hf_file hf[TP_HF_TOKENIZER_FILES];
} tp_hf_checkpoint_files;

tp_status tp_hf_checkpoint_files_make(const char *tokenizer_path, const tp_model_config *cfg,
                                      tp_hf_checkpoint_files *out, tp_err *err);
void tp_hf_checkpoint_files_free(tp_hf_checkpoint_files *f);

#endif
