/* GGUF, llama.cpp's model file (version 3, ggml's docs/gguf.md): a LLaMA model and its byte-level BPE
 * tokenizer, written for llama.cpp's "llama" architecture and "gpt2" vocabulary type with the metadata
 * keys llama.cpp's own converter (convert_hf_to_gguf.py) writes for them.
 *
 * Layout: "GGUF", version 3, tensor count, key/value count, the key/value pairs, one info per tensor
 * (name, dimensions innermost first, ggml type, offset into the data), padding to general.alignment,
 * then the tensors' data, each padded to the alignment. Little-endian throughout. */
#ifndef TP_EXPORT_GGUF_H
#define TP_EXPORT_GGUF_H

#include <stdint.h>

#include "core/error.h"
#include "data/tokenizer.h"
#include "model/llama.h"

typedef enum {
    TP_GGUF_F32, /* every tensor f32: the exact weights (general.file_type 0, ALL_F32) */
    TP_GGUF_F16, /* weight matrices f16, norm gains f32, as llama.cpp's converter (file_type 1, MOSTLY_F16) */
} tp_gguf_type;

typedef struct {
    tp_gguf_type type;
    const char *name; /* general.name; NULL: "templar" */
} tp_gguf_options;

/* Writes the weights of m and the tokenizer tok (whose vocabulary must be m's) to path, atomically.
 * Fails, naming them, if two tokens spell the same string: llama.cpp finds tokens by their text and
 * refuses such a vocabulary. */
tp_status tp_gguf_write(const char *path, const tp_llama *m, const tp_tokenizer *tok, const tp_gguf_options *opt,
                        tp_err *err);

/* The IEEE binary16 bits nearest to f, ties to even: overflow gives infinity, values below the
 * smallest normal give subnormals (or zero), NaN stays NaN. */
uint16_t tp_f32_to_f16(float f);

#endif
