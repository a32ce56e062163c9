/* What every exporter reads from a model directory (a checkpoint of `templar train`, a neuron's
 * state): the weights and config.json, and templar's own tokenizer, checked to belong together. */
#ifndef TP_EXPORT_MODEL_DIR_H
#define TP_EXPORT_MODEL_DIR_H

#include <stddef.h>

#include "core/error.h"
#include "data/tokenizer.h"
#include "model/llama.h"

/* templar's tokenizer beside the weights; "tokenizer.json" is the Hugging Face file in newer
 * checkpoints and templar's own in older ones. */
#define TP_EXPORT_TOKENIZER_FILE "templar_tokenizer.json"
#define TP_EXPORT_LEGACY_TOKENIZER_FILE "tokenizer.json"

/* Loads templar's tokenizer of model directory dir: the file override when not NULL, else
 * DIR/templar_tokenizer.json, else DIR/tokenizer.json if that file is in templar's format. used
 * (n bytes) receives the path read. Fails naming what is missing when there is none. */
tp_status tp_export_load_tokenizer(const char *dir, const char *override, tp_tokenizer **out, char *used, size_t n,
                                   tp_err *err);

/* Loads the model of dir (weights only, no activations to speak of) and its tokenizer
 * (tp_export_load_tokenizer), refusing a config.json that names an architecture other than
 * LlamaForCausalLM and a tokenizer whose vocabulary is not the model's. */
tp_status tp_export_open_model(const char *dir, const char *tokenizer_override, tp_llama **model, tp_tokenizer **tok,
                               tp_err *err);

#endif
