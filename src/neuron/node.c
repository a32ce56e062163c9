#include "neuron/node.h"

#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codec/wire.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/log.h"

/* The wall clock's poll of the chain while waiting for a block: at most this long between looks, so
 * a stop request or a late block is noticed soon. */
#define WALL_POLL_MAX_S 0.2
/* The lockstep clock moves when a driver advances it: look often, it costs one ledger read. */

void tp_node_log(tp_node *n, const char *fmt, ...) {
    if (!n->o.log) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tp_log(n->o.log, "%s uid %lld: %s", n->o.wallet, (long long)n->uid, line);
}

int tp_node_stopped(const tp_node *n) { return n->o.stop && *n->o.stop; }

tp_status tp_node_stopped_err(tp_err *err) { return tp_fail(err, TP_ERR_STOPPED, "stopped"); }

/* ---------------------------------------------------------------- open and close */

static tp_status commit_bucket(tp_node *n, tp_err *err) {
    tp_commitment cur, cm;
    int found = 0;
    tp_status st = tp_commitment_from_env(n->o.store, &cm, err);
    cm.key_type = n->wallet.key.type;
    if (st || (st = tp_chain_commitment(n->chain, n->uid, &cur, &found, err))) return st;
    if (found && !strcmp(cur.uri, cm.uri) && !strcmp(cur.access_key_id, cm.access_key_id) &&
        !strcmp(cur.secret_access_key, cm.secret_access_key) && cur.key_type == cm.key_type)
        return TP_OK;
    if ((st = tp_chain_commit(n->chain, n->wallet.pk_hex, &cm, err))) return tp_wrap(err, "committing the bucket");
    tp_node_log(n, "committed bucket %s", cm.uri);
    return TP_OK;
}

/* Identity: the wallet, the state directory, the chain and the uid. */
/* A chain call waiting for its transaction's block waits like every other wait of the node
 * (announced to a lockstep driver, stoppable). */
static tp_status wait_next_block(void *ctx, int64_t head, tp_err *err) { return tp_node_await_block(ctx, head + 1, err); }

static tp_status open_identity(tp_node *n, tp_err *err) {
    char home[512];
    tp_status st;
    if ((st = tp_wallet_home(home, sizeof home, err)) ||
        (st = tp_wallet_load(n->o.wallet_path, n->o.wallet, n->o.hotkey, &n->wallet, err)))
        return st;
    if (n->o.state) snprintf(n->state_dir, sizeof n->state_dir, "%s", n->o.state);
    else snprintf(n->state_dir, sizeof n->state_dir, "%s/state/%s", home, n->o.wallet);
    if ((st = tp_mkdirs(n->state_dir, err)) || (st = tp_chain_open(n->o.chain, &n->chain, err)) ||
        (st = tp_chain_set_keys(n->chain, &n->wallet, NULL, err)))
        return st;
    tp_chain_set_wait(n->chain, wait_next_block, n);
    tp_chain_info info;
    if ((st = tp_chain_info_get(n->chain, &info, err))) return st;
    n->ccfg = info.cfg;
    /* The put window, then one block for the leader to publish the window's aggregate, which a
     * catching-up node looks for (catchup.c). */
    if (n->rc.proto.put_window_blocks + 1 >= n->ccfg.blocks_per_window)
        return tp_fail(err, TP_ERR_CONFIG,
                       "protocol.put_window_blocks (%d) must be at most the chain's blocks per window (%lld) minus 2",
                       n->rc.proto.put_window_blocks, (long long)n->ccfg.blocks_per_window);
    if ((st = tp_chain_uid(n->chain, n->wallet.pk_hex, &n->uid, err))) return st;
    if (n->uid < 0)
        return tp_fail(err, TP_ERR_CONFIG,
                       "wallet %s (%s hotkey %s) is not registered on %s; register it with 'templar chain register'",
                       n->o.wallet, tp_key_type_name(n->wallet.key.type), n->wallet.ss58, n->o.chain);
    return TP_OK;
}

