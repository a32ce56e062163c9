#include "neuron/validator.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/wire.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/rng.h"
#include "data/sampler.h"
#include "model/checkpoint.h"
#include "neuron/overlap.h"
#include "neuron/sync_score.h"
#include "neuron/validator_state.h"
#include "neuron/weights.h"

#define PENALTY 0.75          /* missing, late or invalid upload; out of sync; inactive */
#define GATHER_FLOOR 0.4      /* below this share of the gather list delivered: an outage, or a lazy miner */
#define SYNC_PENALTY_STEPS 3  /* a gather peer further behind than this is penalised */
#define INACTIVE_RESET 3      /* windows without a valid upload before the rating resets */
#define JUDGED_EVALS 8        /* evaluations after which a miner is rated: a peer only with weight */
#define MIN_GATHER 3          /* a shorter gather list is topped up, so training goes on */

typedef struct {
    tp_node n;
    tp_vstate *db;
    tp_openskill_params os;
    tp_vminer m[TP_CHAIN_MAX_UIDS];
    float *backup;           /* θ before an evaluation */
    float *prev, *ema;       /* fingerprint samples: last window's, and their per-step EMA */
    int64_t nsamp;
    int have_sync;
    uint8_t prev_hash[TP_FP_HASH_BYTES];
    uint64_t *samples;
    int is_leader;
} validator;

double tp_sign_test_p(int64_t k, int64_t n) {
    if (n <= 0) return 1;
    double p = 0;
    for (int64_t i = k < 0 ? 0 : k; i <= n; i++)
        p += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0));
    return p > 1 ? 1 : p;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The lower median of x[0..n) (n > 0); sorts x. */
static double lower_median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return x[(n - 1) / 2];
}

static int confident(const validator *v, int64_t uid) {
    const tp_vminer *m = &v->m[uid];
    return m->n_evals > 0 && tp_sign_test_p(m->n_pos, m->n_evals) <= v->n.rc.proto.sign_alpha;
}

static uint64_t seed_of(const validator *v, const char *what, int64_t uid, int64_t window) {
    char buf[512];
    int len = snprintf(buf, sizeof buf, "%s/%s/%lld/%lld", v->n.wallet.pk_hex, what, (long long)uid, (long long)window);
    uint8_t h[8];
    crypto_generichash(h, sizeof h, (const uint8_t *)buf, (size_t)len, NULL, 0);
    uint64_t s = 0;
    for (int i = 0; i < 8; i++) s = s << 8 | h[i];
    return s;
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

static int is_miner(const validator *v, int64_t u) {
    const tp_neuron *x = &v->n.mg.neurons[u];
    return !x->validator_permit && x->store[0] && u != v->n.rc.proto.burn_uid;
}

/* ---------------------------------------------------------------- leader duties */

static tp_status publish_start(validator *v, tp_err *err) {
    tp_node *n = &v->n;
    char key[TP_KEY_MAX], *text;
    size_t len;
    int found;
    tp_node_key(n, TP_KEY_START_WINDOW, 0, 0, NULL, key, sizeof key);
    tp_status st = tp_node_get_small(n, n->uid, key, 4096, &text, &len, NULL, &found, err);
    if (st) return st;
    free(text);
    if (found) return tp_node_start_window(n, err);
    tp_chain_info info;
    if ((st = tp_chain_info_get(n->chain, &info, err))) return st;
    int64_t S = info.window + 1;
    /* Peer lists for the first two windows, before anyone is rated. */
    for (int64_t w = S; w < S + 2; w++) {
        tp_peer_list pl;
        tp_node_default_peers(n, w, &pl);
        char pk[TP_KEY_MAX];
        tp_node_key(n, TP_KEY_PEERS, w, 0, NULL, pk, sizeof pk);
        if ((st = tp_peers_to_json(&pl, &text, err))) return st;
        st = tp_node_put_text(n, pk, text, err);
        free(text);
        if (st) return st;
    }
    char js[128];
    snprintf(js, sizeof js, "{\"start_window\":%lld}", (long long)S);
    if ((st = tp_node_put_text(n, key, js, err))) return st;
    n->start_window = S;
    tp_node_log(n, "leader: the run starts at window %lld", (long long)S);
    return TP_OK;
}

static tp_status publish_aggregator(validator *v, int64_t window, const tp_window_gather *g, const int *idx, int cnt,
                                    tp_err *err) {
    tp_node *n = &v->n;
    tp_st_writer *w = tp_st_writer_new(err);
    if (!w) return TP_ERR_NOMEM;
    char names[TP_AGG_MAX_PEERS][24], win[32];
    tp_status st = TP_OK;
    for (int i = 0; !st && i < cnt; i++) {
        snprintf(names[i], sizeof names[i], "u%lld", (long long)g->uid[idx[i]]);
        int64_t shape[1] = {(int64_t)g->len[idx[i]]};
        st = tp_st_add(w, names[i], TP_DT_U8, 1, shape, g->bytes[idx[i]], err);
    }
    snprintf(win, sizeof win, "%lld", (long long)window);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!st && !(st = tp_st_set_meta(w, "format", "templar-aggregator", err)) &&
        !(st = tp_st_set_meta(w, "window", win, err)))
        st = tp_st_write_mem(w, &bytes, &len, err);
    tp_st_writer_free(w);
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_AGGREGATOR, window, 0, NULL, key, sizeof key);
    if (!st) st = tp_store_put(n->store, key, bytes, len, err);
    free(bytes);
    return st;
}

