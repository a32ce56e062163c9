#include "model/adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

tp_status tp_adamw_init(tp_adamw *opt, const tp_layout *L, tp_err *err) {
    opt->step = opt->moments_from = 0;
    opt->m = tp_alloc_aligned(2 * L->total * sizeof(float), err);
    opt->v = opt->m ? opt->m + L->total : NULL;
    return opt->m ? TP_OK : TP_ERR_NOMEM;
}

void tp_adamw_free(tp_adamw *opt) {
    free(opt->m);
    opt->m = opt->v = NULL;
}

double tp_grad_norm(const float *grads, size_t n) {
    double ss = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : ss)
    for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
    return sqrt(ss);
}

double tp_clip_grads(float *grads, size_t n, double max_norm) {
    double norm = tp_grad_norm(grads, n);
    if (max_norm <= 0) return norm;
    float coef = (float)(max_norm / (norm + 1e-6));
    if (coef < 1.0f) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) grads[i] *= coef;
    }
    return norm;
}

void tp_adamw_step(tp_adamw *opt, const tp_layout *L, float *params, const float *grads, const tp_train_config *t,
                   double lr) {
    opt->step++;
    double since = (double)(opt->step - opt->moments_from);
    double bc1 = 1.0 - pow(t->beta1, since), bc2 = 1.0 - pow(t->beta2, since);
    float b1 = (float)t->beta1, b2 = (float)t->beta2, eps = (float)t->eps;
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (int ti = 0; ti < L->n_tensors; ti++) {
        const tp_tensor_info *info = &L->tensors[ti];
        float decay = info->ndim == 2 ? (float)(1.0 - lr * t->weight_decay) : 1.0f;
        float *p = params + info->offset, *m = opt->m + info->offset, *v = opt->v + info->offset;
        const float *g = grads + info->offset;
        size_t n = info->count;
        /* The same order of operations as torch's single-tensor AdamW, so results match to rounding. */
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            p[i] *= decay;
            m[i] = m[i] * b1 + g[i] * (1.0f - b1);
            v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
            float denom = sqrtf(v[i]) / bc2_sqrt + eps;
            p[i] -= step_size * (m[i] / denom);
        }
    }
}

void tp_adamw_reset_moments(tp_adamw *opt, size_t total) {
    memset(opt->m, 0, sizeof(float) * 2 * total);
    opt->moments_from = opt->step;
}

double tp_lr_at(const tp_train_config *t, int64_t step, int64_t total_steps) {
    if (step < t->warmup_steps) {
        double frac = (double)step / (double)t->warmup_steps;
        return t->lr * (1e-6 + (1.0 - 1e-6) * frac);
    }
    int64_t span = total_steps - t->warmup_steps;
    double progress = span > 0 ? (double)(step - t->warmup_steps) / (double)span : 1.0;
    if (progress > 1.0) progress = 1.0;
    double eta = t->eta_min_factor;
    return t->lr * (eta + (1.0 - eta) * 0.5 * (1.0 + cos(M_PI * progress)));
}
