#include "neuron/validator.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/hex.h"
#include "core/json.h"
#include "neuron/sync_score.h"
#include "neuron/validator_phases.h"

#define OUTAGE_FLOOR 0.4 /* below this share of the gather list delivered: a storage outage */

/* ---------------------------------------------------------------- the window record */

tp_status tp_vwindow_alloc(tp_vwindow *w, int64_t n_uids, tp_err *err) {
    size_t cap = (size_t)w->g.n + 1;
    if (!(w->fps = tp_calloc(cap, sizeof *w->fps, err)) || !(w->res = tp_calloc(cap, sizeof *w->res, err)) ||
        !(w->finals = tp_calloc((size_t)n_uids + 1, sizeof *w->finals, err)) ||
        !(w->weights = tp_calloc((size_t)n_uids + 1, sizeof *w->weights, err)))
        return err->code;
    return TP_OK;
}

void tp_vwindow_free(tp_vwindow *w) {
    for (int i = 0; w->fps && i < w->g.n; i++) tp_fingerprint_free(&w->fps[i]);
    tp_window_gather_free(&w->g);
    free(w->fps);
    free(w->res);
    free(w->finals);
    free(w->weights);
    free(w->rand_s);
    free(w->eval_own);
    free(w->lb_rand);
    free(w->eval_lb_own);
    free(w->eval_la_rand);
    memset(w, 0, sizeof *w);
}

/* ---------------------------------------------------------------- gather */

/* Each gathered miner's debug-(W−1), for the sync score; a missing or malformed one stays empty. */
static void fetch_fingerprints(tp_validator *v, int64_t window, tp_vwindow *w) {
    tp_node *n = v->n;
    for (int i = 0; i < w->g.n && window - 1 >= n->start_window; i++) {
        int64_t u = w->g.uid[i];
        char key[TP_KEY_MAX], *text;
        size_t len;
        int found;
        tp_err e;
        tp_node_key(n, TP_KEY_DEBUG, window - 1, u, NULL, key, sizeof key);
        if (tp_node_get_small(n, u, key, tp_fingerprint_max_json(&n->model->layout), &text, &len, NULL, &found, &e) ||
            !found)
            continue;
        tp_fingerprint *fp = &w->fps[i];
        if (tp_fingerprint_parse(text, len, &n->model->layout, fp, &e) || fp->window != (uint64_t)(window - 1) ||
            fp->uid != (uint32_t)u)
            tp_fingerprint_free(fp);
        free(text);
    }
}

tp_status tp_vphase_gather(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    tp_status st = tp_node_await_block(n, tp_node_put_close_block(n, window), err);
    if (st || (st = tp_node_adopt_peers(n, window, err))) return st;
    w->pl = n->peers;
    /* Every active miner's upload: the peer list's for the outer step, all of them for evaluation. */
    int64_t uids[TP_CHAIN_MAX_UIDS];
    int cnt = 0;
    for (int64_t u = 0; u < n->mg.n; u++)
        if (tp_validator_is_miner(v, u)) uids[cnt++] = u;
    if ((st = tp_node_gather(n, window, uids, cnt, &w->g, err)) || (st = tp_vwindow_alloc(w, n->mg.n, err))) return st;
    w->n_applied = tp_node_select_applied(n, &w->pl, &w->g, w->applied);
    w->gather_of = tp_node_gather_of(n, &w->pl);
    int delivered = 0;
    for (int j = 0; j < w->pl.n_gather; j++) {
        int i = tp_gather_find(&w->g, w->pl.gather[j]);
        delivered += i >= 0 && w->g.payload[i].valid;
    }
    w->outage = w->pl.n_gather > 0 && delivered < OUTAGE_FLOOR * w->pl.n_gather;
    if (w->outage)
        tp_node_log(n, "window %lld: only %d of %d gather peers delivered: treating it as a storage outage, no penalties",
                    (long long)window, delivered, w->pl.n_gather);
    if (!w->outage) fetch_fingerprints(v, window, w); /* an outage judges no sync */
    return TP_OK;
}

/* ---------------------------------------------------------------- own fingerprint */

