/* Model and training configuration: named configs (DESIGN §4), our JSON config files, and the
 * Hugging Face config.json of a model directory. Every check names the offending field. */
#ifndef TP_MODEL_CONFIG_H
#define TP_MODEL_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int dim;          /* hidden_size */
    int n_layers;     /* num_hidden_layers */
    int n_heads;      /* num_attention_heads */
    int n_kv_heads;   /* num_key_value_heads */
    int ffn_dim;      /* intermediate_size */
    int vocab_size;
    int seq_len;      /* training context; max_position_embeddings in config.json */
    float rope_theta;
    float norm_eps;   /* rms_norm_eps */
    int tie_embeddings;
} tp_model_config;

typedef struct {
    int batch_size;
    double lr;
    double beta1, beta2, eps;
    double weight_decay;   /* decoupled; applied to 2-D weight matrices only */
    double grad_clip;      /* global L2 norm; 0 disables */
    int warmup_steps;      /* linear warm-up from 1e-6·lr */
    double eta_min_factor; /* cosine decays to eta_min_factor·lr at the last step */
    int eval_every;        /* held-out evaluation every K steps (0: only at the end) */
    int eval_batches;      /* batches of held-out data per evaluation */
    int checkpoint_every;  /* 0: only at the end */
    uint64_t seed;         /* weight init and batch order */
    float init_std;        /* N(0, init_std) for weight matrices */
} tp_train_config;

typedef struct {
    tp_model_config model;
    tp_train_config train;
} tp_config;

/* Fills cfg from a named config ("tiny", "small", "base", "150M", "1B", "70B"). */
tp_status tp_config_named(const char *name, tp_config *cfg, tp_err *err);

/* Loads a JSON config file: {"base": "small"?, "model": {...}, "train": {...}}. Keys not set keep the
 * values of the named base (default "small"). Unknown keys are errors naming the key. */
tp_status tp_config_load_file(const char *path, tp_config *cfg, tp_err *err);
/* Same from a parsed JSON object (what the file loader uses). */
tp_status tp_config_from_json(json_t *root, tp_config *cfg, tp_err *err);

/* Whether a config argument names a file: it contains '/' or ends in .json (else it is a name). */
bool tp_config_is_path(const char *name_or_path);
/* Accepts a name or a path (as tp_config_is_path decides). */
tp_status tp_config_resolve(const char *name_or_path, tp_config *cfg, tp_err *err);

/* Checks the model config for impossible values (dim divisible by heads, kv_heads dividing heads,
 * even head_dim, positive sizes). */
tp_status tp_model_config_validate(const tp_model_config *m, tp_err *err);
tp_status tp_train_config_validate(const tp_train_config *t, tp_err *err);

/* Hugging Face config.json of a model directory. */
tp_status tp_model_config_from_hf(json_t *root, tp_model_config *m, tp_err *err);
json_t *tp_model_config_to_hf(const tp_model_config *m);

int64_t tp_model_param_count(const tp_model_config *m);
/* Our JSON config sections ("model" and "train" of a config file), every key spelled out. */
json_t *tp_model_config_to_json(const tp_model_config *m);
json_t *tp_train_config_to_json(const tp_train_config *t);

#endif