static tp_status publish_checkpoint(validator *v, int64_t window, tp_err *err) {
    tp_node *n = &v->n;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/publish-checkpoint", n->state_dir);
    tp_status st = tp_checkpoint_save(dir, n->model, NULL, NULL, NULL, NULL, 0, err);
    const char *files[] = {"model.safetensors", "config.json"};
    for (int i = 0; !st && i < 2; i++) {
        char key[TP_KEY_MAX], path[1400];
        tp_node_key(n, TP_KEY_CHECKPOINT, window, 0, files[i], key, sizeof key);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        st = tp_store_put_file(n->store, key, path, err);
    }
    if (st) return st;
    char key[TP_KEY_MAX], js[64];
    tp_node_key(n, TP_KEY_CHECKPOINT_LATEST, 0, 0, NULL, key, sizeof key);
    snprintf(js, sizeof js, "{\"window\":%lld}", (long long)window);
    if ((st = tp_node_put_text(n, key, js, err))) return st;
    /* Keep the two newest checkpoints. */
    int64_t old = window - 2 * n->rc.proto.checkpoint_frequency;
    for (int i = 0; old >= 0 && i < 2; i++) {
        tp_node_key(n, TP_KEY_CHECKPOINT, old, 0, files[i], key, sizeof key);
        tp_err e;
        tp_store_delete(n->store, key, &e);
    }
    return TP_OK;
}

/* Peers of a later window from this validator's standing (DESIGN §12.5). */
static tp_status publish_peers(validator *v, int64_t for_window, const double *weights, tp_err *err) {
    tp_node *n = &v->n;
    int64_t ranked[TP_PEERS_MAX], fill[TP_PEERS_MAX];
    int nr = 0, nf = 0;
    for (int64_t u = 0; u < n->mg.n; u++) {
        if (!is_miner(v, u) || v->m[u].quarantine_until > for_window) continue;
        if (weights[u] > 0 && nr < TP_PEERS_MAX) ranked[nr++] = u;
        else if (v->m[u].inactive == 0 && v->m[u].n_evals < JUDGED_EVALS &&
                 (v->m[u].n_evals == 0 || v->m[u].final > 0) && nf < TP_PEERS_MAX)
            fill[nf++] = u; /* not yet rated, and not rated non-positive so far */
    }
    for (int a = 1; a < nr; a++) /* by weight, best first; ties by uid */
        for (int b = a; b > 0 && weights[ranked[b - 1]] < weights[ranked[b]]; b--) {
            int64_t t = ranked[b];
            ranked[b] = ranked[b - 1];
            ranked[b - 1] = t;
        }
    /* Liveness: while fewer than MIN_GATHER miners qualify, add the active ones of best skill that
     * are not ranked below the field, so that training never stops for want of peers. */
    for (int64_t best = 0; nr + nf < MIN_GATHER && best >= 0;) {
        best = -1;
        for (int64_t u = 0; u < n->mg.n; u++) {
            int listed = 0;
            for (int i = 0; i < nr; i++) listed |= ranked[i] == u;
            for (int i = 0; i < nf; i++) listed |= fill[i] == u;
            double o = tp_rating_ordinal(v->m[u].rating);
            if (!listed && is_miner(v, u) && v->m[u].quarantine_until <= for_window && v->m[u].inactive == 0 &&
                o > 0 && (best < 0 || o > tp_rating_ordinal(v->m[best].rating)))
                best = u;
        }
        if (best >= 0) fill[nf++] = best;
    }
    tp_peer_list pl;
    tp_peers_build(for_window, ranked, nr, fill, nf, n->rc.proto.gather_peers, n->rc.proto.reserve_peers, &pl);
    char key[TP_KEY_MAX], *text;
    tp_node_key(n, TP_KEY_PEERS, for_window, 0, NULL, key, sizeof key);
    tp_status st = tp_peers_to_json(&pl, &text, err);
    if (!st) st = tp_node_put_text(n, key, text, err);
    free(text);
    return st;
}