tp_status tp_vphase_fingerprint(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err) {
    tp_fingerprint fp;
    tp_status st = tp_node_publish_debug(v->n, window, w->n_applied, w->gather_of, &fp, err);
    tp_err e;
    if (!st && !tp_sync_ema_update(v->ema, v->prev, fp.samples, v->nsamp, !v->have_sync, &e)) {
        memcpy(v->prev, fp.samples, sizeof(float) * (size_t)v->nsamp);
        memcpy(v->prev_hash, fp.hash, TP_FP_HASH_BYTES);
        v->have_sync = 1;
    }
    if (!st) tp_hex(fp.hash, TP_FP_HASH_BYTES, w->fingerprint);
    tp_fingerprint_free(&fp);
    return st;
}

/* ---------------------------------------------------------------- record */

static json_t *uid_key_object(void) { return json_object(); }

static void set_uid(json_t *obj, int64_t uid, json_t *value) {
    char k[24];
    snprintf(k, sizeof k, "%lld", (long long)uid);
    json_object_set_new(obj, k, value);
}

/* The metrics line of a window. */
static json_t *window_record(tp_validator *v, int64_t window, const tp_vwindow *w) {
    tp_node *n = v->n;
    json_t *evaluated = json_array(), *scores = uid_key_object(), *finals = uid_key_object(), *weights = NULL;
    for (int i = 0; i < w->n_res; i++) {
        json_array_append_new(evaluated, json_integer(w->res[i].uid));
        set_uid(scores, w->res[i].uid,
                json_pack("[f f f f]", w->res[i].score, w->res[i].own_gain, w->res[i].z, v->m[w->res[i].uid].evidence));
    }
    for (int64_t u = 0; u < n->mg.n; u++)
        if (tp_validator_is_miner(v, u) && v->m[u].n_evals > 0) set_uid(finals, u, json_real(v->m[u].final));
    if (w->weights_due) {
        weights = uid_key_object();
        for (int64_t u = 0; u < n->mg.n; u++)
            if (w->weights[u] > 0) set_uid(weights, u, json_real(w->weights[u]));
    }
    json_t *rec = json_pack(
        "{ss sI sI sI sb so ss si si so so so so s{soso}}", "role", "validator", "uid", (json_int_t)n->uid, "window",
        (json_int_t)window, "start_window", (json_int_t)n->start_window, "leader", v->is_leader, "heldout_loss",
        isfinite(w->heldout_loss) ? json_real(w->heldout_loss) : json_null(), "fingerprint", w->fingerprint,
        "gathered", w->n_applied, "gather_of", w->gather_of, "gather_success",
        w->gather_of > 0 ? json_real((double)w->n_applied / w->gather_of) : json_null(), "evaluated", evaluated,
        "scores", scores, "finals", finals, "peers", "gather", tp_json_int_array(w->pl.gather, (size_t)w->pl.n_gather), "reserve",
        tp_json_int_array(w->pl.reserve, (size_t)w->pl.n_reserve));
    if (rec && weights) json_object_set_new(rec, "weights", weights);
    else json_decref(weights);
    return rec;
}

tp_status tp_vphase_record(tp_validator *v, int64_t window, const tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    /* The model first, then the ratings naming it. */
    tp_status st = tp_node_save_state(n, window, NULL, NULL, err);
    if (!st && v->db)
        st = tp_vstate_save(v->db, window, v->m, n->mg.n, v->prev, v->ema, v->nsamp, v->have_sync, err);
    if (st) return st;
    tp_node_retention(n, window);
    tp_node_log(n, "window %lld: held-out loss %.4f, gathered %d/%d, evaluated %d", (long long)window,
                w->heldout_loss, w->n_applied, w->gather_of, w->n_res);
    return tp_node_metrics(n, window_record(v, window, w), err);
}

/* ---------------------------------------------------------------- one window */

