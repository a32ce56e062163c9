#include "neuron/node.h"

#include <errno.h>
#include <jansson.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/aggregate.h"
#include "codec/wire.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/log.h"
#include "model/checkpoint.h"
#include "neuron/keys.h"

#define SMALL_OBJECT_MAX (1u << 20)

void tp_node_log(tp_node *n, const char *fmt, ...) {
    if (!n->o.log) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tp_log(n->o.log, "%s uid %lld: %s", n->o.wallet, (long long)n->uid, line);
}

static int stopped(const tp_node *n) { return n->o.stop && *n->o.stop; }

static tp_status stop_status(tp_err *err) { return tp_fail(err, TP_ERR_STOPPED, "stopped"); }

/* ---------------------------------------------------------------- open and close */

static tp_status commit_bucket(tp_node *n, tp_err *err) {
    tp_commitment cur;
    int found = 0;
    tp_status st = tp_chain_commitment(n->chain, n->uid, &cur, &found, err);
    if (st) return st;
    tp_commitment cm;
    memset(&cm, 0, sizeof cm);
    snprintf(cm.uri, sizeof cm.uri, "%s", n->o.store);
    const char *ak = getenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID"), *sk = getenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY");
    if (ak && sk) {
        snprintf(cm.access_key_id, sizeof cm.access_key_id, "%s", ak);
        snprintf(cm.secret_access_key, sizeof cm.secret_access_key, "%s", sk);
    }
    if (found && !strcmp(cur.uri, cm.uri) && !strcmp(cur.access_key_id, cm.access_key_id) &&
        !strcmp(cur.secret_access_key, cm.secret_access_key))
        return TP_OK;
    if ((st = tp_chain_commit(n->chain, n->wallet.pk_hex, &cm, err))) return tp_wrap(err, "committing the bucket");
    tp_node_log(n, "committed bucket %s", cm.uri);
    return TP_OK;
}

tp_status tp_node_open(tp_node *n, const tp_node_opts *o, const tp_run_config *rc, tp_err *err) {
    memset(n, 0, sizeof *n);
    n->o = *o;
    n->rc = *rc;
    n->uid = -1;
    n->start_window = -1;
    n->leader = -1;
    char home[512];
    tp_status st;
    if ((st = tp_wallet_home(home, sizeof home, err)) || (st = tp_wallet_load(home, o->wallet, &n->wallet, err)))
        return st;
    if (o->state) snprintf(n->state_dir, sizeof n->state_dir, "%s", o->state);
    else snprintf(n->state_dir, sizeof n->state_dir, "%s/state/%s", home, o->wallet);
    if ((st = tp_mkdirs(n->state_dir, err))) return st;
    if ((st = tp_chain_open(o->chain, &n->chain, err))) return st;
    tp_chain_info info;
    if ((st = tp_chain_info_get(n->chain, &info, err))) return st;
    n->ccfg = info.cfg;
    if (n->rc.proto.put_window_blocks >= n->ccfg.blocks_per_window)
        return tp_fail(err, TP_ERR_CONFIG, "protocol.put_window_blocks (%d) must be below the chain's blocks per window (%lld)",
                       n->rc.proto.put_window_blocks, (long long)n->ccfg.blocks_per_window);
    if ((st = tp_chain_uid(n->chain, n->wallet.pk_hex, &n->uid, err))) return st;
    if (n->uid < 0)
        return tp_fail(err, TP_ERR_CONFIG,
                       "wallet %s (hotkey %s) is not registered on %s; register it with 'templar chain register'",
                       o->wallet, n->wallet.pk_hex, o->chain);
    if ((st = tp_store_open(o->store, NULL, NULL, &n->store, err))) return st;
    if ((st = commit_bucket(n, err))) return st;
    if ((st = tp_shards_open(n->rc.data, &n->shards, err))) return st;
    const tp_model_config *mc = &n->rc.cfg.model;
    if (tp_shards_vocab_size(n->shards) != mc->vocab_size)
        return tp_fail(err, TP_ERR_CONFIG, "the model's vocab_size %d does not match the data in %s (%d)",
                       mc->vocab_size, n->rc.data, tp_shards_vocab_size(n->shards));
    n->eot = tp_shards_eot(n->shards);
    if ((st = tp_llama_create(mc, o->batch, mc->seq_len, o->with_grads, &n->model, err))) return st;
    tp_llama_init_random(n->model, n->rc.cfg.train.seed, n->rc.cfg.train.init_std);
    if ((st = tp_codec_ws_new(omp_get_max_threads(), &n->ws, err)) ||
        (st = tp_codec_ws_reserve_layout(n->ws, &n->model->layout, &n->rc.codec, err)) ||
        (st = tp_wire_max_bytes(mc, &n->rc.codec, &n->max_payload, err)))
        return st;
    return tp_node_refresh(n, err);
}

