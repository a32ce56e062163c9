/* Judging a window (DESIGN §12.2–§12.5): ratings from the Gauntlet's scores, penalties, copy
 * detection, sync scores, then final scores and weights. The judge works on a scratch copy of the
 * miners' standing and commits it only when every part succeeded, so a failure of the validator's
 * own (memory, the model) never reaches a miner. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/sort.h"
#include "neuron/gate.h"
#include "neuron/overlap.h"
#include "neuron/sync_score.h"
#include "neuron/validator_phases.h"
#include "neuron/weights.h"

#define PENALTY 0.75         /* missing, late or invalid upload; out of sync; inactive */
#define MINER_GATHER_FLOOR 0.4 /* a miner that gathered fewer than this share of its peers gets nothing */
#define SYNC_PENALTY_STEPS 3 /* a gather peer further behind than this is penalised */
#define INACTIVE_RESET 3     /* windows without a valid upload before the rating resets */
#define BINARY_MA_RATE 0.05  /* binary_ma ← (1 − rate)·binary_ma + rate·indicator */
#define COPY_HALVE 0.5       /* a light copy (overlap 0.4–0.5) halves the final score */

int tp_validator_is_miner(const tp_validator *v, int64_t u) {
    const tp_neuron *x = &v->n->mg.neurons[u];
    return !x->validator_permit && x->store[0] && u != v->n->rc.proto.burn_uid;
}

/* ---------------------------------------------------------------- ratings */

/* Positive scores are compared at the resolution of the window's median positive score: finer
 * differences between miners are evaluation noise, so those miners tie (share a rank). Harm (a
 * negative score) always ranks below. sc[] are scores told from zero (tp_gate_score). */
static void tie_noise(double *sc, int n, double median_positive) {
    for (int i = 0; median_positive > 0 && i < n; i++)
        sc[i] = sc[i] > 0 ? round(sc[i] / median_positive) : sc[i] / median_positive;
}

/* The window's median positive score (0 when none helped), of scores told from zero. */
static tp_status median_positive(const tp_vwindow *w, double *out, tp_err *err) {
    double *pos = tp_malloc(sizeof(double) * (size_t)(w->n_res + 1), err);
    if (!pos) return err->code;
    int np = 0;
    for (int i = 0; i < w->n_res; i++) {
        double s = tp_gate_score(w->res[i].score, w->res[i].score_se);
        if (s > 0) pos[np++] = s;
    }
    *out = np ? tp_lower_median(pos, (size_t)np) : 0;
    free(pos);
    return TP_OK;
}

/* One evaluation's marks on a miner: the binary moving average, the paying gate's evidence (against
 * the window's median positive score). */
static void mark_evaluation(const tp_gate_params *gp, tp_vminer *x, int64_t window, const tp_eval_result *r,
                            double med) {
    int ind = r->own_gain > r->score ? 1 : -1, strike;
    double y = tp_gate_scaled_z(r->z, r->df);
    x->binary_ma = (1 - BINARY_MA_RATE) * x->binary_ma + BINARY_MA_RATE * ind;
    x->n_evals++;
    x->n_pos += ind > 0;
    x->last_eval = window;
    x->evidence = tp_gate_update(gp, x->evidence, y, x->last_z, tp_gate_helps(gp, r->score, r->score_se, med), &strike);
    x->strikes += strike;
    x->last_z = y;
}

tp_status tp_vjudge_rate(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w, tp_err *err) {
    int n = w->n_res;
    if (n == 0) return TP_OK;
    tp_gate_params gp = tp_gate_defaults(v->n->rc.proto.gate_alpha, v->n->rc.proto.gate_horizon);
    double med = 0;
    tp_status st = median_positive(w, &med, err);
    tp_rating *rt = st ? NULL : tp_malloc(sizeof *rt * (size_t)n, err);
    double *sc = rt ? tp_malloc(sizeof *sc * (size_t)n, err) : NULL;
    if (!sc) st = err->code;
    for (int i = 0; !st && i < n; i++) {
        tp_vminer *x = &m[w->res[i].uid];
        mark_evaluation(&gp, x, window, &w->res[i], med);
        rt[i] = x->rating;
        sc[i] = tp_gate_score(w->res[i].score, w->res[i].score_se);
    }
    if (!st) tie_noise(sc, n, med);
    if (!st) st = tp_openskill_rate(&v->os, rt, sc, n, err);
    for (int i = 0; !st && i < n; i++) {
        tp_vminer *x = &m[w->res[i].uid];
        x->rating = rt[i];
        x->final = tp_final_score(x->rating, x->binary_ma, x->sync);
    }
    free(rt);
    free(sc);
    return st;
}

