/* Model directories (DESIGN §4): HF-loadable model.safetensors + config.json, and beside them
 * optimizer.safetensors (AdamW moments, step and training config) and, for a miner,
 * error_feedback.safetensors (the SparseLoCo residual not yet transmitted, tensors "ef.<name>"). A directory is written under a
 * temporary name and renamed into place, so the previous checkpoint survives any crash. */
#ifndef TP_MODEL_CHECKPOINT_H
#define TP_MODEL_CHECKPOINT_H

#include <jansson.h>

#include "core/error.h"
#include "model/adamw.h"
#include "model/llama.h"

/* Reads DIR/config.json. */
tp_status tp_checkpoint_read_config(const char *dir, tp_model_config *cfg, tp_err *err);
/* Loads DIR/model.safetensors into m->params: every tensor must be present, F32, of the expected
 * shape; extra tensors are an error. */
tp_status tp_checkpoint_load_weights(const char *dir, tp_llama *m, tp_err *err);
/* Loads DIR/optimizer.safetensors into opt (moments and step). train_json (may be NULL) receives the
 * saved training metadata object (caller decrefs). */
tp_status tp_checkpoint_load_optimizer(const char *dir, const tp_layout *L, tp_adamw *opt, json_t **train_json,
                                       tp_err *err);

/* Writes a whole checkpoint directory atomically. opt and error_feedback (layout.total floats) may
 * be NULL. extra files are written in too, e.g. the tokenizer: each a copy of the file at source, or
 * (source NULL) the len bytes at data; train_json is stored in the optimizer file's metadata. */
typedef struct {
    const char *name;
    const char *source;
    const void *data;
    size_t len;
} tp_extra_file;
tp_status tp_checkpoint_save(const char *dir, const tp_llama *m, const tp_adamw *opt, const float *error_feedback,
                             json_t *train_json, const tp_extra_file *extra, int n_extra, tp_err *err);
/* Loads DIR/error_feedback.safetensors into ef (layout.total floats). */
tp_status tp_checkpoint_load_error_feedback(const char *dir, const tp_layout *L, float *ef, tp_err *err);

#define TP_ERROR_FEEDBACK_FILE "error_feedback.safetensors"
#define TP_ERROR_FEEDBACK_PREFIX "ef."

/* Writes named float tensors (e.g. gradients) to a safetensors file: names[i] gets data + layout
 * offsets of tensor i, prefixed. Used by `templar grad`. */
tp_status tp_checkpoint_write_tensors(const char *path, const tp_layout *L, const float *base, const char *prefix,
                                      const char *scalar_name, float scalar, tp_err *err);

/* Reads DIR/config.json, builds a model with activations for max_b x max_t (max_t 0: the config's
 * seq_len) and loads its weights. */
tp_status tp_checkpoint_load_model(const char *dir, int max_b, int max_t, int with_grads, tp_llama **out,
                                   tp_err *err);

/* Reads tensors named prefix+<HF name> for every layout tensor from a safetensors file into base
 * (e.g. a miner's error-feedback state, "ef."). Missing, extra or mis-shaped tensors are errors. */
tp_status tp_checkpoint_read_tensors(const char *path, const tp_layout *L, const char *prefix, float *base,
                                     tp_err *err);

#endif