/* ---------------------------------------------------------------- evaluation */

/* Applies one update alone with step lr, each tensor clipped to the gather's median norm. */
static tp_status apply_alone(validator *v, const tp_update *u, const double *median, double lr, tp_err *err) {
    tp_node *n = &v->n;
    const tp_layout *L = &n->model->layout;
    for (int t = 0; t < L->n_tensors; t++) {
        const tp_sparse *s = &u->t[t];
        float clip = 1;
        int bad = 0;
        const tp_sparse *one[1] = {s};
        double norm;
        tp_status st = tp_aggregate_norms(one, 1, n->rc.codec.bins, &norm, &bad, err);
        if (st) return st;
        if (median && median[t] >= 0) {
            double f = median[t] / (norm + 1e-8);
            clip = (float)(f < 1 ? f : 1);
        }
        int skipped = 0;
        if ((st = tp_outer_step_tensor(n->model->params + L->tensors[t].offset, one, 1, &n->rc.codec,
                                       (float)(lr * clip), n->ws, &skipped, err)))
            return st;
    }
    return TP_OK;
}

typedef struct {
    int64_t uid;
    double score, own_gain;
} eval_result;

static tp_status evaluate(validator *v, int64_t window, const tp_window_gather *g, const int *applied, int n_applied,
                          eval_result *res, int *n_res, tp_err *err) {
    tp_node *n = &v->n;
    const tp_protocol *p = &n->rc.proto;
    const tp_layout *L = &n->model->layout;
    int T = n->rc.cfg.model.seq_len, E = p->eval_samples;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, T);
    *n_res = 0;
    /* Median norm per tensor over the applied set (−1: none). */
    double *median = malloc(sizeof(double) * (size_t)L->n_tensors);
    double *norms = malloc(sizeof(double) * (size_t)(n_applied + 1));
    uint64_t *pool = malloc(sizeof(uint64_t) * (size_t)p->inner_steps * n->rc.cfg.train.batch_size);
    uint64_t *rand_s = malloc(sizeof(uint64_t) * (size_t)E), *own_s = malloc(sizeof(uint64_t) * (size_t)E);
    tp_status st = TP_OK;
    if (!median || !norms || !pool || !rand_s || !own_s) st = tp_fail(err, TP_ERR_NOMEM, "evaluation: out of memory");
    for (int t = 0; !st && t < L->n_tensors; t++) {
        const tp_sparse *one[TP_AGG_MAX_PEERS];
        for (int i = 0; i < n_applied; i++) one[i] = &g->payload[applied[i]].update.t[t];
        int bad = 0;
        median[t] = -1;
        if (n_applied && !(st = tp_aggregate_norms(one, n_applied, n->rc.codec.bins, norms, &bad, err)))
            median[t] = lower_median(norms, n_applied);
    }
    /* The window's random samples: the pool of a pseudo-uid no miner holds. */
    double lb_rand = 0;
    if (!st) st = tp_sample_pool_seeded(seed_of(v, "random", -1, window), ns, (uint64_t)E, rand_s, err);
    if (!st) st = tp_node_loss(n, TP_SPLIT_TRAIN, rand_s, E, &lb_rand, err);
    /* Staleness-weighted choice of up to uids_per_window miners with a valid upload. */
    int64_t cand[TP_CHAIN_MAX_UIDS];
    double wt[TP_CHAIN_MAX_UIDS];
    int nc = 0;
    for (int i = 0; !st && i < g->n; i++) {
        int64_t u = g->uid[i];
        if (!g->payload[i].valid || v->m[u].quarantine_until > window) continue;
        cand[nc] = i;
        wt[nc++] = (double)(window - (v->m[u].last_eval < 0 ? n->start_window - 1 : v->m[u].last_eval));
    }
    tp_rng r;
    tp_rng_seed(&r, seed_of(v, "choose", -1, window));
    int chosen[TP_CHAIN_MAX_UIDS], nch = 0;
    while (nc > 0 && nch < p->uids_per_window) {
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
        chosen[nch++] = (int)cand[pick];
        cand[pick] = cand[nc - 1];
        wt[pick] = wt[nc - 1];
        nc--;
    }
    tp_gather_sort_by_uid(g, chosen, nch); /* evaluate in uid order: the same on every machine */
    size_t bytes = L->total * sizeof(float);
    double lr = p->outer_lr * p->eval_lr_factor;
    for (int c = 0; !st && c < nch; c++) {
        int i = chosen[c];
        int64_t u = g->uid[i];
        double lb_own, la_own, la_rand;
        /* Own samples: drawn from those the miner trained on this window (positions in its pool,
         * then the samples at them). */
        uint64_t cnt = (uint64_t)p->inner_steps * n->rc.cfg.train.batch_size;
        int e = E < (int)cnt ? E : (int)cnt;
        if (!(st = tp_sample_pool((uint32_t)u, (uint64_t)window, ns, cnt, pool, err)) &&
            !(st = tp_sample_pool_seeded(seed_of(v, "own", u, window), cnt, (uint64_t)e, own_s, err))) {
            for (int k = 0; k < e; k++) own_s[k] = pool[own_s[k]];
            memcpy(v->backup, n->model->params, bytes);
            if (!(st = tp_node_loss(n, TP_SPLIT_TRAIN, own_s, e, &lb_own, err)) &&
                !(st = apply_alone(v, &g->payload[i].update, median, lr, err)) &&
                !(st = tp_node_loss(n, TP_SPLIT_TRAIN, own_s, e, &la_own, err)))
                st = tp_node_loss(n, TP_SPLIT_TRAIN, rand_s, E, &la_rand, err);
            memcpy(n->model->params, v->backup, bytes);
            if (!st) {
                eval_result *x = &res[(*n_res)++];
                x->uid = u;
                x->score = lb_rand > 0 ? (lb_rand - la_rand) / lb_rand : 0;
                x->own_gain = lb_own > 0 ? (lb_own - la_own) / lb_own : 0;
                if (!isfinite(x->score)) x->score = -1;
                if (!isfinite(x->own_gain)) x->own_gain = -1;
            }
        }
    }
    free(median);
    free(norms);
    free(pool);
    free(rand_s);
    free(own_s);
    return st;
}

