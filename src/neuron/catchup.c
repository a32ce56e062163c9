/* Catch-up (DESIGN §11.6): a node that joins late or restarts loads the leader's latest checkpoint
 * and replays each later window from the leader's aggregator-W, or from a live gather. */
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "neuron/gather.h"

/* Bytes an aggregator file may add to the payloads it carries: per payload its safetensors entry,
 * plus the header's metadata. */
#define AGGREGATOR_ENTRY_BYTES 64
#define AGGREGATOR_HEADER_BYTES 65536
/* A checkpoint's files beyond the model's floats: config.json and the safetensors header. */
#define CHECKPOINT_OVERHEAD_BYTES (1u << 20)

/* Moves the update bytes named u<uid> out of the leader's aggregator file into g (fetched, not yet
 * validated). Entries that are not such tensors are ignored: validation judges the rest. */
static tp_status unpack_aggregator(tp_node *n, const tp_st *sf, tp_window_gather *g, tp_err *err) {
    tp_status st = tp_window_gather_init(g, sf->n, err);
    for (int i = 0; !st && i < sf->n; i++) {
        const tp_st_tensor *t = &sf->tensors[i];
        char *end;
        long long u = t->name[0] == 'u' ? strtoll(t->name + 1, &end, 10) : -1;
        if (u < 0 || u >= n->mg.n || *end || t->dtype != TP_DT_U8 || tp_gather_find(g, u) >= 0) continue;
        if (!(g->bytes[g->n] = tp_malloc(t->nbytes + 1, err))) return err->code;
        memcpy(g->bytes[g->n], t->data, t->nbytes);
        g->uid[g->n] = u;
        g->fetch[g->n] = TP_FETCH_OK;
        g->len[g->n++] = t->nbytes;
    }
    return st;
}

/* Applies the leader's aggregator-W: the signed payloads it applied. *found = 0 if there is none. */
static tp_status replay_aggregator(tp_node *n, int64_t window, int *found, tp_err *err) {
    char key[TP_KEY_MAX], *bytes;
    size_t len;
    tp_node_key(n, TP_KEY_AGGREGATOR, window, 0, NULL, key, sizeof key);
    size_t max = (size_t)(n->rc.proto.gather_peers + 1) * (n->max_payload + AGGREGATOR_ENTRY_BYTES) +
                 AGGREGATOR_HEADER_BYTES;
    tp_status st = tp_node_get_small(n, n->leader, key, max, &bytes, &len, NULL, found, err);
    if (st || !*found) return st;
    tp_st sf;
    tp_window_gather g = {0};
    if (!(st = tp_st_parse((const uint8_t *)bytes, len, TP_AGG_MAX_PEERS, &sf, err))) {
        st = unpack_aggregator(n, &sf, &g, err);
        tp_st_free(&sf);
    } else
        st = tp_wrap(err, "%s", key);
    free(bytes);
    int idx[TP_AGG_MAX_PEERS], count = 0;
    if (!st) st = tp_node_validate_gather(n, window, &g, err);
    for (int i = 0; !st && i < g.n && count < TP_AGG_MAX_PEERS; i++)
        if (g.payload[i].valid) idx[count++] = i;
    tp_gather_sort_by_uid(&g, idx, count);
    if (!st && !(st = tp_node_outer_step(n, &g, idx, count, err)))
        tp_node_log(n, "catch-up: window %lld replayed from %s (%d updates)", (long long)window, key, count);
    tp_window_gather_free(&g);
    return st;
}

/* A gather that reached no bucket at all (every fetch failed in transit) says nothing about the
 * window: replaying it as "no updates" would skip it. */
static int reached_nobody(const tp_window_gather *g) {
    for (int i = 0; i < g->n; i++)
        if (g->fetch[i] != TP_FETCH_ERROR) return 0;
    return g->n > 0;
}

