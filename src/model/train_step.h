/* One optimisation step: forward, backward, global-norm clip, AdamW. Shared by `templar train` and
 * the miner's inner steps. A non-finite loss or gradient norm leaves the parameters untouched. */
#ifndef TP_MODEL_TRAIN_STEP_H
#define TP_MODEL_TRAIN_STEP_H

#include "model/adamw.h"
#include "model/llama.h"

typedef struct {
    float loss;
    double grad_norm; /* before clipping */
} tp_step_result;

tp_status tp_train_step(tp_llama *m, tp_adamw *opt, const tp_train_config *t, const int32_t *tokens, int b, int seq,
                        int ignore_token, double lr, tp_step_result *res, tp_err *err);

#endif