/* ---------------------------------------------------------------- one window */

static tp_status heldout(validator *v, double *loss, tp_err *err) {
    tp_node *n = &v->n;
    int T = n->rc.cfg.model.seq_len, cnt = n->rc.proto.heldout_batches * n->rc.cfg.train.batch_size;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_VAL, T);
    if (cnt > (int)ns) cnt = (int)ns;
    for (int i = 0; i < cnt; i++) v->samples[i] = (uint64_t)i * ns / (uint64_t)cnt;
    return tp_node_loss(n, TP_SPLIT_VAL, v->samples, cnt, loss, err);
}

static double final_of(const validator *v, int64_t u) {
    const tp_vminer *m = &v->m[u];
    return tp_final_score(m->rating, m->binary_ma, m->sync);
}

/* Sync score of every miner from its debug-(W−1) against this validator's own fingerprint of W−1. */
static void measure_sync(validator *v, int64_t window, const tp_window_gather *g, const tp_peer_list *pl) {
    tp_node *n = &v->n;
    if (!v->have_sync || window - 1 < n->start_window) return;
    for (int i = 0; i < g->n; i++) {
        int64_t u = g->uid[i];
        char key[TP_KEY_MAX], *text;
        size_t len;
        int found;
        tp_err e;
        tp_node_key(n, TP_KEY_DEBUG, window - 1, u, NULL, key, sizeof key);
        if (tp_node_get_small(n, u, key, tp_fingerprint_max_json(&n->model->layout), &text, &len, NULL, &found, &e) ||
            !found)
            continue;
        tp_fingerprint fp;
        double behind = INFINITY;
        if (!tp_fingerprint_parse(text, len, &n->model->layout, &fp, &e) && fp.window == (uint64_t)(window - 1) &&
            fp.uid == (uint32_t)u) {
            int match = !memcmp(fp.hash, v->prev_hash, TP_FP_HASH_BYTES);
            if (tp_steps_behind(v->prev, fp.samples, v->ema, v->nsamp, match, &behind, &e)) behind = INFINITY;
            v->m[u].sync = tp_sync_score(behind);
            int in_gather = 0;
            for (int j = 0; j < pl->n_gather; j++) in_gather |= pl->gather[j] == u;
            if (in_gather && behind > SYNC_PENALTY_STEPS) v->m[u].final *= PENALTY;
            if (fp.gather_of > 0 && (double)fp.gathered < GATHER_FLOOR * fp.gather_of) v->m[u].final = 0;
        }
        tp_fingerprint_free(&fp);
        free(text);
    }
}

