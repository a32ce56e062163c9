#include "model/train_step.h"

#include <math.h>

tp_status tp_train_step(tp_llama *m, tp_adamw *opt, const tp_train_config *t, const int32_t *tokens, int b, int seq,
                        int ignore_token, double lr, tp_step_result *res, tp_err *err) {
    tp_status st = tp_llama_forward(m, tokens, b, seq, ignore_token, &res->loss, err);
    if (st) return st;
    if (!isfinite(res->loss))
        return tp_fail(err, TP_ERR_NUMERIC, "loss is %f at step %lld", (double)res->loss, (long long)opt->step);
    tp_llama_backward(m);
    res->grad_norm = tp_clip_grads(m->grads, m->layout.total, t->grad_clip);
    if (!isfinite(res->grad_norm))
        return tp_fail(err, TP_ERR_NUMERIC, "gradient norm is %f at step %lld", res->grad_norm, (long long)opt->step);
    tp_adamw_step(opt, &m->layout, m->params, m->grads, t, lr);
    return TP_OK;
}
