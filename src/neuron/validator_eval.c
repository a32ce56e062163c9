/* The Gauntlet (DESIGN §12.3): each chosen miner's update applied alone, the loss before and after on
 * its own samples and on the window's random samples; and the held-out loss of the validator's model. */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/sort.h"
#include "data/sampler.h"
#include "neuron/validator_phases.h"

/* Seeds known to anyone who knows the validator's hotkey, so every evaluation can be reproduced. */
static uint64_t seed_of(const tp_validator *v, const char *what, int64_t uid, int64_t window) {
    char buf[512];
    int len = snprintf(buf, sizeof buf, "%s/%s/%lld/%lld", v->n->wallet.pk_hex, what, (long long)uid, (long long)window);
    uint8_t h[8];
    crypto_generichash(h, sizeof h, (const uint8_t *)buf, (size_t)len, NULL, 0);
    uint64_t s = 0;
    for (int i = 0; i < 8; i++) s = s << 8 | h[i];
    return s;
}

/* Applies one update alone with step lr, each tensor clipped to the applied set's median norm
 * (median[t] < 0: no clip). */
static tp_status apply_alone(tp_validator *v, const tp_update *u, const double *median, double lr, tp_err *err) {
    tp_node *n = v->n;
    const tp_layout *L = &n->model->layout;
    for (int t = 0; t < L->n_tensors; t++) {
        const tp_sparse *one[1] = {&u->t[t]};
        double norm;
        int bad = 0, skipped = 0;
        tp_status st = tp_aggregate_norms(one, 1, n->rc.codec.bins, &norm, &bad, err);
        if (st) return st;
        double clip = median[t] >= 0 ? fmin(1, median[t] / (norm + 1e-8)) : 1;
        if ((st = tp_outer_step_tensor(n->model->params + L->tensors[t].offset, one, 1, &n->rc.codec,
                                       (float)(lr * clip), n->ws, &skipped, err)))
            return st;
    }
    return TP_OK;
}

/* Median norm per tensor over the applied set (−1: nothing applied). */
static tp_status median_norms(tp_validator *v, const tp_vwindow *w, double *median, tp_err *err) {
    const tp_layout *L = &v->n->model->layout;
    double *norms = tp_malloc(sizeof(double) * (size_t)(w->n_applied + 1), err);
    if (!norms) return err->code;
    tp_status st = TP_OK;
    for (int t = 0; !st && t < L->n_tensors; t++) {
        const tp_sparse *one[TP_AGG_MAX_PEERS];
        for (int i = 0; i < w->n_applied; i++) one[i] = &w->g.payload[w->applied[i]].update.t[t];
        int bad = 0;
        median[t] = -1;
        if (w->n_applied && !(st = tp_aggregate_norms(one, w->n_applied, v->n->rc.codec.bins, norms, &bad, err)))
            median[t] = tp_lower_median(norms, (size_t)w->n_applied);
    }
    free(norms);
    return st;
}

/* Staleness-weighted choice of up to uids_per_window miners with a valid upload; chosen[] are
 * indices into g in ascending uid (the same order on every machine). */
static int choose(tp_validator *v, int64_t window, const tp_window_gather *g, int *chosen) {
    int cand[TP_CHAIN_MAX_UIDS], nc = 0, nch = 0;
    double wt[TP_CHAIN_MAX_UIDS];
    for (int i = 0; i < g->n; i++) {
        const tp_vminer *m = &v->m[g->uid[i]];
        if (!g->payload[i].valid || m->quarantine_until > window) continue;
        cand[nc] = i;
        wt[nc++] = (double)(window - (m->last_eval < 0 ? v->n->start_window - 1 : m->last_eval));
    }
    tp_rng r;
    tp_rng_seed(&r, seed_of(v, "choose", -1, window));
    while (nc > 0 && nch < v->n->rc.proto.uids_per_window) {
        double tot = 0;
        for (int i = 0; i < nc; i++) tot += wt[i];
        double x = tp_rng_float(&r) * tot;
        int pick = nc - 1;
        for (int i = 0; i < nc; i++) {
            if (x < wt[i]) {
                pick = i;
                break;
            }
            x -= wt[i];
        }
        chosen[nch++] = cand[pick];
        cand[pick] = cand[nc - 1];
        wt[pick] = wt[nc - 1];
        nc--;
    }
    tp_gather_sort_by_uid(g, chosen, nch);
    return nch;
}

typedef struct {
    double *median;      /* per tensor */
    uint64_t *pool;      /* a miner's whole pool */
    uint64_t *rand_s, *own_s;
    double lb_rand;      /* loss on the random samples before any update */
} eval_scratch;