static tp_status process_window(validator *v, int64_t window, tp_err *err) {
    tp_node *n = &v->n;
    const tp_protocol *p = &n->rc.proto;
    tp_status st = tp_node_await_block(n, tp_node_put_close_block(n, window), err);
    if (st || (st = tp_node_adopt_peers(n, window, err))) return st;
    tp_peer_list pl = n->peers;
    /* Every active miner's upload: the peer list's for the outer step, all of them for evaluation. */
    int64_t uids[TP_CHAIN_MAX_UIDS];
    int cnt = 0;
    for (int64_t u = 0; u < n->mg.n; u++)
        if (is_miner(v, u)) uids[cnt++] = u;
    tp_window_gather g;
    if ((st = tp_node_gather(n, window, uids, cnt, &g, err))) return st;
    int applied[TP_AGG_MAX_PEERS];
    int n_applied = tp_node_select_applied(n, &pl, &g, applied);
    int gather_of = pl.n_gather < p->gather_peers ? pl.n_gather : p->gather_peers;
    int delivered = 0;
    for (int j = 0; j < pl.n_gather; j++) {
        int i = tp_gather_find(&g, pl.gather[j]);
        delivered += i >= 0 && g.payload[i].valid;
    }
    int outage = pl.n_gather > 0 && delivered < GATHER_FLOOR * pl.n_gather;
    if (outage)
        tp_node_log(n, "window %lld: only %d of %d gather peers delivered: treating it as a storage outage, no penalties",
                    (long long)window, delivered, pl.n_gather);

    /* Gauntlet evaluation on θ before the step, then ratings. */
    eval_result *res = calloc((size_t)g.n + 1, sizeof *res);
    int n_res = 0;
    if (!res) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st && window >= n->start_window + p->null_rounds)
        st = evaluate(v, window, &g, applied, n_applied, res, &n_res, err);
    json_t *evaluated = json_array(), *scores = json_object();
    if (!st && n_res > 0) {
        tp_rating *rt = malloc(sizeof *rt * (size_t)n_res);
        double *sc = malloc(sizeof *sc * (size_t)n_res);
        if (!rt || !sc) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        for (int i = 0; !st && i < n_res; i++) {
            tp_vminer *m = &v->m[res[i].uid];
            rt[i] = m->rating;
            sc[i] = res[i].score;
            int ind = res[i].own_gain > res[i].score ? 1 : -1;
            m->binary_ma = 0.95 * m->binary_ma + 0.05 * ind;
            m->n_evals++;
            m->n_pos += ind > 0;
            m->last_eval = window;
            json_array_append_new(evaluated, json_integer(res[i].uid));
            char k[24];
            snprintf(k, sizeof k, "%lld", (long long)res[i].uid);
            json_object_set_new(scores, k, json_pack("[f f]", res[i].score, res[i].own_gain));
        }
        /* Positive scores are compared at the resolution of the window's median positive score:
         * finer differences between miners are evaluation noise, so those miners tie (share a
         * rank). Harm (a negative score) always ranks below. */
        double pos[TP_CHAIN_MAX_UIDS], q = 0;
        int np = 0;
        for (int i = 0; !st && i < n_res; i++)
            if (sc[i] > 0) pos[np++] = sc[i];
        if (np) q = lower_median(pos, np);
        for (int i = 0; !st && q > 0 && i < n_res; i++) sc[i] = sc[i] > 0 ? round(sc[i] / q) : sc[i] / q;
        if (!st && !(st = tp_openskill_rate(&v->os, rt, sc, n_res, err)))
            for (int i = 0; i < n_res; i++) {
                v->m[res[i].uid].rating = rt[i];
                v->m[res[i].uid].final = final_of(v, res[i].uid);
            }
        free(rt);
        free(sc);
    }
    free(res);

    /* The outer step, as every honest node takes it. */
    if (!st) st = tp_node_outer_step(n, &g, applied, n_applied, err);

    /* Penalties (none in an outage: nobody could deliver). */
    if (!st && !outage) {
        for (int j = 0; j < pl.n_gather; j++) {
            int i = tp_gather_find(&g, pl.gather[j]);
            if (i < 0 || !g.payload[i].valid) v->m[pl.gather[j]].final *= PENALTY;
        }
        for (int i = 0; i < g.n; i++) {
            tp_vminer *m = &v->m[g.uid[i]];
            if (g.payload[i].valid) {
                m->inactive = 0;
                continue;
            }
            m->final *= PENALTY;
            if (++m->inactive >= INACTIVE_RESET) {
                int64_t q = m->quarantine_until, inactive = m->inactive;
                tp_vminer_reset(m, &v->os);
                m->quarantine_until = q;
                m->inactive = inactive;
            }
        }
        /* Copying: the later uploader of an overlapping pair (this window's upload times). Null
         * rounds carry no information (every message is zero), so they are not judged. */
        int judged = window >= n->start_window + p->null_rounds;
        for (int a = 0; judged && a < g.n; a++)
            for (int b = a + 1; b < g.n; b++) {
                if (!g.payload[a].valid || !g.payload[b].valid || all_zero(&g.payload[a].update, n->rc.codec.bins) ||
                    all_zero(&g.payload[b].update, n->rc.codec.bins))
                    continue;
                double ov;
                tp_err e;
                if (tp_index_overlap(&g.payload[a].update, &g.payload[b].update, &ov, &e)) continue;
                tp_copy_verdict vd = tp_copy_penalty_for(ov);
                if (vd.kind == TP_COPY_NONE) continue;
                int later = g.mtime[b] > g.mtime[a] || (g.mtime[b] == g.mtime[a] && g.uid[b] > g.uid[a]) ? b : a;
                int64_t u = g.uid[later];
                tp_vminer *m = &v->m[u];
                tp_node_log(n, "window %lld: uid %lld copied uid %lld (index overlap %.3f)", (long long)window,
                            (long long)u, (long long)g.uid[later == a ? b : a], ov);
                if (vd.kind == TP_COPY_HALVE) m->final *= 0.5;
                else {
                    int64_t q = m->quarantine_until;
                    tp_vminer_reset(m, &v->os);
                    m->quarantine_until = vd.kind == TP_COPY_EXCLUDE ? window + vd.exclude_windows : q;
                }
            }
        measure_sync(v, window, &g, &pl);
    }

    /* Own fingerprint (debug-W) and the sync reference for the next window. */
    tp_fingerprint fp = {0};
    char hex[2 * TP_FP_HASH_BYTES + 1] = "";
    tp_err e;
    tp_status pst = st ? st : tp_node_publish_debug(n, window, n_applied, gather_of, &fp, &e);
    if (!st && pst && fp.samples)
        tp_node_log(n, "window %lld: debug fingerprint not published: %s", (long long)window, e.msg);
    else if (!st && pst)
        st = tp_fail(err, pst, "%s", e.msg);
    if (!st && fp.samples) {
        tp_sync_ema_update(v->ema, v->prev, fp.samples, v->nsamp, !v->have_sync, &e);
        memcpy(v->prev, fp.samples, sizeof(float) * (size_t)v->nsamp);
        memcpy(v->prev_hash, fp.hash, TP_FP_HASH_BYTES);
        v->have_sync = 1;
        tp_hex(fp.hash, TP_FP_HASH_BYTES, hex);
    }
    tp_fingerprint_free(&fp);
    double hl = NAN;
    if (!st && p->heldout_batches > 0) st = heldout(v, &hl, err);

    /* Weights every few windows; a miner earns weight only with a confident own-data advantage. */
    double *finals = calloc((size_t)n->mg.n + 1, sizeof *finals), *weights = calloc((size_t)n->mg.n + 1, sizeof *weights);
    json_t *finals_js = json_object(), *weights_js = NULL;
    if (!finals || !weights) st = st ? st : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (int64_t u = 0; !st && u < n->mg.n; u++) {
        finals[u] = is_miner(v, u) && confident(v, u) && v->m[u].quarantine_until <= window ? v->m[u].final : 0;
        if (is_miner(v, u) && v->m[u].n_evals > 0) {
            char k[24];
            snprintf(k, sizeof k, "%lld", (long long)u);
            json_object_set_new(finals_js, k, json_real(v->m[u].final));
        }
    }
    tp_weight_params wp = tp_weight_defaults();
    wp.burn_uid = p->burn_uid;
    wp.burn_rate = p->burn_rate;
    wp.gather_peer_count = p->gather_peers;
    wp.reserve_peer_count = p->reserve_peers;
    if (!st) st = tp_weight_schedule(&wp, finals, n->mg.n, weights, err);
    if (!st && (window - n->start_window) % p->weights_every == p->weights_every - 1) {
        int64_t wu[TP_CHAIN_MAX_UIDS];
        double ww[TP_CHAIN_MAX_UIDS];
        int nw = 0;
        weights_js = json_object();
        for (int64_t u = 0; u < n->mg.n; u++)
            if (weights[u] > 0) {
                wu[nw] = u;
                ww[nw++] = weights[u];
                char k[24];
                snprintf(k, sizeof k, "%lld", (long long)u);
                json_object_set_new(weights_js, k, json_real(weights[u]));
            }
        if (nw > 0 && tp_chain_set_weights(n->chain, n->wallet.pk_hex, wu, nw, ww, nw, &e))
            tp_node_log(n, "window %lld: setting weights failed: %s", (long long)window, e.msg);
    }

    /* Leader duties. */
    if (!st && v->is_leader) {
        if (publish_aggregator(v, window, &g, applied, n_applied, &e))
            tp_node_log(n, "window %lld: aggregator not published: %s", (long long)window, e.msg);
        if (publish_peers(v, window + 2, weights, &e))
            tp_node_log(n, "window %lld: peer list not published: %s", (long long)window, e.msg);
        if ((window - n->start_window + 1) % p->checkpoint_frequency == 0 && publish_checkpoint(v, window, &e))
            tp_node_log(n, "window %lld: checkpoint not published: %s", (long long)window, e.msg);
    }
    tp_window_gather_free(&g);
    free(finals);
    free(weights);

    /* State: model first, then the ratings naming it. */
    if (!st) st = tp_node_save_state(n, window, NULL, NULL, err);
    if (!st) st = tp_vstate_save(v->db, window, v->m, n->mg.n, v->prev, v->ema, v->nsamp, v->have_sync, err);
    if (!st) tp_node_retention(n, window);
    json_t *gl = json_array(), *rl = json_array();
    for (int j = 0; j < pl.n_gather; j++) json_array_append_new(gl, json_integer(pl.gather[j]));
    for (int j = 0; j < pl.n_reserve; j++) json_array_append_new(rl, json_integer(pl.reserve[j]));
    json_t *success = gather_of > 0 ? json_real((double)n_applied / gather_of) : json_null();
    if (!st) {
        tp_node_log(n, "window %lld: held-out loss %.4f, gathered %d/%d, evaluated %zu", (long long)window, hl,
                    n_applied, gather_of, json_array_size(evaluated));
        json_t *rec = json_pack("{ss sI sI sI sb so ss si si so so so so s{soso}}", "role", "validator", "uid",
                                (json_int_t)n->uid, "window", (json_int_t)window, "start_window",
                                (json_int_t)n->start_window, "leader", v->is_leader, "heldout_loss",
                                isfinite(hl) ? json_real(hl) : json_null(), "fingerprint", hex, "gathered", n_applied,
                                "gather_of", gather_of, "gather_success", success, "evaluated", evaluated, "scores", scores, "finals",
                                finals_js, "peers", "gather", gl, "reserve", rl);
        if (rec && weights_js) json_object_set_new(rec, "weights", weights_js);
        st = rec ? tp_node_metrics(n, rec, err) : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    } else {
        json_decref(evaluated);
        json_decref(scores);
        json_decref(finals_js);
        json_decref(weights_js);
        json_decref(gl);
        json_decref(rl);
        json_decref(success);
    }
    return st;
}

