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

/* Relative gain Σ(before − after) / Σ before over n samples, and the variance of that estimate (n
 * times the sample variance of each sample's share). */
static void gain_of(const double *before, const double *after, int n, double *gain, double *var) {
    double tb = 0, g = 0, ss = 0;
    for (int i = 0; i < n; i++) tb += before[i];
    *gain = *var = 0;
    if (!(tb > 0) || n < 2) return;
    for (int i = 0; i < n; i++) g += (before[i] - after[i]) / tb;
    for (int i = 0; i < n; i++) {
        double c = (before[i] - after[i]) / tb - g / n;
        ss += c * c;
    }
    *gain = g;
    *var = n * ss / (n - 1);
}

/* An update's own-data advantage on samples `own` (losses before: lb_own) against the window's random
 * samples: fills own_gain, score, their standard errors and z. θ is left as it was. */
static tp_status measure(tp_validator *v, const tp_update *u, const double *median, const uint64_t *own,
                         const double *lb_own, int e, const tp_vwindow *w, double *la_rand, int rand_known,
                         tp_eval_result *res, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    size_t bytes = n->model->layout.total * sizeof(float);
    double *la_own = tp_malloc(sizeof(double) * (size_t)e, err);
    if (!la_own) return err->code;
    memcpy(v->backup, n->model->params, bytes);
    tp_status st = apply_alone(v, u, median, p->outer_lr * p->eval_lr_factor, err);
    if (!st) st = tp_node_sample_losses(n, TP_SPLIT_TRAIN, own, e, la_own, err);
    if (!st && !rand_known) st = tp_node_sample_losses(n, TP_SPLIT_TRAIN, w->rand_s, w->eval_n, la_rand, err);
    memcpy(n->model->params, v->backup, bytes);
    double var_own, var_rand;
    gain_of(lb_own, la_own, e, &res->own_gain, &var_own);
    gain_of(w->lb_rand, la_rand, w->eval_n, &res->score, &var_rand);
    free(la_own);
    double se = sqrt(var_own + var_rand);
    res->score_se = sqrt(var_rand);
    res->z = se > 0 ? (res->own_gain - res->score) / se : 0;
    res->df = (e < w->eval_n ? e : w->eval_n) - 1;
    if (!isfinite(res->score) || !isfinite(res->own_gain) || !isfinite(res->z)) {
        res->score = res->own_gain = -1;
        res->z = 0;
    }
    return st;
}

/* Scores the update at g index i into result slot r: its own samples are drawn from those it trained
 * on this window (positions in its pool), then measured. */
static tp_status evaluate_one(tp_validator *v, int64_t window, tp_vwindow *w, int i, int r, const double *median,
                              uint64_t *pool, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    int64_t u = w->g.uid[i];
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, n->rc.cfg.model.seq_len);
    uint64_t cnt = (uint64_t)p->inner_steps * n->rc.cfg.train.batch_size;
    int e = w->eval_own_n;
    uint64_t *own = w->eval_own + (size_t)r * e;
    double *lb_own = w->eval_lb_own + (size_t)r * e;
    tp_status st = tp_sample_pool((uint32_t)u, (uint64_t)window, ns, cnt, pool, err);
    if (st || (st = tp_sample_pool_seeded(seed_of(v, "own", u, window), cnt, (uint64_t)e, own, err))) return st;
    for (int k = 0; k < e; k++) own[k] = pool[own[k]];
    if ((st = tp_node_sample_losses(n, TP_SPLIT_TRAIN, own, e, lb_own, err))) return st;
    w->res[r].uid = u;
    w->res[r].slot = i;
    return measure(v, &w->g.payload[i].update, median, own, lb_own, e, w, w->eval_la_rand + (size_t)r * w->eval_n, 0,
                   &w->res[r], err);
}

/* The per-window buffers of the evaluation: the random samples and their losses, and per evaluated
 * miner its own samples and losses (kept for the shared-work check). */
static tp_status eval_buffers(tp_validator *v, tp_vwindow *w, tp_err *err) {
    const tp_protocol *p = &v->n->rc.proto;
    int E = p->eval_samples, cap = w->g.n + 1;
    int pool = p->inner_steps * v->n->rc.cfg.train.batch_size;
    void **bufs[] = {(void **)&w->rand_s, (void **)&w->lb_rand, (void **)&w->eval_own, (void **)&w->eval_lb_own,
                     (void **)&w->eval_la_rand};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) { /* an earlier try of this window's judge */
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    w->eval_n = E;
    w->eval_own_n = E < pool ? E : pool;
    size_t R = (size_t)w->eval_n, O = (size_t)w->eval_own_n;
    if (!(w->rand_s = tp_malloc(sizeof(uint64_t) * R, err)) || !(w->lb_rand = tp_malloc(sizeof(double) * R, err)) ||
        !(w->eval_own = tp_malloc(sizeof(uint64_t) * (size_t)cap * O, err)) ||
        !(w->eval_lb_own = tp_malloc(sizeof(double) * (size_t)cap * O, err)) ||
        !(w->eval_la_rand = tp_malloc(sizeof(double) * (size_t)cap * R, err)))
        return err->code;
    return TP_OK;
}

