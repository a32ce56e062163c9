/* AdamW with decoupled weight decay (torch.optim.AdamW semantics), global gradient-norm clipping
 * (torch.nn.utils.clip_grad_norm_ semantics), and the learning-rate schedule of DESIGN §4. */
#ifndef TP_MODEL_ADAMW_H
#define TP_MODEL_ADAMW_H

#include <stdint.h>

#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"

typedef struct {
    float *m, *v;  /* first and second moments, one allocation of 2·layout.total floats */
    int64_t step;  /* optimizer steps taken */
    int64_t moments_from; /* the step at which m and v were last zeroed: bias correction counts from it */
} tp_adamw;

tp_status tp_adamw_init(tp_adamw *opt, const tp_layout *L, tp_err *err);
void tp_adamw_free(tp_adamw *opt);

/* Zeroes m and v (layout.total floats each) as a fresh optimizer has them, keeping the step count
 * (the learning-rate schedule's clock). */
void tp_adamw_reset_moments(tp_adamw *opt, size_t total);

/* L2 norm of all gradients (accumulated in double). */
double tp_grad_norm(const float *grads, size_t n);
/* Scales grads by max_norm/(norm + 1e-6) when that is below 1. Returns the norm before clipping. */
double tp_clip_grads(float *grads, size_t n, double max_norm);

/* One AdamW step at learning rate lr. Weight decay applies to 2-D tensors only. */
void tp_adamw_step(tp_adamw *opt, const tp_layout *L, float *params, const float *grads, const tp_train_config *t,
                   double lr);

/* Linear warm-up from 1e-6·lr over warmup_steps, then cosine to eta_min_factor·lr at total_steps. */
double tp_lr_at(const tp_train_config *t, int64_t step, int64_t total_steps);

#endif