void tp_node_close(tp_node *n) {
    for (int i = 0; i < TP_CHAIN_MAX_UIDS; i++) tp_store_close(n->peer_stores[i].store);
    tp_metagraph_free(&n->mg);
    tp_codec_ws_free(n->ws);
    tp_llama_free(n->model);
    tp_shards_close(n->shards);
    tp_store_close(n->store);
    tp_chain_close(n->chain);
    tp_wallet_clear(&n->wallet);
    memset(n, 0, sizeof *n);
}

tp_status tp_node_refresh(tp_node *n, tp_err *err) {
    tp_metagraph mg;
    tp_status st = tp_chain_metagraph(n->chain, &mg, err);
    if (st) return st;
    tp_metagraph_free(&n->mg);
    n->mg = mg;
    n->leader = -1;
    double best = 0;
    for (int64_t u = 0; u < mg.n; u++) {
        const tp_neuron *x = &mg.neurons[u];
        if (x->validator_permit && x->store[0] && (n->leader < 0 || x->stake > best)) {
            n->leader = u;
            best = x->stake;
        }
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- time */

int64_t tp_node_first_block(const tp_node *n, int64_t window) {
    return tp_window_first_block(window, n->ccfg.blocks_per_window);
}

int64_t tp_node_put_close_block(const tp_node *n, int64_t window) {
    return tp_node_first_block(n, window + 1) + n->rc.proto.put_window_blocks;
}

tp_status tp_node_await_block(tp_node *n, int64_t block, tp_err *err) {
    int announced = 0;
    for (;;) {
        tp_chain_info info;
        tp_status st = tp_chain_info_get(n->chain, &info, err);
        if (st) return st;
        if (info.block >= block) return TP_OK;
        if (!announced) {
            if ((st = tp_chain_announce_wait(n->chain, n->wallet.pk_hex, block, err))) return st;
            announced = 1;
        }
        if (stopped(n)) return stop_status(err);
        if (n->ccfg.clock == TP_CLOCK_LOCKSTEP) tp_sleep(0.003);
        else {
            double due = n->ccfg.block_time_ms / 1000.0 * (double)block + info.genesis - tp_wall_now();
            tp_sleep(due < 0.001 ? 0.001 : due > 0.2 ? 0.2 : due);
        }
    }
}

tp_status tp_node_put_window(tp_node *n, int64_t window, double *not_before, double *not_after, tp_err *err) {
    tp_status st = tp_chain_block_timestamp(n->chain, tp_node_first_block(n, window + 1), not_before, err);
    if (!st) st = tp_chain_block_timestamp(n->chain, tp_node_put_close_block(n, window), not_after, err);
    return st;
}

/* ---------------------------------------------------------------- stores and keys */

tp_status tp_node_peer_store(tp_node *n, int64_t uid, tp_store **out, tp_err *err) {
    *out = NULL;
    if (uid < 0 || uid >= TP_CHAIN_MAX_UIDS) return tp_fail(err, TP_ERR_ARG, "uid %lld out of range", (long long)uid);
    if (uid == n->uid) {
        *out = n->store;
        return TP_OK;
    }
    tp_commitment cm;
    int found = 0;
    tp_status st = tp_chain_commitment(n->chain, uid, &cm, &found, err);
    if (st || !found) return st;
    tp_peer_store *ps = &n->peer_stores[uid];
    if (ps->store && !strcmp(ps->uri, cm.uri)) {
        *out = ps->store;
        return TP_OK;
    }
    tp_store_close(ps->store);
    ps->store = NULL;
    tp_store_creds creds, *cp = NULL;
    if (cm.access_key_id[0]) {
        memset(&creds, 0, sizeof creds);
        snprintf(creds.access_key, sizeof creds.access_key, "%s", cm.access_key_id);
        snprintf(creds.secret_key, sizeof creds.secret_key, "%s", cm.secret_access_key);
        const char *region = getenv("AWS_REGION");
        if (region) snprintf(creds.region, sizeof creds.region, "%s", region);
        cp = &creds;
    }
    st = tp_store_open(cm.uri, cp, NULL, &ps->store, err);
    if (cp) tp_store_creds_clear(cp);
    if (st) return tp_wrap(err, "bucket of uid %lld", (long long)uid);
    snprintf(ps->uri, sizeof ps->uri, "%s", cm.uri);
    *out = ps->store;
    return TP_OK;
}

void tp_node_key(const tp_node *n, tp_key_kind kind, int64_t window, int64_t uid, const char *file, char *out,
                 size_t cap) {
    tp_key k;
    memset(&k, 0, sizeof k);
    k.kind = kind;
    k.window = (uint64_t)(window < 0 ? 0 : window);
    k.uid = (uint32_t)(uid < 0 ? 0 : uid);
    snprintf(k.version, sizeof k.version, "%s", n->rc.proto.run_version);
    if (file) snprintf(k.file, sizeof k.file, "%s", file);
    tp_err e;
    if (tp_key_format(&k, out, cap, &e)) snprintf(out, cap, "invalid-key");
}

tp_status tp_node_put_text(tp_node *n, const char *key, const char *text, tp_err *err) {
    return tp_store_put(n->store, key, text, strlen(text), err);
}

tp_status tp_node_get_small(tp_node *n, int64_t uid, const char *key, size_t max, char **out, size_t *len,
                            double *mtime, int *found, tp_err *err) {
    *out = NULL;
    *found = 0;
    tp_store *s;
    tp_status st = tp_node_peer_store(n, uid, &s, err);
    if (st || !s) return st;
    tp_store_stat stat;
    tp_fetch why = TP_FETCH_OK;
    uint8_t *data = NULL;
    st = tp_store_get(s, key, max, &data, len, &stat, &why, err);
    if (st) return why == TP_FETCH_NOT_FOUND ? TP_OK : st;
    *out = (char *)data;
    *found = 1;
    if (mtime) *mtime = stat.mtime;
    return TP_OK;
}

/* ---------------------------------------------------------------- start window and peers */

tp_status tp_node_start_window(tp_node *n, tp_err *err) {
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_START_WINDOW, 0, 0, NULL, key, sizeof key);
    int said = 0;
    for (;;) {
        tp_status st = tp_node_refresh(n, err);
        if (st) return st;
        if (n->leader >= 0) {
            char *text;
            size_t len;
            int found;
            st = tp_node_get_small(n, n->leader, key, 4096, &text, &len, NULL, &found, err);
            if (st) tp_node_log(n, "waiting for the start window: %s", err->msg);
            if (!st && found) {
                json_t *j = json_loadb(text, len, 0, NULL);
                json_t *w = json_object_get(j, "start_window");
                int ok = json_is_integer(w) && json_integer_value(w) >= 0;
                if (ok) n->start_window = json_integer_value(w);
                json_decref(j);
                free(text);
                if (ok) return TP_OK;
                return tp_fail(err, TP_ERR_FORMAT, "the leader's %s is malformed", key);
            }
        }
        if (!said) tp_node_log(n, "waiting for the leader to publish the start window");
        said = 1;
        if (stopped(n)) return stop_status(err);
        tp_sleep(0.02);
    }
}

void tp_node_default_peers(const tp_node *n, int64_t window, tp_peer_list *pl) {
    int64_t fill[TP_PEERS_MAX];
    int nf = 0;
    for (int64_t u = 0; u < n->mg.n && nf < TP_PEERS_MAX; u++) {
        const tp_neuron *x = &n->mg.neurons[u];
        if (!x->validator_permit && u != n->rc.proto.burn_uid) fill[nf++] = u;
    }
    tp_peers_build(window, NULL, 0, fill, nf, n->rc.proto.gather_peers, n->rc.proto.reserve_peers, pl);
}

tp_status tp_node_adopt_peers(tp_node *n, int64_t window, tp_err *err) {
    tp_status st = tp_node_refresh(n, err);
    if (st) return st;
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_PEERS, window, 0, NULL, key, sizeof key);
    double opened;
    if ((st = tp_chain_block_timestamp(n->chain, tp_node_first_block(n, window), &opened, err))) return st;
    if (n->leader >= 0) {
        char *text;
        size_t len;
        double mtime = 0;
        int found;
        tp_err e;
        if (tp_node_get_small(n, n->leader, key, TP_PEERS_JSON_MAX, &text, &len, &mtime, &found, &e))
            tp_node_log(n, "window %lld: cannot read the peer list (%s); keeping the last one", (long long)window,
                        e.msg);
        else if (found) {
            tp_peer_list pl;
            /* Only a list stored before the window opened counts, so every node adopts the same one. */
            if (mtime > opened + 1.0) tp_node_log(n, "window %lld: %s came too late; keeping the last list", (long long)window, key);
            else if (tp_peers_parse(text, len, n->mg.n, &pl, &e))
                tp_node_log(n, "window %lld: rejected %s: %s", (long long)window, key, e.msg);
            else if (pl.window != window)
                tp_node_log(n, "window %lld: %s names window %lld", (long long)window, key, (long long)pl.window);
            else {
                n->peers = pl;
                n->have_peers = 1;
            }
            free(text);
            if (n->have_peers && n->peers.window == window) return TP_OK;
        }
    }
    if (!n->have_peers) {
        tp_node_default_peers(n, window, &n->peers);
        n->have_peers = 1;
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- gather */

void tp_window_gather_free(tp_window_gather *g) {
    if (g->payload)
        for (int i = 0; i < g->n; i++) tp_payload_free(&g->payload[i]);
    if (g->bytes)
        for (int i = 0; i < g->n; i++) free(g->bytes[i]);
    free(g->payload);
    free(g->bytes);
    free(g->len);
    memset(g, 0, sizeof *g);
}

int tp_gather_find(const tp_window_gather *g, int64_t uid) {
    for (int i = 0; i < g->n; i++)
        if (g->uid[i] == uid) return i;
    return -1;
}

void tp_gather_sort_by_uid(const tp_window_gather *g, int *idx, int count) {
    for (int a = 1; a < count; a++) /* insertion sort: the lists are short */
        for (int b = a; b > 0 && g->uid[idx[b - 1]] > g->uid[idx[b]]; b--) {
            int t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
}

static tp_status gather_alloc(tp_window_gather *g, int count, tp_err *err) {
    memset(g, 0, sizeof *g);
    g->payload = calloc((size_t)count + 1, sizeof *g->payload);
    g->bytes = calloc((size_t)count + 1, sizeof *g->bytes);
    g->len = calloc((size_t)count + 1, sizeof *g->len);
    if (!g->payload || !g->bytes || !g->len) {
        tp_window_gather_free(g);
        return tp_fail(err, TP_ERR_NOMEM, "gather: out of memory");
    }
    return TP_OK;
}

/* Validates every fetched payload of g for window W. */
static void validate_all(tp_node *n, int64_t window, tp_window_gather *g) {
    tp_payload_expect *exps = calloc((size_t)g->n + 1, sizeof *exps);
    uint8_t(*keys)[32] = calloc((size_t)g->n + 1, 32);
    tp_status *sts = calloc((size_t)g->n + 1, sizeof *sts);
    if (!exps || !keys || !sts) {
        for (int i = 0; i < g->n; i++) g->reject[i] = TP_REJ_INTERNAL;
        free(exps);
        free(keys);
        free(sts);
        return;
    }
    for (int i = 0; i < g->n; i++) {
        tp_payload_expect *e = &exps[i];
        e->model = &n->rc.cfg.model;
        e->params = &n->rc.codec;
        e->check_window = 1;
        e->window = (uint64_t)window;
        e->check_uid = 1;
        e->uid = (uint32_t)g->uid[i];
        e->run_version = n->rc.proto.run_version;
        const char *hk = g->uid[i] < n->mg.n ? n->mg.neurons[g->uid[i]].hotkey : "";
        if (strlen(hk) != 64 || tp_unhex(hk, keys[i], 32)) memset(keys[i], 0, 32);
        e->pubkey = keys[i];
        e->max_bytes = n->max_payload;
    }
    tp_payload_read_many((const uint8_t *const *)g->bytes, g->len, exps, g->n, g->payload, sts, NULL);
    for (int i = 0; i < g->n; i++)
        if (g->fetch[i] == TP_FETCH_OK) g->reject[i] = g->payload[i].reason;
    free(exps);
    free(keys);
    free(sts);
}

tp_status tp_node_gather(tp_node *n, int64_t window, const int64_t *uids, int count, tp_window_gather *g,
                         tp_err *err) {
    tp_status st = tp_node_await_block(n, tp_node_put_close_block(n, window), err);
    if (st || (st = gather_alloc(g, count, err))) return st;
    double nb, na;
    if ((st = tp_node_put_window(n, window, &nb, &na, err))) return st;
    tp_gather_item *items = calloc((size_t)count + 1, sizeof *items);
    char(*keys)[TP_KEY_MAX] = calloc((size_t)count + 1, TP_KEY_MAX);
    int *slot = calloc((size_t)count + 1, sizeof *slot);
    if (!items || !keys || !slot) {
        free(items);
        free(keys);
        free(slot);
        return tp_fail(err, TP_ERR_NOMEM, "gather: out of memory");
    }
    int ni = 0;
    g->n = count;
    for (int i = 0; i < count; i++) {
        g->uid[i] = uids[i];
        g->fetch[i] = TP_FETCH_NOT_FOUND;
        g->reject[i] = TP_REJ_NONE;
        tp_store *s = NULL;
        tp_err e;
        if (tp_node_peer_store(n, uids[i], &s, &e)) tp_node_log(n, "uid %lld: %s", (long long)uids[i], e.msg);
        if (!s) continue;
        tp_node_key(n, TP_KEY_GRADIENT, window, uids[i], NULL, keys[ni], TP_KEY_MAX);
        items[ni].store = s;
        items[ni].key = keys[ni];
        slot[ni++] = i;
    }
    tp_gather_opts go = {.timeout_s = n->rc.proto.gather_timeout_s,
                         .max_bytes = n->max_payload,
                         .not_before = nb,
                         .not_after = na};
    st = tp_store_gather(items, (size_t)ni, &go, err);
    for (int j = 0; !st && j < ni; j++) {
        int i = slot[j];
        g->fetch[i] = items[j].status;
        g->mtime[i] = items[j].stat.mtime;
        g->bytes_down += items[j].received;
        if (items[j].status == TP_FETCH_OK) {
            g->bytes[i] = items[j].data;
            g->len[i] = items[j].len;
            items[j].data = NULL;
        }
    }
    tp_gather_free(items, (size_t)ni);
    free(items);
    free(keys);
    free(slot);
    if (!st) validate_all(n, window, g);
    return st;
}

tp_status tp_node_gather_peers(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err) {
    int64_t uids[2 * TP_PEERS_MAX];
    int cnt = 0;
    for (int i = 0; i < n->peers.n_gather; i++) uids[cnt++] = n->peers.gather[i];
    for (int i = 0; i < n->peers.n_reserve; i++) uids[cnt++] = n->peers.reserve[i];
    return tp_node_gather(n, window, uids, cnt, g, err);
}

int tp_node_select_applied(const tp_node *n, const tp_peer_list *pl, const tp_window_gather *g, int *idx) {
    int count = 0, want = pl->n_gather < n->rc.proto.gather_peers ? pl->n_gather : n->rc.proto.gather_peers;
    for (int pass = 0; pass < 2; pass++) {
        const int64_t *list = pass ? pl->reserve : pl->gather;
        int len = pass ? pl->n_reserve : pl->n_gather;
        for (int j = 0; j < len && count < want; j++) {
            int i = tp_gather_find(g, list[j]);
            if (i >= 0 && g->payload[i].valid) idx[count++] = i;
        }
    }
    tp_gather_sort_by_uid(g, idx, count);
    return count;
}

tp_status tp_node_outer_step(tp_node *n, const tp_window_gather *g, const int *idx, int count, tp_err *err) {
    if (count == 0) return TP_OK;
    const tp_update *peers[TP_AGG_MAX_PEERS];
    uint32_t uids[TP_AGG_MAX_PEERS];
    if (count > TP_AGG_MAX_PEERS) count = TP_AGG_MAX_PEERS;
    for (int i = 0; i < count; i++) {
        peers[i] = &g->payload[idx[i]].update;
        uids[i] = (uint32_t)g->uid[idx[i]];
    }
    const tp_layout *L = &n->model->layout;
    uint8_t *skipped = calloc((size_t)L->n_tensors, 1);
    int n_skipped = 0;
    if (!skipped) return tp_fail(err, TP_ERR_NOMEM, "outer step: out of memory");
    tp_status st = tp_outer_step(n->model->params, L, peers, uids, count, (float)n->rc.proto.outer_lr, n->ws, skipped,
                                 &n_skipped, err);
    for (int t = 0; !st && t < L->n_tensors; t++)
        if (skipped[t]) tp_node_log(n, "outer step: tensor %s left unchanged (non-finite aggregate)", L->tensors[t].name);
    free(skipped);
    return st;
}

/* ---------------------------------------------------------------- fingerprints, retention */

tp_status tp_node_publish_debug(tp_node *n, int64_t window, int gathered, int gather_of, tp_fingerprint *fp,
                                tp_err *err) {
    tp_status st = tp_fingerprint_compute(&n->model->layout, n->model->params, (uint64_t)window, (uint32_t)n->uid, fp,
                                          err);
    if (st) return st;
    fp->gathered = (uint32_t)gathered;
    fp->gather_of = (uint32_t)(gather_of < gathered ? gathered : gather_of);
    char *js;
    if ((st = tp_fingerprint_to_json(fp, &n->model->layout, &js, err))) return st;
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_DEBUG, window, n->uid, NULL, key, sizeof key);
    st = tp_node_put_text(n, key, js, err);
    free(js);
    return st;
}

void tp_node_retention(tp_node *n, int64_t window) {
    int64_t old = window - n->rc.proto.retention_windows;
    for (int64_t w = old - 2; w <= old; w++) {
        if (w < 0) continue;
        char key[TP_KEY_MAX];
        tp_key_kind kinds[] = {TP_KEY_GRADIENT, TP_KEY_DEBUG, TP_KEY_AGGREGATOR, TP_KEY_PEERS};
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            tp_node_key(n, kinds[k], w, n->uid, NULL, key, sizeof key);
            tp_err e;
            if (tp_store_delete(n->store, key, &e)) tp_node_log(n, "retention: %s", e.msg);
        }
    }
}

/* ---------------------------------------------------------------- local state */

tp_status tp_node_save_state(tp_node *n, int64_t window, const tp_adamw *opt, const float *ef, tp_err *err) {
    char dir[1200], index[1200], prev[1200];
    snprintf(dir, sizeof dir, "%s/node-%lld", n->state_dir, (long long)window);
    snprintf(index, sizeof index, "%s/node.json", n->state_dir);
    tp_status st = tp_checkpoint_save(dir, n->model, opt, ef, NULL, NULL, 0, err);
    if (st) return st;
    char text[256];
    snprintf(text, sizeof text, "{\"window\": %lld}\n", (long long)window);
    if ((st = tp_write_file_atomic(index, text, strlen(text), err))) return st;
    /* Only once the index names the new state may the older ones go. */
    for (int64_t w = window - 4; w < window - 1; w++) {
        snprintf(prev, sizeof prev, "%s/node-%lld", n->state_dir, (long long)w);
        tp_err e;
        if (w >= 0 && tp_path_exists(prev)) tp_remove_tree(prev, &e);
    }
    return TP_OK;
}

tp_status tp_node_load_state(tp_node *n, int64_t *window, tp_adamw *opt, float *ef, tp_err *err) {
    char index[1200], dir[1200];
    int64_t win = *window;
    *window = -1;
    if (win < 0) {
        snprintf(index, sizeof index, "%s/node.json", n->state_dir);
        if (!tp_path_exists(index)) return TP_OK;
        json_error_t je;
        json_t *j = json_load_file(index, 0, &je);
        json_t *w = json_object_get(j, "window");
        win = json_is_integer(w) ? json_integer_value(w) : -1;
        json_decref(j);
        if (win < 0) return tp_fail(err, TP_ERR_FORMAT, "%s is malformed", index);
    }
    snprintf(dir, sizeof dir, "%s/node-%lld", n->state_dir, (long long)win);
    tp_status st = tp_checkpoint_load_weights(dir, n->model, err);
    if (!st && opt) st = tp_checkpoint_load_optimizer(dir, &n->model->layout, opt, NULL, err);
    if (!st && ef) st = tp_checkpoint_load_error_feedback(dir, &n->model->layout, ef, err);
    if (st) return tp_wrap(err, "local state %s", dir);
    *window = win;
    return TP_OK;
}

/* ---------------------------------------------------------------- catch-up */

/* Applies the leader's aggregator-W: the signed payloads it applied. *found = 0 if there is none. */
static tp_status replay_aggregator(tp_node *n, int64_t window, int *found, tp_err *err) {
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_AGGREGATOR, window, 0, NULL, key, sizeof key);
    char *bytes;
    size_t len;
    size_t max = (size_t)(n->rc.proto.gather_peers + 1) * (n->max_payload + 64) + 65536;
    tp_status st = tp_node_get_small(n, n->leader, key, max, &bytes, &len, NULL, found, err);
    if (st || !*found) return st;
    tp_st sf;
    if ((st = tp_st_parse((const uint8_t *)bytes, len, TP_AGG_MAX_PEERS, &sf, err))) {
        free(bytes);
        *found = 0;
        return tp_wrap(err, "%s", key);
    }
    tp_window_gather g;
    if ((st = gather_alloc(&g, sf.n, err))) {
        tp_st_free(&sf);
        free(bytes);
        return st;
    }
    g.n = 0;
    for (int i = 0; i < sf.n; i++) {
        const tp_st_tensor *t = &sf.tensors[i];
        char *end;
        long long u = t->name[0] == 'u' ? strtoll(t->name + 1, &end, 10) : -1;
        if (u < 0 || u >= n->mg.n || *end || t->dtype != TP_DT_U8 || tp_gather_find(&g, u) >= 0) continue;
        g.uid[g.n] = u;
        g.fetch[g.n] = TP_FETCH_OK;
        g.bytes[g.n] = malloc(t->nbytes + 1);
        if (!g.bytes[g.n]) continue;
        memcpy(g.bytes[g.n], t->data, t->nbytes);
        g.len[g.n++] = t->nbytes;
    }
    tp_st_free(&sf);
    free(bytes);
    validate_all(n, window, &g);
    int idx[TP_AGG_MAX_PEERS], count = 0;
    for (int i = 0; i < g.n && count < TP_AGG_MAX_PEERS; i++)
        if (g.payload[i].valid) idx[count++] = i;
    tp_gather_sort_by_uid(&g, idx, count);
    st = tp_node_outer_step(n, &g, idx, count, err);
    tp_node_log(n, "catch-up: window %lld replayed from %s (%d updates)", (long long)window, key, count);
    tp_window_gather_free(&g);
    return st;
}