/* ---------------------------------------------------------------- penalties */

void tp_vjudge_penalties(tp_validator *v, tp_vminer *m, const tp_vwindow *w) {
    if (w->outage) return; /* nobody could deliver: nobody is penalised */
    const tp_window_gather *g = &w->g;
    for (int j = 0; j < w->pl.n_gather; j++) {
        int i = tp_gather_find(g, w->pl.gather[j]);
        if (i < 0 || tp_gather_failed_by_uploader(g, i)) m[w->pl.gather[j]].final *= PENALTY;
    }
    for (int i = 0; i < g->n; i++) {
        tp_vminer *x = &m[g->uid[i]];
        if (g->payload[i].valid) {
            x->inactive = 0;
            continue;
        }
        if (!tp_gather_failed_by_uploader(g, i)) continue;
        x->final *= PENALTY;
        if (++x->inactive >= INACTIVE_RESET) {
            int64_t q = x->quarantine_until, inactive = x->inactive;
            tp_vminer_reset(x, &v->os);
            x->quarantine_until = q;
            x->inactive = inactive;
        }
    }
}

/* An update whose every value is zero says nothing, so it cannot be a copy of anything. */
static int all_zero(const tp_update *u, int bins) {
    for (int t = 0; t < u->n; t++) {
        if (u->t[t].shift != 0) return 0;
        for (int b = 0; b < bins; b++)
            if (u->t[t].lookup[b] != 0) return 0;
    }
    return 1;
}

/* The copy verdict vd against entry `later` (the later uploader of an overlapping pair). */
static void punish_copy(tp_validator *v, tp_vminer *x, int64_t window, tp_copy_verdict vd) {
    if (vd.kind == TP_COPY_HALVE) {
        x->final *= COPY_HALVE;
        return;
    }
    int64_t q = x->quarantine_until;
    tp_vminer_reset(x, &v->os);
    x->quarantine_until = vd.kind == TP_COPY_EXCLUDE ? window + vd.exclude_windows : q;
}

/* Copying: the later uploader of an overlapping pair (this window's upload times). Null rounds
 * carry no information (every message is zero), so they are not judged. */
tp_status tp_vjudge_copies(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w, tp_err *err) {
    const tp_window_gather *g = &w->g;
    int bins = v->n->rc.codec.bins;
    if (w->outage || window < v->n->start_window + v->n->rc.proto.null_rounds) return TP_OK;
    for (int a = 0; a < g->n; a++)
        for (int b = a + 1; b < g->n; b++) {
            const tp_payload *pa = &g->payload[a], *pb = &g->payload[b];
            if (!pa->valid || !pb->valid || all_zero(&pa->update, bins) || all_zero(&pb->update, bins)) continue;
            double ov;
            tp_status st = tp_index_overlap(&pa->update, &pb->update, &ov, err);
            if (st) return st;
            tp_copy_verdict vd = tp_copy_penalty_for(ov);
            if (vd.kind == TP_COPY_NONE) continue;
            int later = g->mtime[b] > g->mtime[a] || (g->mtime[b] == g->mtime[a] && g->uid[b] > g->uid[a]) ? b : a;
            tp_node_log(v->n, "window %lld: uid %lld copied uid %lld (index overlap %.3f)", (long long)window,
                        (long long)g->uid[later], (long long)g->uid[later == a ? b : a], ov);
            punish_copy(v, &m[g->uid[later]], window, vd);
        }
    /* One miner's work on two uids: both are that miner, both are excluded. */
    for (int i = 0; i < w->n_shared; i++)
        for (int j = 0; j < 2; j++) punish_copy(v, &m[w->shared[i][j]], window, tp_copy_penalty_for(1.0));
    return TP_OK;
}