/* The data, the model and the codec's workspace. */
static tp_status open_model(tp_node *n, int with_grads, int batch, tp_err *err) {
    tp_status st = tp_shards_open(n->rc.data, &n->shards, err);
    if (st) return st;
    const tp_model_config *mc = &n->rc.cfg.model;
    if (tp_shards_vocab_size(n->shards) != mc->vocab_size)
        return tp_fail(err, TP_ERR_CONFIG, "the model's vocab_size %d does not match the data in %s (%d)",
                       mc->vocab_size, n->rc.data, tp_shards_vocab_size(n->shards));
    n->eot = tp_shards_eot(n->shards);
    if ((st = tp_llama_create(mc, batch, mc->seq_len, with_grads, &n->model, err))) return st;
    tp_llama_init_random(n->model, n->rc.cfg.train.seed, n->rc.cfg.train.init_std);
    if ((st = tp_codec_ws_new(omp_get_max_threads(), &n->ws, err)) ||
        (st = tp_codec_ws_reserve_layout(n->ws, &n->model->layout, &n->rc.codec, err)))
        return st;
    if (n->rc.proto.outer_momentum > 0 &&
        !(n->outer_m = tp_alloc_aligned(2 * n->model->layout.total * sizeof(float), err)))
        return err->code;
    return tp_wire_max_bytes(mc, &n->rc.codec, &n->max_payload, err);
}

tp_status tp_node_open(const tp_node_opts *o, const tp_run_config *rc, int with_grads, int batch, tp_node **out,
                       tp_err *err) {
    tp_node *n = *out = tp_calloc(1, sizeof *n, err);
    if (!n) return err->code;
    n->o = *o;
    n->rc = *rc;
    n->uid = n->start_window = n->leader = -1;
    tp_status st;
    if (!(n->peer_stores = tp_calloc(TP_CHAIN_MAX_UIDS, sizeof *n->peer_stores, err))) return err->code;
    if ((st = open_identity(n, err)) || (st = tp_store_open(o->store, NULL, NULL, &n->store, err)) ||
        (st = commit_bucket(n, err)) || (st = open_model(n, with_grads, batch, err)))
        return st;
    return tp_node_refresh(n, err);
}

void tp_node_close(tp_node *n) {
    if (!n) return;
    for (int i = 0; n->peer_stores && i < TP_CHAIN_MAX_UIDS; i++) {
        tp_store_close(n->peer_stores[i].store);
        free(n->peer_stores[i].uri);
    }
    free(n->peer_stores);
    tp_metagraph_free(&n->mg);
    tp_codec_ws_free(n->ws);
    free(n->outer_m);
    tp_llama_free(n->model);
    tp_shards_close(n->shards);
    tp_store_close(n->store);
    tp_chain_close(n->chain);
    tp_wallet_clear(&n->wallet);
    free(n);
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

static double block_due(const tp_node *n, const tp_chain_info *info, int64_t block) {
    return n->ccfg.block_time_ms / 1000.0 * (double)block + info->genesis;
}

tp_status tp_node_block_due(tp_node *n, int64_t block, double *due, tp_err *err) {
    tp_chain_info info;
    *due = INFINITY;
    if (n->ccfg.clock == TP_CLOCK_LOCKSTEP) return TP_OK;
    tp_status st = tp_chain_info_get(n->chain, &info, err);
    if (!st) *due = block_due(n, &info, block);
    return st;
}

/* How long to wait before looking at the chain again. */
static double poll_interval(const tp_node *n, const tp_chain_info *info, int64_t block) {
    if (n->ccfg.clock == TP_CLOCK_LOCKSTEP) return info->poll_s;
    double due = block_due(n, info, block) - tp_wall_now();
    return due < 0.001 ? 0.001 : due > WALL_POLL_MAX_S ? WALL_POLL_MAX_S : due;
}

tp_status tp_node_await_block(tp_node *n, int64_t block, tp_err *err) {
    int told = 0;
    for (;;) {
        tp_chain_info info;
        tp_status st = tp_chain_info_get(n->chain, &info, err);
        if (st) return st;
        if (info.block >= block) return TP_OK;
        if (!told && n->o.on_wait.fn) n->o.on_wait.fn(n->o.on_wait.ctx, block);
        told = 1;
        if (tp_node_stopped(n)) return tp_node_stopped_err(err);
        tp_sleep(poll_interval(n, &info, block));
    }
}

tp_status tp_node_pause(tp_node *n, tp_err *err) {
    tp_chain_info info;
    tp_status st = tp_chain_info_get(n->chain, &info, err);
    return st ? st : tp_node_await_block(n, info.block + 1, err);
}

tp_status tp_node_put_window(tp_node *n, int64_t window, double *not_before, double *not_after, tp_err *err) {
    tp_status st = tp_chain_block_timestamp(n->chain, tp_node_first_block(n, window + 1), not_before, err);
    if (!st) st = tp_chain_block_timestamp(n->chain, tp_node_put_close_block(n, window), not_after, err);
    /* A chain that fell behind builds its late blocks in a burst, which would shrink a window counted
     * in blocks to nothing: on the wall clock it lasts its blocks' nominal time at least. Every node
     * computes the same from the same block timestamps. */
    double nominal = *not_before + n->rc.proto.put_window_blocks * (n->ccfg.block_time_ms / 1000.0);
    if (!st && n->ccfg.clock == TP_CLOCK_WALL && *not_after < nominal) *not_after = nominal;
    return st;
}

/* ---------------------------------------------------------------- buckets and keys */

/* Opens the bucket a peer committed, with the read credentials it committed. */
static tp_status open_peer_store(tp_node *n, int64_t uid, const tp_commitment *cm, tp_err *err) {
    tp_peer_store *ps = &n->peer_stores[uid];
    tp_store_close(ps->store);
    ps->store = NULL;
    free(ps->uri);
    if (!(ps->uri = tp_strdup(cm->uri, err))) return err->code;
    tp_store_creds creds, *cp = NULL;
    if (cm->access_key_id[0]) {
        memset(&creds, 0, sizeof creds);
        snprintf(creds.access_key, sizeof creds.access_key, "%s", cm->access_key_id);
        snprintf(creds.secret_key, sizeof creds.secret_key, "%s", cm->secret_access_key);
        tp_store_env_region(creds.region, sizeof creds.region);
        cp = &creds;
    }
    tp_status st = tp_store_open(cm->uri, cp, NULL, &ps->store, err);
    if (cp) tp_store_creds_clear(cp);
    return st ? tp_wrap(err, "bucket of uid %lld", (long long)uid) : TP_OK;
}

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
    ps->key_type = cm.key_type;
    ps->key_type_known = 1;
    if (!ps->store || strcmp(ps->uri, cm.uri)) st = open_peer_store(n, uid, &cm, err);
    if (!st) *out = ps->store;
    return st;
}