/* Scores the update at g index i: applied alone, then θ restored. */
static tp_status evaluate_one(tp_validator *v, int64_t window, const tp_window_gather *g, int i, eval_scratch *s,
                              tp_eval_result *res, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    int64_t u = g->uid[i];
    int T = n->rc.cfg.model.seq_len, E = p->eval_samples;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, T);
    uint64_t cnt = (uint64_t)p->inner_steps * n->rc.cfg.train.batch_size;
    int e = E < (int)cnt ? E : (int)cnt;
    double lb_own, la_own, la_rand;
    /* Own samples: drawn from those the miner trained on this window (positions in its pool). */
    tp_status st = tp_sample_pool((uint32_t)u, (uint64_t)window, ns, cnt, s->pool, err);
    if (st || (st = tp_sample_pool_seeded(seed_of(v, "own", u, window), cnt, (uint64_t)e, s->own_s, err))) return st;
    for (int k = 0; k < e; k++) s->own_s[k] = s->pool[s->own_s[k]];
    size_t bytes = n->model->layout.total * sizeof(float);
    memcpy(v->backup, n->model->params, bytes);
    if (!(st = tp_node_loss(n, TP_SPLIT_TRAIN, s->own_s, e, &lb_own, err)) &&
        !(st = apply_alone(v, &g->payload[i].update, s->median, p->outer_lr * p->eval_lr_factor, err)) &&
        !(st = tp_node_loss(n, TP_SPLIT_TRAIN, s->own_s, e, &la_own, err)))
        st = tp_node_loss(n, TP_SPLIT_TRAIN, s->rand_s, E, &la_rand, err);
    memcpy(n->model->params, v->backup, bytes);
    if (st) return st;
    res->uid = u;
    res->score = s->lb_rand > 0 ? (s->lb_rand - la_rand) / s->lb_rand : 0;
    res->own_gain = lb_own > 0 ? (lb_own - la_own) / lb_own : 0;
    if (!isfinite(res->score)) res->score = -1;
    if (!isfinite(res->own_gain)) res->own_gain = -1;
    return TP_OK;
}

tp_status tp_vphase_evaluate(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    int T = n->rc.cfg.model.seq_len, E = p->eval_samples;
    eval_scratch s = {0};
    w->n_res = 0;
    tp_status st = TP_OK;
    if (!(s.median = tp_malloc(sizeof(double) * (size_t)n->model->layout.n_tensors, err)) ||
        !(s.pool = tp_malloc(sizeof(uint64_t) * (size_t)p->inner_steps * n->rc.cfg.train.batch_size, err)) ||
        !(s.rand_s = tp_malloc(sizeof(uint64_t) * (size_t)E, err)) ||
        !(s.own_s = tp_malloc(sizeof(uint64_t) * (size_t)E, err)))
        st = err->code;
    /* The window's random samples: the pool of a pseudo-uid no miner holds. */
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, T);
    if (!st) st = median_norms(v, w, s.median, err);
    if (!st) st = tp_sample_pool_seeded(seed_of(v, "random", -1, window), ns, (uint64_t)E, s.rand_s, err);
    if (!st) st = tp_node_loss(n, TP_SPLIT_TRAIN, s.rand_s, E, &s.lb_rand, err);
    int chosen[TP_CHAIN_MAX_UIDS], nch = st ? 0 : choose(v, window, &w->g, chosen);
    for (int c = 0; !st && c < nch; c++)
        if (!(st = evaluate_one(v, window, &w->g, chosen[c], &s, &w->res[w->n_res], err))) w->n_res++;
    if (st) w->n_res = 0;
    free(s.median);
    free(s.pool);
    free(s.rand_s);
    free(s.own_s);
    return st;
}

tp_status tp_vphase_heldout(tp_validator *v, tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    w->heldout_loss = NAN;
    int T = n->rc.cfg.model.seq_len, cnt = n->rc.proto.heldout_batches * n->rc.cfg.train.batch_size;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_VAL, T);
    if (cnt > (int)ns) cnt = (int)ns;
    if (cnt <= 0) return TP_OK;
    uint64_t *samples = tp_malloc(sizeof(uint64_t) * (size_t)cnt, err);
    if (!samples) return err->code;
    for (int i = 0; i < cnt; i++) samples[i] = (uint64_t)i * ns / (uint64_t)cnt;
    tp_status st = tp_node_loss(n, TP_SPLIT_VAL, samples, cnt, &w->heldout_loss, err);
    free(samples);
    return st;
}