static tp_status replay_live(tp_node *n, int64_t window, tp_err *err) {
    tp_status st = tp_node_adopt_peers(n, window, err);
    if (st) return st;
    tp_window_gather g;
    if ((st = tp_node_gather_peers(n, window, &g, err))) return st;
    int idx[TP_AGG_MAX_PEERS];
    int count = tp_node_select_applied(n, &n->peers, &g, idx);
    st = tp_node_outer_step(n, &g, idx, count, err);
    tp_node_log(n, "catch-up: window %lld replayed from a live gather (%d updates)", (long long)window, count);
    tp_window_gather_free(&g);
    return st;
}

/* Loads the leader's latest checkpoint; *window = −1 when it has none. */
static tp_status load_leader_checkpoint(tp_node *n, int64_t *window, tp_err *err) {
    *window = -1;
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_CHECKPOINT_LATEST, 0, 0, NULL, key, sizeof key);
    char *text;
    size_t len;
    int found;
    tp_status st = tp_node_get_small(n, n->leader, key, 4096, &text, &len, NULL, &found, err);
    if (st || !found) return st;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    json_t *w = json_object_get(j, "window");
    int64_t win = json_is_integer(w) ? json_integer_value(w) : -1;
    json_decref(j);
    if (win < 0) return tp_fail(err, TP_ERR_FORMAT, "the leader's %s is malformed", key);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/leader-checkpoint", n->state_dir);
    if ((st = tp_mkdirs(dir, err))) return st;
    tp_store *s;
    if ((st = tp_node_peer_store(n, n->leader, &s, err))) return st;
    if (!s) return tp_fail(err, TP_ERR_IO, "the leader has no bucket");
    const char *files[] = {"model.safetensors", "config.json"};
    size_t max = (size_t)n->model->layout.total * 4 + (1u << 20);
    for (int i = 0; i < 2; i++) {
        char obj[TP_KEY_MAX], path[1400];
        tp_node_key(n, TP_KEY_CHECKPOINT, win, 0, files[i], obj, sizeof obj);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        tp_fetch why;
        if ((st = tp_store_get_file(s, obj, max, path, NULL, &why, err))) return tp_wrap(err, "checkpoint %s", obj);
    }
    if ((st = tp_checkpoint_load_weights(dir, n->model, err))) return tp_wrap(err, "the leader's checkpoint");
    *window = win;
    tp_node_log(n, "loaded the leader's checkpoint of window %lld", (long long)win);
    return TP_OK;
}