/* Sync score of every miner from its debug-(W−1) against this validator's own fingerprint of W−1. */
void tp_vjudge_sync(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w) {
    if (w->outage || !v->have_sync || window - 1 < v->n->start_window) return;
    for (int i = 0; i < w->g.n; i++) {
        const tp_fingerprint *fp = &w->fps[i];
        int64_t u = w->g.uid[i];
        if (!fp->samples) continue;
        int match = !memcmp(fp->hash, v->prev_hash, TP_FP_HASH_BYTES);
        double behind;
        tp_err e;
        if (tp_steps_behind(v->prev, fp->samples, v->ema, v->nsamp, match, &behind, &e)) behind = INFINITY;
        m[u].sync = tp_sync_score(behind);
        int in_gather = 0;
        for (int j = 0; j < w->pl.n_gather; j++) in_gather |= w->pl.gather[j] == u;
        if (in_gather && behind > SYNC_PENALTY_STEPS) m[u].final *= PENALTY;
        if (fp->gather_of > 0 && (double)fp->gathered < MINER_GATHER_FLOOR * fp->gather_of) m[u].final = 0;
    }
}

tp_status tp_vphase_judge(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    size_t bytes = sizeof(tp_vminer) * TP_CHAIN_MAX_UIDS;
    tp_vminer *m = tp_malloc(bytes, err);
    if (!m) return err->code;
    memcpy(m, v->m, bytes);
    tp_status st = TP_OK;
    if (window >= v->n->start_window + v->n->rc.proto.null_rounds) st = tp_vphase_evaluate(v, window, w, err);
    if (!st) st = tp_vjudge_rate(v, m, window, w, err);
    if (!st) tp_vjudge_penalties(v, m, w);
    if (!st) st = tp_vjudge_copies(v, m, window, w, err);
    if (!st) tp_vjudge_sync(v, m, window, w);
    if (!st) memcpy(v->m, m, bytes);
    free(m);
    return st;
}

/* ---------------------------------------------------------------- weights */

/* A miner earns weight only while the paying gate is open (gate.h). */
static int gate_open(const tp_validator *v, int64_t u) {
    tp_gate_params gp = tp_gate_defaults(v->n->rc.proto.gate_alpha, v->n->rc.proto.gate_horizon);
    return tp_gate_open(&gp, v->m[u].evidence);
}

static tp_status set_weights(tp_validator *v, int64_t window, const double *weights) {
    tp_node *n = v->n;
    int64_t wu[TP_CHAIN_MAX_UIDS];
    double ww[TP_CHAIN_MAX_UIDS];
    int nw = 0;
    for (int64_t u = 0; u < n->mg.n; u++)
        if (weights[u] > 0) {
            wu[nw] = u;
            ww[nw++] = weights[u];
        }
    tp_err e;
    if (nw > 0 && tp_chain_set_weights(n->chain, n->wallet.pk_hex, wu, nw, ww, nw, &e))
        tp_node_log(n, "window %lld: setting weights failed: %s", (long long)window, e.msg);
    return TP_OK;
}

tp_status tp_vphase_weights(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    const tp_protocol *p = &n->rc.proto;
    for (int64_t u = 0; u < n->mg.n; u++)
        w->finals[u] = tp_validator_is_miner(v, u) && gate_open(v, u) && v->m[u].quarantine_until <= window
                           ? v->m[u].final
                           : 0;
    tp_weight_params wp = tp_weight_defaults();
    wp.burn_uid = p->burn_uid;
    wp.burn_rate = p->burn_rate;
    wp.gather_peer_count = p->gather_peers;
    wp.reserve_peer_count = p->reserve_peers;
    tp_status st = tp_weight_schedule(&wp, w->finals, n->mg.n, w->weights, err);
    w->weights_due = (window - n->start_window) % p->weights_every == p->weights_every - 1;
    if (!st && w->weights_due) st = set_weights(v, window, w->weights);
    return st;
}
