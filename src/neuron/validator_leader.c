/* The leader validator's duties (DESIGN §12.6): the start window, the peer lists, aggregator-W (the
 * updates it applied, for catching-up nodes) and checkpoints. */
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "core/sort.h"
#include "model/checkpoint.h"
#include "neuron/validator_phases.h"

#define JUDGED_EVALS 8 /* evaluations after which a miner is rated */
#define MIN_GATHER 3   /* a shorter gather list is topped up, so training goes on */
#define FIRST_LISTS 2  /* peer lists the leader publishes with the start window, before anyone is rated */
#define CHECKPOINTS_KEPT 2
#define PEERS_AHEAD 2  /* peers-W is published during W−2, so it is there before W opens */

static tp_status put_peer_list(tp_validator *v, const tp_peer_list *pl, tp_err *err) {
    char key[TP_KEY_MAX], *text;
    tp_node_key(v->n, TP_KEY_PEERS, pl->window, 0, NULL, key, sizeof key);
    tp_status st = tp_peers_to_json(pl, &text, err);
    if (!st) st = tp_node_put_text(v->n, key, text, err);
    free(text);
    return st;
}

tp_status tp_validator_publish_start(tp_validator *v, tp_err *err) {
    tp_node *n = v->n;
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_START_WINDOW, 0, 0, NULL, key, sizeof key);
    int64_t have;
    tp_status st = tp_node_get_index(n, n->uid, key, "start_window", &have, err);
    if (st) return st;
    if (have >= 0) return tp_node_start_window(n, err);
    tp_chain_info info;
    if ((st = tp_chain_info_get(n->chain, &info, err))) return st;
    int64_t S = info.window + 1;
    for (int64_t w = S; w < S + FIRST_LISTS; w++) {
        tp_peer_list pl;
        tp_node_default_peers(n, w, &pl);
        if ((st = put_peer_list(v, &pl, err))) return st;
    }
    char js[128];
    snprintf(js, sizeof js, "{\"start_window\":%lld}", (long long)S);
    if ((st = tp_node_put_text(n, key, js, err))) return st;
    n->start_window = S;
    tp_node_log(n, "leader: the run starts at window %lld", (long long)S);
    return TP_OK;
}

static tp_status publish_aggregator(tp_validator *v, int64_t window, const tp_vwindow *w, tp_err *err) {
    tp_node *n = v->n;
    const tp_window_gather *g = &w->g;
    tp_st_writer *sw = tp_st_writer_new(err);
    if (!sw) return err->code;
    char names[TP_AGG_MAX_PEERS][24], win[32];
    tp_status st = TP_OK;
    for (int i = 0; !st && i < w->n_applied; i++) {
        int j = w->applied[i];
        snprintf(names[i], sizeof names[i], "u%lld", (long long)g->uid[j]);
        int64_t shape[1] = {(int64_t)g->len[j]};
        st = tp_st_add(sw, names[i], TP_DT_U8, 1, shape, g->bytes[j], err);
    }
    snprintf(win, sizeof win, "%lld", (long long)window);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!st && !(st = tp_st_set_meta(sw, "format", "templar-aggregator", err)) &&
        !(st = tp_st_set_meta(sw, "window", win, err)))
        st = tp_st_write_mem(sw, &bytes, &len, err);
    tp_st_writer_free(sw);
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_AGGREGATOR, window, 0, NULL, key, sizeof key);
    if (!st) st = tp_store_put(n->store, key, bytes, len, err);
    free(bytes);
    return st;
}

static tp_status publish_checkpoint(tp_validator *v, int64_t window, tp_err *err) {
    tp_node *n = v->n;
    static const char *const files[] = {"model.safetensors", "config.json", TP_OUTER_MOMENTUM_FILE};
    const int n_files = n->outer_m ? 3 : 2;
    char dir[1200], key[TP_KEY_MAX], path[1400], js[64];
    snprintf(dir, sizeof dir, "%s/publish-checkpoint", n->state_dir);
    tp_status st = tp_checkpoint_save(dir, n->model, NULL, NULL, NULL, NULL, 0, err);
    if (!st) st = tp_node_save_outer_momentum(n, dir, err);
    for (int i = 0; !st && i < n_files; i++) {
        tp_node_key(n, TP_KEY_CHECKPOINT, window, 0, files[i], key, sizeof key);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        st = tp_store_put_file(n->store, key, path, err);
    }
    tp_node_key(n, TP_KEY_CHECKPOINT_LATEST, 0, 0, NULL, key, sizeof key);
    snprintf(js, sizeof js, "{\"window\":%lld}", (long long)window);
    if (st || (st = tp_node_put_text(n, key, js, err))) return st;
    int64_t old = window - CHECKPOINTS_KEPT * n->rc.proto.checkpoint_frequency;
    for (int i = 0; old >= 0 && i < n_files; i++) {
        tp_node_key(n, TP_KEY_CHECKPOINT, old, 0, files[i], key, sizeof key);
        tp_err e;
        if (tp_store_delete(n->store, key, &e)) tp_node_log(n, "removing an old checkpoint: %s", e.msg);
    }
    return TP_OK;
}