static tp_status process_window(void *ctx, int64_t window, tp_err *err) {
    tp_validator *v = ctx;
    tp_vwindow w = {.heldout_loss = NAN};
    tp_status st = tp_vphase_gather(v, window, &w, err);
    if (!st) st = tp_vphase_judge(v, window, &w, err); /* on θ before the step */
    if (!st) st = tp_node_outer_step(v->n, &w.g, w.applied, w.n_applied, err);
    if (!st) st = tp_vphase_fingerprint(v, window, &w, err);
    if (!st) st = tp_vphase_heldout(v, &w, err);
    if (!st) st = tp_vphase_weights(v, window, &w, err);
    if (!st) tp_vphase_leader(v, window, &w);
    if (!st) st = tp_vphase_record(v, window, &w, err);
    tp_vwindow_free(&w);
    return st;
}

/* ---------------------------------------------------------------- start and recovery */

/* Ratings, sync reference and θ of the last processed window (the initial model before the first);
 * *next is the window to process next. */
static tp_status recover(void *ctx, int64_t *next, tp_err *err) {
    tp_validator *v = ctx;
    tp_node *n = v->n;
    int64_t last = -1;
    for (int i = 0; i < TP_CHAIN_MAX_UIDS; i++) tp_vminer_reset(&v->m[i], &v->os);
    tp_status st = tp_vstate_load(v->db, &last, v->m, TP_CHAIN_MAX_UIDS, v->prev, v->ema, v->nsamp, &v->have_sync, err);
    if (st) return st;
    *next = n->start_window;
    if (last < 0) {
        tp_llama_init_random(n->model, n->rc.cfg.train.seed, n->rc.cfg.train.init_std);
        return TP_OK;
    }
    int64_t w = last;
    if ((st = tp_node_load_state(n, &w, NULL, NULL, err))) return st;
    if (w != last)
        return tp_fail(err, TP_ERR_IO, "validator state names window %lld but its model is missing", (long long)last);
    *next = last + 1;
    tp_node_log(n, "resuming after window %lld with the saved ratings", (long long)last);
    return TP_OK;
}

static tp_status validator_open(tp_validator *v, const tp_node_opts *o, tp_err *err) {
    memset(v, 0, sizeof *v);
    tp_run_config rc;
    tp_status st = tp_run_config_load(o->config, &rc, err);
    if (st) return st;
    int batch = rc.cfg.train.batch_size > rc.proto.eval_samples ? rc.cfg.train.batch_size : rc.proto.eval_samples;
    v->os = tp_openskill_defaults();
    if (!(v->m = tp_calloc(TP_CHAIN_MAX_UIDS, sizeof *v->m, err)) || (st = tp_node_open(o, &rc, 0, batch, &v->n, err)))
        return st ? st : err->code;
    const tp_layout *L = &v->n->model->layout;
    v->nsamp = (int64_t)L->n_tensors * TP_FP_SAMPLES;
    if (!(v->backup = tp_malloc(L->total * sizeof(float), err)) ||
        !(v->prev = tp_calloc((size_t)v->nsamp * 2, sizeof(float), err)))
        return err->code;
    v->ema = v->prev + v->nsamp;
    char path[1200];
    snprintf(path, sizeof path, "%s/validator.db", v->n->state_dir);
    return tp_vstate_open(path, &v->db, err);
}

static void validator_close(tp_validator *v) {
    tp_vstate_close(v->db);
    free(v->backup);
    free(v->prev);
    free(v->m);
    tp_node_close(v->n);
}

tp_status tp_validator_run(const tp_node_opts *o, tp_err *err) {
    tp_validator v;
    int64_t next = -1;
    tp_status st = validator_open(&v, o, err);
    if (!st) {
        v.is_leader = v.n->leader == v.n->uid;
        st = v.is_leader ? tp_validator_publish_start(&v, err) : tp_node_start_window(v.n, err);
    }
    if (!st) st = recover(&v, &next, err);
    if (!st) {
        tp_node_log(v.n, "validator%s processing from window %lld", v.is_leader ? " (leader)" : "", (long long)next);
        tp_window_runner r = {.window = process_window, .recover = recover, .ctx = &v};
        st = tp_node_run_windows(v.n, &r, next, err);
    }
    validator_close(&v);
    return st;
}