static tp_status replay_live(tp_node *n, int64_t window, tp_err *err) {
    tp_status st = tp_node_adopt_peers(n, window, err);
    if (st) return st;
    tp_window_gather g;
    int idx[TP_AGG_MAX_PEERS], count = 0;
    if (!(st = tp_node_gather_peers(n, window, &g, err))) {
        count = tp_node_select_applied(n, &n->peers, &g, idx);
        if (reached_nobody(&g))
            st = tp_fail_transient(err, TP_ERR_IO, "no peer's bucket could be reached for window %lld", (long long)window);
        else
            st = tp_node_outer_step(n, &g, idx, count, err);
    }
    tp_window_gather_free(&g);
    if (!st) tp_node_log(n, "catch-up: window %lld replayed from a live gather (%d updates)", (long long)window, count);
    return st;
}

/* Downloads the leader's checkpoint of window win into STATE/leader-checkpoint and loads it. */
static tp_status fetch_checkpoint(tp_node *n, int64_t win, tp_err *err) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/leader-checkpoint", n->state_dir);
    tp_store *s;
    tp_status st = tp_mkdirs(dir, err);
    if (st || (st = tp_node_peer_store(n, n->leader, &s, err))) return st;
    if (!s) return tp_fail(err, TP_ERR_IO, "the leader has no bucket");
    static const char *const files[] = {"model.safetensors", "config.json", TP_OUTER_MOMENTUM_FILE};
    size_t max = n->model->layout.total * sizeof(float) + CHECKPOINT_OVERHEAD_BYTES;
    for (int i = 0; i < (n->outer_m ? 3 : 2); i++) {
        char obj[TP_KEY_MAX], path[1400];
        tp_node_key(n, TP_KEY_CHECKPOINT, win, 0, files[i], obj, sizeof obj);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        tp_fetch why;
        if ((st = tp_store_get_file(s, obj, max, path, NULL, &why, err))) return tp_wrap(err, "checkpoint %s", obj);
    }
    if ((st = tp_checkpoint_load_weights(dir, n->model, err)) || (st = tp_node_load_outer_momentum(n, dir, err)))
        return tp_wrap(err, "the leader's checkpoint");
    tp_node_log(n, "loaded the leader's checkpoint of window %lld", (long long)win);
    return TP_OK;
}

/* Loads the leader's latest checkpoint; *window = −1 when it has none. */
static tp_status load_leader_checkpoint(tp_node *n, int64_t *window, tp_err *err) {
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_CHECKPOINT_LATEST, 0, 0, NULL, key, sizeof key);
    tp_status st = tp_node_get_index(n, n->leader, key, "window", window, err);
    if (st || *window < 0) return st;
    return fetch_checkpoint(n, *window, err);
}

/* Replays window W: from the leader's aggregator-W when it is there one block after W's put window
 * closed (the leader publishes it while processing W, at that closing block), else live. */
static tp_status replay_window(tp_node *n, int64_t w, tp_err *err) {
    tp_status st = tp_node_await_block(n, tp_node_put_close_block(n, w) + 1, err);
    if (st || (st = tp_node_refresh(n, err))) return st;
    int found = 0;
    tp_err e;
    if (n->leader >= 0 && replay_aggregator(n, w, &found, &e)) {
        tp_node_log(n, "catch-up: window %lld: %s", (long long)w, e.msg);
        found = 0;
    }
    if (!found && (st = replay_live(n, w, err))) return tp_wrap(err, "catching up window %lld", (long long)w);
    return TP_OK;
}

tp_status tp_node_catch_up(tp_node *n, int64_t *next, int64_t to, tp_err *err) {
    tp_status st;
    if (*next < 0) {
        /* No local state: start from the leader's checkpoint, or from the initial model at the start. */
        int64_t w = -1;
        if ((st = tp_node_refresh(n, err)) || (n->leader >= 0 && (st = load_leader_checkpoint(n, &w, err)))) return st;
        *next = w >= 0 ? w + 1 : n->start_window;
    }
    for (; *next < to; (*next)++)
        if ((st = replay_window(n, *next, err))) return st;
    return TP_OK;
}