/* Orders uids by weight, best first (ctx: the weights); ties keep uid order. */
static int by_weight(const void *a, const void *b, void *ctx) {
    const double *w = ctx;
    double x = w[*(const int64_t *)a], y = w[*(const int64_t *)b];
    return (x < y) - (x > y);
}

/* Liveness: while fewer than MIN_GATHER miners qualify, adds the active ones of best skill that are
 * not ranked below the field, so that training never stops for want of peers. */
static void top_up(tp_validator *v, int64_t for_window, const int64_t *ranked, int nr, int64_t *fill, int *nf) {
    for (int64_t best = 0; nr + *nf < MIN_GATHER && best >= 0;) {
        best = -1;
        for (int64_t u = 0; u < v->n->mg.n; u++) {
            int listed = 0;
            for (int i = 0; i < nr; i++) listed |= ranked[i] == u;
            for (int i = 0; i < *nf; i++) listed |= fill[i] == u;
            double o = tp_rating_ordinal(v->m[u].rating);
            /* Relative ratings put half of a field of equals at or below zero: an advantage shown
             * more often than not also qualifies. */
            int shown = o > 0 || v->m[u].binary_ma > 0;
            if (!listed && tp_validator_is_miner(v, u) && v->m[u].quarantine_until <= for_window &&
                v->m[u].inactive == 0 && shown && (best < 0 || o > tp_rating_ordinal(v->m[best].rating)))
                best = u;
        }
        if (best >= 0) fill[(*nf)++] = best;
    }
}

/* Peers of a later window from this validator's standing (DESIGN §12.5). */
static tp_status publish_peers(tp_validator *v, int64_t for_window, const double *weights, tp_err *err) {
    int64_t ranked[TP_PEERS_MAX], fill[TP_PEERS_MAX];
    int nr = 0, nf = 0;
    for (int64_t u = 0; u < v->n->mg.n; u++) {
        const tp_vminer *m = &v->m[u];
        if (!tp_validator_is_miner(v, u) || m->quarantine_until > for_window) continue;
        if (weights[u] > 0 && nr < TP_PEERS_MAX) ranked[nr++] = u;
        /* Not paid: still a peer while not yet rated and not rated non-positive so far, or, once
         * rated, while the paying gate is gathering evidence for it (its last update helped, so the
         * evidence did not restart) and its standing is positive. The gate may take many windows to
         * pay an honest miner, or never pay a lone one; leaving its updates out meanwhile wastes the
         * tokens it trained on. Updates that do not help (noise, stale, free-riding) keep restarting
         * the evidence and stay out. */
        else if (m->inactive == 0 && nf < TP_PEERS_MAX &&
                 (m->n_evals < JUDGED_EVALS ? m->n_evals == 0 || m->final > 0 : m->evidence > 0 && m->final > 0))
            fill[nf++] = u;
    }
    tp_sort_stable(ranked, (size_t)nr, sizeof *ranked, by_weight, (void *)weights);
    top_up(v, for_window, ranked, nr, fill, &nf);
    tp_peer_list pl;
    tp_peers_build(for_window, ranked, nr, fill, nf, v->n->rc.proto.gather_peers, v->n->rc.proto.reserve_peers, &pl);
    return put_peer_list(v, &pl, err);
}

void tp_vphase_leader(tp_validator *v, int64_t window, const tp_vwindow *w) {
    if (!v->is_leader) return;
    tp_node *n = v->n;
    tp_err e;
    if (publish_aggregator(v, window, w, &e))
        tp_node_log(n, "window %lld: aggregator not published: %s", (long long)window, e.msg);
    if (publish_peers(v, window + PEERS_AHEAD, w->weights, &e))
        tp_node_log(n, "window %lld: peer list not published: %s", (long long)window, e.msg);
    if ((window - n->start_window + 1) % n->rc.proto.checkpoint_frequency == 0 && publish_checkpoint(v, window, &e))
        tp_node_log(n, "window %lld: checkpoint not published: %s", (long long)window, e.msg);
}