tp_status tp_vphase_evaluate(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    w->n_res = 0;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, n->rc.cfg.model.seq_len);
    double *median = tp_malloc(sizeof(double) * (size_t)n->model->layout.n_tensors, err);
    uint64_t *pool = median ? tp_malloc(sizeof(uint64_t) * (size_t)p->inner_steps * n->rc.cfg.train.batch_size, err) : NULL;
    tp_status st = pool ? eval_buffers(v, w, err) : err->code;
    /* The window's random samples: the pool of a pseudo-uid no miner holds. */
    if (!st) st = median_norms(v, w, median, err);
    if (!st) st = tp_sample_pool_seeded(seed_of(v, "random", -1, window), ns, (uint64_t)w->eval_n, w->rand_s, err);
    if (!st) st = tp_node_sample_losses(n, TP_SPLIT_TRAIN, w->rand_s, w->eval_n, w->lb_rand, err);
    int chosen[TP_CHAIN_MAX_UIDS], nch = st ? 0 : choose(v, window, &w->g, chosen);
    for (int c = 0; !st && c < nch; c++)
        if (!(st = evaluate_one(v, window, w, chosen[c], w->n_res, median, pool, err))) w->n_res++;
    if (!st) st = tp_veval_shared_work(v, w, median, err);
    if (st) w->n_res = w->n_shared = 0;
    free(median);
    free(pool);
    return st;
}

/* ---------------------------------------------------------------- shared work (sybils) */

/* Share of common in-block positions over the tensors where a message picks fewer positions than the
 * block has (where every message holds every position, sharing them says nothing). */
static double selected_overlap(const tp_update *a, const tp_update *b) {
    int64_t common = 0, total = 0;
    for (int t = 0; t < a->n && t < b->n; t++) {
        const tp_sparse *x = &a->t[t], *y = &b->t[t];
        if (x->k >= x->geom.totalk || x->k != y->k || x->geom.nblocks != y->geom.nblocks) continue;
        for (int64_t blk = 0; blk < x->geom.nblocks; blk++) {
            const uint16_t *p = x->idx + blk * x->k, *q = y->idx + blk * y->k;
            for (int64_t i = 0, j = 0; i < x->k && j < y->k;) {
                if (p[i] == q[j]) common++, i++, j++;
                else if (p[i] < q[j]) i++;
                else j++;
            }
            total += x->k;
        }
    }
    return total ? (double)common / (double)total : 1;
}

/* Evaluated miner a's update on evaluated miner b's own samples: z of its advantage there. */
static tp_status cross_z(tp_validator *v, tp_vwindow *w, const double *median, int a, int b, double *z,
                         tp_err *err) {
    int e = w->eval_own_n;
    tp_eval_result r = {0};
    tp_status st = measure(v, &w->g.payload[w->res[a].slot].update, median, w->eval_own + (size_t)b * e,
                           w->eval_lb_own + (size_t)b * e, e, w, w->eval_la_rand + (size_t)a * w->eval_n, 1, &r, err);
    *z = r.z;
    return st;
}

tp_status tp_veval_shared_work(tp_validator *v, tp_vwindow *w, const double *median, tp_err *err) {
    w->n_shared = 0;
    for (int a = 0; a < w->n_res; a++)
        for (int b = a + 1; b < w->n_res; b++) {
            const tp_update *ua = &w->g.payload[w->res[a].slot].update, *ub = &w->g.payload[w->res[b].slot].update;
            /* Two halves of one update select disjoint positions; independent miners share some. */
            if (selected_overlap(ua, ub) > TP_SHARED_OVERLAP_MAX || w->res[a].score <= 0 || w->res[b].score <= 0)
                continue;
            double zab, zba;
            tp_status st = cross_z(v, w, median, a, b, &zab, err);
            if (!st) st = cross_z(v, w, median, b, a, &zba, err);
            if (st) return st;
            if (!(zab > 0 && zba > 0 && zab + zba >= TP_SHARED_Z) || w->n_shared >= TP_VWINDOW_MAX_SHARED) continue;
            w->shared[w->n_shared][0] = w->res[a].uid;
            w->shared[w->n_shared++][1] = w->res[b].uid;
            tp_node_log(v->n, "uid %lld and uid %lld share one miner's work (disjoint positions; each update has an "
                        "advantage on the other's samples: z %.1f, %.1f)", (long long)w->res[a].uid,
                        (long long)w->res[b].uid, zab, zba);
        }
    return TP_OK;
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
