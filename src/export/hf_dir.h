/* A directory a Hugging Face user loads as it is (AutoModelForCausalLM / AutoTokenizer): the weights
 * (model.safetensors, config.json), the tokenizer files (export/hf_tokenizer.h) with templar's own
 * beside them, and a model card (README.md) stating what the network that trained the model knows. */
#ifndef TP_EXPORT_HF_DIR_H
#define TP_EXPORT_HF_DIR_H

#include <stddef.h>

#include "core/error.h"
#include "model/llama.h"

/* What a model card says about training; a negative number is "not recorded". */
typedef struct {
    const char *name;    /* the card's title; NULL: "templar model" */
    const char *config;  /* the run's config name (e.g. "small"); NULL: not recorded */
    double tokens;       /* tokens the honest miners trained on */
    int windows;         /* windows the network ran */
    int miners, validators;
    double heldout_loss; /* the leader's held-out loss on the final model */
} tp_train_facts;

#define TP_TRAIN_FACTS_UNKNOWN {NULL, NULL, -1, -1, -1, -1, -1}

/* The model card (README.md) as malloc'ed text (*len bytes, NUL-terminated). */
tp_status tp_model_card(const tp_llama *m, const tp_train_facts *facts, char **text, size_t *len, tp_err *err);

/* Writes out_dir (replacing it atomically) with m's weights and config, the tokenizer of the templar
 * tokenizer file at tokenizer_path (its vocabulary must be m's) and the model card. */
tp_status tp_export_hf_dir(const char *out_dir, const tp_llama *m, const char *tokenizer_path,
                           const tp_train_facts *facts, tp_err *err);

#endif