/* θ of the last processed window (the initial model before the first); *next is the window to
 * process next. */
static tp_status restore(validator *v, int64_t last, int64_t *next, tp_err *err) {
    tp_node *n = &v->n;
    *next = n->start_window;
    if (last < 0) {
        tp_llama_init_random(n->model, n->rc.cfg.train.seed, n->rc.cfg.train.init_std);
        return TP_OK;
    }
    int64_t w = last;
    tp_status st = tp_node_load_state(n, &w, NULL, NULL, err);
    if (st) return st;
    if (w != last)
        return tp_fail(err, TP_ERR_IO, "validator state names window %lld but its model is missing", (long long)last);
    *next = last + 1;
    tp_node_log(n, "resuming after window %lld with the saved ratings", (long long)last);
    return TP_OK;
}

tp_status tp_validator_run(const tp_node_opts *o, tp_err *err) {
    validator *v = calloc(1, sizeof *v); /* large (per-uid state): not on the stack */
    if (!v) return tp_fail(err, TP_ERR_NOMEM, "validator: out of memory");
    tp_run_config rc;
    tp_status st = tp_run_config_load(o->config, &rc, err);
    if (st) {
        free(v);
        return st;
    }
    tp_node_opts no = *o;
    no.with_grads = 0;
    no.batch = rc.cfg.train.batch_size > rc.proto.eval_samples ? rc.cfg.train.batch_size : rc.proto.eval_samples;
    v->os = tp_openskill_defaults();
    for (int i = 0; i < TP_CHAIN_MAX_UIDS; i++) tp_vminer_reset(&v->m[i], &v->os);
    if ((st = tp_node_open(&v->n, &no, &rc, err))) goto done;
    tp_node *n = &v->n;
    v->nsamp = (int64_t)n->model->layout.n_tensors * TP_FP_SAMPLES;
    v->backup = malloc(n->model->layout.total * sizeof(float));
    v->prev = calloc((size_t)v->nsamp * 2, sizeof(float));
    v->samples = malloc(sizeof(uint64_t) * ((size_t)rc.proto.heldout_batches * rc.cfg.train.batch_size + 1));
    if (!v->backup || !v->prev || !v->samples) {
        st = tp_fail(err, TP_ERR_NOMEM, "validator: out of memory");
        goto done;
    }
    v->ema = v->prev + v->nsamp;
    char path[1200];
    snprintf(path, sizeof path, "%s/validator.db", n->state_dir);
    int64_t last = -1;
    if ((st = tp_vstate_open(path, &v->db, err)) ||
        (st = tp_vstate_load(v->db, &last, v->m, TP_CHAIN_MAX_UIDS, v->prev, v->ema, v->nsamp, &v->have_sync, err)))
        goto done;
    v->is_leader = n->leader == n->uid;
    if ((st = v->is_leader ? publish_start(v, err) : tp_node_start_window(n, err))) goto done;
    int64_t next;
    if ((st = restore(v, last, &next, err))) goto done;
    tp_node_log(n, "validator%s processing from window %lld", v->is_leader ? " (leader)" : "", (long long)next);
    while (!st) {
        st = process_window(v, next, err);
        if (!st) next++;
        else if (st == TP_ERR_IO) {
            /* Storage or chain trouble: report it, go back to the last saved state and try again. */
            tp_node_log(n, "window %lld: %s; retrying from the saved state", (long long)next, err->msg);
            tp_sleep(1);
            for (int i = 0; i < TP_CHAIN_MAX_UIDS; i++) tp_vminer_reset(&v->m[i], &v->os);
            if (!(st = tp_vstate_load(v->db, &last, v->m, TP_CHAIN_MAX_UIDS, v->prev, v->ema, v->nsamp, &v->have_sync, err)))
                st = restore(v, last, &next, err);
        }
    }
done:
    tp_vstate_close(v->db);
    free(v->backup);
    free(v->prev);
    free(v->samples);
    tp_node_close(&v->n);
    free(v);
    return st;
}