tp_status tp_node_peer_key_type(tp_node *n, int64_t uid, tp_key_type *out, tp_err *err) {
    if (uid < 0 || uid >= TP_CHAIN_MAX_UIDS) return tp_fail(err, TP_ERR_ARG, "uid %lld out of range", (long long)uid);
    tp_peer_store *ps = &n->peer_stores[uid];
    if (uid == n->uid) *out = n->wallet.key.type;
    else if (ps->key_type_known) *out = ps->key_type;
    else {
        tp_commitment cm;
        int found = 0;
        tp_status st = tp_chain_commitment(n->chain, uid, &cm, &found, err);
        if (st) return st;
        *out = ps->key_type = found ? cm.key_type : TP_KEY_ED25519;
        ps->key_type_known = found;
    }
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

tp_status tp_node_get_index(tp_node *n, int64_t uid, const char *key, const char *field, int64_t *value,
                            tp_err *err) {
    *value = -1;
    char *text, what[TP_KEY_MAX + 32];
    size_t len;
    int found;
    tp_status st = tp_node_get_small(n, uid, key, TP_NODE_SMALL_JSON_MAX, &text, &len, NULL, &found, err);
    if (st || !found) return st;
    snprintf(what, sizeof what, "%s of uid %lld", key, (long long)uid);
    st = tp_json_index(text, len, field, what, value, err);
    free(text);
    return st;
}

/* ---------------------------------------------------------------- start window and peers */

tp_status tp_node_start_window(tp_node *n, tp_err *err) {
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_START_WINDOW, 0, 0, NULL, key, sizeof key);
    for (int said = 0;; said = 1) {
        tp_status st = tp_node_refresh(n, err);
        if (st) return st;
        if (n->leader >= 0) {
            st = tp_node_get_index(n, n->leader, key, "start_window", &n->start_window, err);
            if (!st && n->start_window >= 0) return TP_OK;
            /* An unreadable object is read again: a store may show a reader an object that is still
             * being written (s3rver: 0 bytes), and no node can start without the leader's word. */
            if (st && !err->retryable && err->code != TP_ERR_FORMAT)
                return tp_wrap(err, "reading the start window %s", tp_err_kind(err));
            if (st) tp_node_log(n, "waiting for the start window: %s", err->msg);
        }
        if (!said) tp_node_log(n, "waiting for the leader to publish the start window");
        if ((st = tp_node_pause(n, err))) return st;
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

/* Reads the leader's peers-W; *ok = 1 when it was adopted. Problems are logged: the caller keeps the
 * list it had. */
static void read_leader_peers(tp_node *n, int64_t window, double opened, int *ok) {
    char key[TP_KEY_MAX], *text;
    size_t len;
    double mtime = 0;
    int found;
    tp_err e;
    *ok = 0;
    tp_node_key(n, TP_KEY_PEERS, window, 0, NULL, key, sizeof key);
    if (tp_node_get_small(n, n->leader, key, TP_PEERS_JSON_MAX, &text, &len, &mtime, &found, &e)) {
        tp_node_log(n, "window %lld: cannot read the peer list (%s); keeping the last one", (long long)window, e.msg);
        return;
    }
    if (!found) return;
    tp_peer_list pl;
    /* Only a list stored before the window opened counts, so every node adopts the same one. */
    if (mtime > opened + 1.0) tp_node_log(n, "window %lld: %s came too late; keeping the last list", (long long)window, key);
    else if (tp_peers_parse(text, len, n->mg.n, &pl, &e))
        tp_node_log(n, "window %lld: rejected %s: %s", (long long)window, key, e.msg);
    else if (pl.window != window)
        tp_node_log(n, "window %lld: %s names window %lld", (long long)window, key, (long long)pl.window);
    else {
        n->peers = pl;
        n->have_peers = *ok = 1;
    }
    free(text);
}

tp_status tp_node_adopt_peers(tp_node *n, int64_t window, tp_err *err) {
    tp_status st = tp_node_refresh(n, err);
    double opened;
    if (st || (st = tp_chain_block_timestamp(n->chain, tp_node_first_block(n, window), &opened, err))) return st;
    int ok = 0;
    if (n->leader >= 0) read_leader_peers(n, window, opened, &ok);
    if (!ok && !n->have_peers) {
        tp_node_default_peers(n, window, &n->peers);
        n->have_peers = 1;
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- loss */

/* Runs θ over samples in batches of the model's capacity; each batch's forward is handed to `each`. */
typedef void (*batch_fn)(tp_node *n, int first, int b, float loss, void *ctx);

static tp_status forward_samples(tp_node *n, tp_split split, const uint64_t *samples, int count, batch_fn each,
                                 void *ctx, tp_err *err) {
    int T = n->rc.cfg.model.seq_len, B = n->model->max_b;
    int32_t *tok = tp_malloc(sizeof(int32_t) * (size_t)B * (size_t)T, err);
    if (!tok) return err->code;
    tp_status st = TP_OK;
    for (int first = 0; !st && first < count; first += B) {
        int b = count - first < B ? count - first : B;
        for (int i = 0; !st && i < b; i++)
            st = tp_shards_read_sample(n->shards, split, T, samples[first + i], tok + (size_t)i * T, err);
        float l;
        if (!st && !(st = tp_llama_forward(n->model, tok, b, T, n->eot, &l, err))) each(n, first, b, l, ctx);
    }
    free(tok);
    return st;
}

typedef struct {
    double sum, targets;
} mean_acc;

static void add_mean(tp_node *n, int first, int b, float loss, void *ctx) {
    (void)first, (void)b;
    mean_acc *a = ctx;
    double cnt = (double)tp_llama_last_target_count(n->model);
    a->sum += (double)loss * cnt;
    a->targets += cnt;
}

tp_status tp_node_loss(tp_node *n, tp_split split, const uint64_t *samples, int count, double *loss, tp_err *err) {
    mean_acc a = {0};
    tp_status st = forward_samples(n, split, samples, count, add_mean, &a, err);
    *loss = a.targets > 0 ? a.sum / a.targets : 0;
    return st;
}

typedef struct {
    double *sum;
    int64_t *count; /* scratch, max_b */
} rows_acc;

static void add_rows(tp_node *n, int first, int b, float loss, void *ctx) {
    (void)b, (void)loss;
    rows_acc *a = ctx;
    tp_llama_last_row_losses(n->model, a->sum + first, a->count);
}

tp_status tp_node_sample_losses(tp_node *n, tp_split split, const uint64_t *samples, int count, double *sum,
                                tp_err *err) {
    rows_acc a = {.sum = sum, .count = tp_malloc(sizeof(int64_t) * (size_t)n->model->max_b, err)};
    if (!a.count) return err->code;
    tp_status st = forward_samples(n, split, samples, count, add_rows, &a, err);
    free(a.count);
    return st;
}