tp_status tp_node_catch_up(tp_node *n, int64_t *next, int64_t to, tp_err *err) {
    tp_status st;
    if (*next < 0) {
        /* No local state: start from the leader's checkpoint, or from the initial model at the start. */
        int64_t w;
        if ((st = tp_node_refresh(n, err)) || (st = load_leader_checkpoint(n, &w, err))) return st;
        *next = w >= 0 ? w + 1 : n->start_window;
    }
    while (*next < to) {
        int64_t w = *next;
        if ((st = tp_node_await_block(n, tp_node_put_close_block(n, w), err))) return st;
        int found = 0;
        tp_err e;
        if ((st = tp_node_refresh(n, err))) return st;
        /* The leader publishes aggregator-W after it processed W: give it a moment. */
        for (int tries = 0; tries < 50 && !found; tries++) {
            if ((st = replay_aggregator(n, w, &found, &e))) {
                tp_node_log(n, "catch-up: window %lld: %s", (long long)w, e.msg);
                found = 0;
                break;
            }
            if (!found) tp_sleep(0.02);
            if (stopped(n)) return stop_status(err);
        }
        if (!found && (st = replay_live(n, w, err))) return tp_wrap(err, "catching up window %lld", (long long)w);
        (*next)++;
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- metrics and loss */

tp_status tp_node_metrics(tp_node *n, json_t *record, tp_err *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", n->state_dir);
    char *line = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    if (!line) return tp_fail(err, TP_ERR_NOMEM, "metrics: out of memory");
    FILE *f = fopen(path, "a");
    tp_status st = TP_OK;
    if (!f || fprintf(f, "%s\n", line) < 0 || fflush(f) || fsync(fileno(f)))
        st = tp_fail(err, TP_ERR_IO, "writing %s: %s", path, strerror(errno));
    if (f) fclose(f);
    free(line);
    return st;
}

tp_status tp_node_loss(tp_node *n, tp_split split, const uint64_t *samples, int count, double *loss, tp_err *err) {
    int T = n->rc.cfg.model.seq_len, B = n->model->max_b;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)B * (size_t)T);
    if (!tok) return tp_fail(err, TP_ERR_NOMEM, "loss: out of memory");
    double sum = 0, targets = 0;
    tp_status st = TP_OK;
    for (int first = 0; !st && first < count; first += B) {
        int b = count - first < B ? count - first : B;
        for (int i = 0; !st && i < b; i++)
            st = tp_shards_read_sample(n->shards, split, T, samples[first + i], tok + (size_t)i * T, err);
        float l;
        if (!st && !(st = tp_llama_forward(n->model, tok, b, T, n->eot, &l, err))) {
            double cnt = (double)tp_llama_last_target_count(n->model);
            sum += (double)l * cnt;
            targets += cnt;
        }
    }
    free(tok);
    *loss = targets > 0 ? sum / targets : 0;
    return st;
}
