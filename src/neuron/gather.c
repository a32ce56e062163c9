#include "neuron/gather.h"

#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/sort.h"

/* ---------------------------------------------------------------- the gather object */

tp_status tp_window_gather_init(tp_window_gather *g, int count, tp_err *err) {
    memset(g, 0, sizeof *g);
    if (count < 0 || count > TP_CHAIN_MAX_UIDS)
        return tp_fail(err, TP_ERR_ARG, "gather: %d uids, at most %d", count, TP_CHAIN_MAX_UIDS);
    size_t cap = (size_t)count + 1;
    if (!(g->payload = tp_calloc(cap, sizeof *g->payload, err)) || !(g->bytes = tp_calloc(cap, sizeof *g->bytes, err)) ||
        !(g->len = tp_calloc(cap, sizeof *g->len, err)))
        return err->code;
    return TP_OK;
}

void tp_window_gather_free(tp_window_gather *g) {
    for (int i = 0; g->payload && i < g->n; i++) tp_payload_free(&g->payload[i]);
    for (int i = 0; g->bytes && i < g->n; i++) free(g->bytes[i]);
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

static int by_uid(const void *a, const void *b, void *ctx) {
    const tp_window_gather *g = ctx;
    int64_t x = g->uid[*(const int *)a], y = g->uid[*(const int *)b];
    return (x > y) - (x < y);
}

void tp_gather_sort_by_uid(const tp_window_gather *g, int *idx, int count) {
    tp_sort_stable(idx, (size_t)count, sizeof *idx, by_uid, (void *)g);
}

int tp_gather_failed_by_uploader(const tp_window_gather *g, int i) {
    if (g->payload[i].valid) return 0;
    if (g->fetch[i] != TP_FETCH_OK) return 1;
    return g->reject[i] != TP_REJ_NONE && g->reject[i] != TP_REJ_INTERNAL;
}

/* ---------------------------------------------------------------- validation */

/* What entry i must be: window W's update of its uid, signed by the uid's registered hotkey with the
 * key type its commitment names. */
static tp_status expect_for(tp_node *n, int64_t window, const tp_window_gather *g, int i, uint8_t *key,
                            tp_payload_expect *e, tp_err *err) {
    memset(e, 0, sizeof *e);
    e->model = &n->rc.cfg.model;
    e->params = &n->rc.codec;
    e->check_window = e->check_uid = 1;
    e->window = (uint64_t)window;
    e->uid = (uint32_t)g->uid[i];
    e->run_version = n->rc.proto.run_version;
    const char *hk = g->uid[i] < n->mg.n ? n->mg.neurons[g->uid[i]].hotkey : "";
    if (strlen(hk) != 64 || tp_unhex(hk, key, 32)) memset(key, 0, 32); /* no such key: bad signature */
    e->pubkey = key;
    e->check_key_type = 1;
    e->max_bytes = n->max_payload;
    return tp_node_peer_key_type(n, g->uid[i], &e->key_type, err);
}

tp_status tp_node_validate_gather(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err) {
    size_t cap = (size_t)g->n + 1;
    tp_payload_expect *exps = tp_calloc(cap, sizeof *exps, err);
    uint8_t(*keys)[32] = exps ? tp_calloc(cap, 32, err) : NULL;
    tp_status *sts = keys ? tp_calloc(cap, sizeof *sts, err) : NULL;
    tp_status st = sts ? TP_OK : err->code;
    for (int i = 0; !st && i < g->n; i++) st = expect_for(n, window, g, i, keys[i], &exps[i], err);
    if (!st) tp_payload_read_many((const uint8_t *const *)g->bytes, g->len, exps, g->n, g->payload, sts, NULL);
    for (int i = 0; !st && i < g->n; i++) {
        if (g->fetch[i] != TP_FETCH_OK) continue;
        g->reject[i] = g->payload[i].reason;
        /* Our own trouble is no verdict on the upload: the whole gather fails instead. */
        if (sts[i] == TP_ERR_NOMEM || g->reject[i] == TP_REJ_INTERNAL)
            st = tp_fail(err, TP_ERR_NOMEM, "validating uid %lld's update: out of memory", (long long)g->uid[i]);
    }
    free(exps);
    free(keys);
    free(sts);
    return st;
}

/* ---------------------------------------------------------------- gather */

/* The fetches of a gather: one item per uid with a bucket. */
typedef struct {
    tp_gather_item *items;
    char (*keys)[TP_KEY_MAX];
    int *slot; /* item → index in g */
    int n;
} fetch_plan;

static void plan_free(fetch_plan *p) {
    if (p->items) tp_gather_free(p->items, (size_t)p->n);
    free(p->items);
    free(p->keys);
    free(p->slot);
}

static tp_status plan_fetches(tp_node *n, int64_t window, tp_window_gather *g, fetch_plan *p, tp_err *err) {
    size_t cap = (size_t)g->n + 1;
    memset(p, 0, sizeof *p);
    if (!(p->items = tp_calloc(cap, sizeof *p->items, err)) || !(p->keys = tp_calloc(cap, TP_KEY_MAX, err)) ||
        !(p->slot = tp_calloc(cap, sizeof *p->slot, err)))
        return err->code;
    for (int i = 0; i < g->n; i++) {
        tp_store *s = NULL;
        tp_err e;
        if (tp_node_peer_store(n, g->uid[i], &s, &e)) tp_node_log(n, "uid %lld: %s", (long long)g->uid[i], e.msg);
        if (!s) continue;
        tp_node_key(n, TP_KEY_GRADIENT, window, g->uid[i], NULL, p->keys[p->n], TP_KEY_MAX);
        p->items[p->n].store = s;
        p->items[p->n].key = p->keys[p->n];
        p->slot[p->n++] = i;
    }
    return TP_OK;
}

tp_status tp_node_gather(tp_node *n, int64_t window, const int64_t *uids, int count, tp_window_gather *g,
                         tp_err *err) {
    tp_status st = tp_window_gather_init(g, count, err);
    if (st || (st = tp_node_await_block(n, tp_node_put_close_block(n, window), err))) return st;
    g->n = count;
    for (int i = 0; i < count; i++) {
        g->uid[i] = uids[i];
        g->fetch[i] = TP_FETCH_NOT_FOUND;
        g->reject[i] = TP_REJ_NONE;
    }
    fetch_plan p = {0};
    tp_gather_opts go = {.timeout_s = n->rc.proto.gather_timeout_s, .max_bytes = n->max_payload};
    if (!(st = tp_node_put_window(n, window, &go.not_before, &go.not_after, err)) &&
        !(st = plan_fetches(n, window, g, &p, err))) {
        tp_sleep(go.not_after - tp_wall_now()); /* what may still be stored in time is fetched too */
        st = tp_store_gather(p.items, (size_t)p.n, &go, err);
    }
    g->not_before = go.not_before;
    g->not_after = go.not_after;
    for (int j = 0; !st && j < p.n; j++) {
        int i = p.slot[j];
        g->fetch[i] = p.items[j].status;
        g->mtime[i] = p.items[j].stat.mtime;
        g->bytes_down += p.items[j].received;
        if (p.items[j].status == TP_FETCH_OK) {
            g->bytes[i] = p.items[j].data;
            g->len[i] = p.items[j].len;
            p.items[j].data = NULL;
        }
    }
    plan_free(&p);
    return st ? st : tp_node_validate_gather(n, window, g, err);
}

tp_status tp_node_gather_peers(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err) {
    int64_t uids[2 * TP_PEERS_MAX];
    int cnt = 0;
    for (int i = 0; i < n->peers.n_gather; i++) uids[cnt++] = n->peers.gather[i];
    for (int i = 0; i < n->peers.n_reserve; i++) uids[cnt++] = n->peers.reserve[i];
    return tp_node_gather(n, window, uids, cnt, g, err);
}

/* ---------------------------------------------------------------- the applied set and the outer step */

int tp_node_gather_of(const tp_node *n, const tp_peer_list *pl) {
    return pl->n_gather < n->rc.proto.gather_peers ? pl->n_gather : n->rc.proto.gather_peers;
}

int tp_node_select_applied(const tp_node *n, const tp_peer_list *pl, const tp_window_gather *g, int *idx) {
    int count = 0, want = tp_node_gather_of(n, pl);
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

/* Outer SGD with momentum (torch.optim.SGD semantics, as DiLoCo's outer optimizer): m ← μ·m + a;
 * θ ← θ − lr·(a + μ·m) with Nesterov, else θ − lr·m. One statement per rounding, so that no
 * compiler fuses them and every node rounds alike. */
static void momentum_step(float *theta, float *m, const float *neg_agg, size_t n, float lr, float mu, int nesterov) {
    for (size_t i = 0; i < n; i++) {
        float a = -neg_agg[i];
        float decayed = mu * m[i];
        m[i] = decayed + a;
        float ahead = mu * m[i];
        float dir = nesterov ? a + ahead : m[i];
        float step = lr * dir;
        theta[i] = theta[i] - step;
    }
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
    uint8_t *skipped = tp_calloc((size_t)L->n_tensors, 1, err);
    if (!skipped) return err->code;
    int n_skipped = 0;
    const tp_protocol *pr = &n->rc.proto;
    tp_outer_opts o = {.lr = (float)pr->outer_lr, .mean_over_all = pr->mean_over_all, .clip = pr->clip};
    tp_status st;
    if (n->outer_m) {
        /* The aggregate alone first: θ = 0 stepped at lr 1 leaves −aggregate. */
        float *neg_agg = n->outer_m + L->total;
        memset(neg_agg, 0, sizeof(float) * L->total);
        o.lr = 1.0f;
        if (!(st = tp_outer_step_opts(neg_agg, L, peers, uids, count, &o, n->ws, skipped, &n_skipped, err)))
            momentum_step(n->model->params, n->outer_m, neg_agg, L->total, (float)pr->outer_lr,
                          (float)pr->outer_momentum, pr->outer_nesterov);
    } else
        st = tp_outer_step_opts(n->model->params, L, peers, uids, count, &o, n->ws, skipped, &n_skipped, err);
    for (int t = 0; !st && t < L->n_tensors; t++)
        if (skipped[t]) tp_node_log(n, "outer step: tensor %s left unchanged (non-finite aggregate)", L->tensors[t].name);
    free(skipped);
    return st;
}

tp_status tp_node_publish_debug(tp_node *n, int64_t window, int gathered, int gather_of, tp_fingerprint *fp,
                                tp_err *err) {
    memset(fp, 0, sizeof *fp);
    tp_status st = tp_fingerprint_compute(&n->model->layout, n->model->params, (uint64_t)window, (uint32_t)n->uid, fp,
                                          err);
    if (st) return st;
    fp->gathered = (uint32_t)gathered;
    fp->gather_of = (uint32_t)(gather_of < gathered ? gathered : gather_of);
    char *js, key[TP_KEY_MAX];
    tp_err e;
    if ((st = tp_fingerprint_to_json(fp, &n->model->layout, &js, &e))) {
        tp_node_log(n, "window %lld: debug fingerprint not published: %s", (long long)window, e.msg);
        return TP_OK; /* non-finite samples: the peers judge the missing fingerprint */
    }
    tp_node_key(n, TP_KEY_DEBUG, window, n->uid, NULL, key, sizeof key);
    if (tp_node_put_text(n, key, js, &e))
        tp_node_log(n, "window %lld: debug fingerprint not published: %s", (long long)window, e.msg);
    free(js);
    return TP_OK;
}
