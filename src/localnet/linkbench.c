/* What the links cost at a model's update size (`templar bench links`): M miner hosts and a store
 * host over the testbed's shaped links; each round every miner puts one update of the payload size
 * into its bucket at once (the start of a window), then every miner gathers all the others' under
 * the gather deadline (the end of the put window), as the protocol does. Updates are random bytes
 * of the right size: the link does not care what they encode, and a 150M model does not train on
 * this machine's two cores. The chain plays no part. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "localnet/linkbench.h"
#include "net/store.h"
#include "testbed/host_proc.h"

#define CALL_TIMEOUT_S 3600.0

/* s3rver's fixed credentials (what localnet commits as every bucket's read credentials too). */
static tp_store_creds s3rver_creds(void) {
    tp_store_creds c;
    memset(&c, 0, sizeof c);
    snprintf(c.access_key, sizeof c.access_key, "S3RVER");
    snprintf(c.secret_key, sizeof c.secret_key, "S3RVER");
    return c;
}

typedef struct {
    const char *uri;
    char key[64];
    const uint8_t *data;
    size_t len;
} put_job;

typedef struct {
    double seconds;
} put_out;

typedef struct {
    char uris[LN_MAX_NODES][TP_CHAIN_URI_MAX];
    char key[64];
    int n;
    size_t max;
    double timeout_s;
} get_job;

typedef struct {
    double seconds;
    int got;
    uint64_t bytes;
} get_out;

static tp_status do_put(void *ctx, void *out, size_t out_len, tp_err *err) {
    (void)out_len;
    const put_job *j = ctx;
    tp_store *s;
    tp_store_creds creds = s3rver_creds();
    double t0 = tp_now();
    tp_status st = tp_store_open(j->uri, &creds, NULL, &s, err);
    if (st) return st;
    st = tp_store_put(s, j->key, j->data, j->len, err);
    tp_store_close(s);
    ((put_out *)out)->seconds = tp_now() - t0;
    return st;
}

static tp_status do_get(void *ctx, void *out, size_t out_len, tp_err *err) {
    (void)out_len;
    const get_job *j = ctx;
    get_out *o = out;
    tp_store *stores[LN_MAX_NODES] = {0};
    tp_gather_item items[LN_MAX_NODES];
    memset(items, 0, sizeof items);
    tp_store_creds creds = s3rver_creds();
    double t0 = tp_now();
    tp_status st = TP_OK;
    for (int i = 0; !st && i < j->n; i++) {
        st = tp_store_open(j->uris[i], &creds, NULL, &stores[i], err);
        items[i].store = stores[i];
        items[i].key = j->key;
    }
    tp_gather_opts go = {.timeout_s = j->timeout_s, .max_bytes = j->max};
    if (!st) st = tp_store_gather(items, (size_t)j->n, &go, err);
    o->seconds = tp_now() - t0;
    for (int i = 0; i < j->n; i++) {
        o->got += items[i].status == TP_FETCH_OK;
        o->bytes += items[i].received;
        tp_store_close(stores[i]);
    }
    tp_gather_free(items, (size_t)j->n);
    return st;
}

/* ---------------------------------------------------------------- one round */

static tp_status put_round(ln_net *net, int round, const uint8_t *data, size_t len, double *worst, tp_err *err) {
    int m = (int)net->opt.miners;
    tb_host *hosts[LN_MAX_NODES] = {0};
    void *ctxs[LN_MAX_NODES] = {0};
    put_job jobs[LN_MAX_NODES];
    put_out outs[LN_MAX_NODES];
    tp_err errs[LN_MAX_NODES];
    for (int i = 0; i < m; i++) {
        ln_node *n = &net->nodes[1 + i];
        hosts[i] = n->host;
        jobs[i] = (put_job){.uri = n->store, .data = data, .len = len};
        snprintf(jobs[i].key, sizeof jobs[i].key, "linkbench-%d", round);
        ctxs[i] = &jobs[i];
    }
    tp_status st = tb_host_call_all(hosts, m, do_put, ctxs, outs, sizeof *outs, CALL_TIMEOUT_S, errs);
    for (int i = 0; i < m; i++) {
        if (errs[i].code) {
            *err = errs[i];
            return tp_wrap(err, "%s: putting the update", net->nodes[1 + i].name);
        }
        if (outs[i].seconds > *worst) *worst = outs[i].seconds;
    }
    return st;
}

/* Every miner gathers every other miner's update of the round. */
static tp_status get_round(ln_net *net, int round, size_t len, double timeout_s, ln_linkbench_round *r,
                           tp_err *err) {
    int m = (int)net->opt.miners;
    tb_host *hosts[LN_MAX_NODES] = {0};
    void *ctxs[LN_MAX_NODES] = {0};
    get_out *outs = tp_calloc((size_t)m, sizeof *outs, err);
    get_job *jobs = tp_calloc((size_t)m, sizeof *jobs, err);
    tp_err *errs = tp_calloc((size_t)m, sizeof *errs, err);
    tp_status st = outs && jobs && errs ? TP_OK : TP_ERR_NOMEM;
    for (int i = 0; !st && i < m; i++) {
        hosts[i] = net->nodes[1 + i].host;
        for (int k = 0; k < m; k++)
            if (k != i) snprintf(jobs[i].uris[jobs[i].n++], TP_CHAIN_URI_MAX, "%s", net->nodes[1 + k].store);
        snprintf(jobs[i].key, sizeof jobs[i].key, "linkbench-%d", round);
        jobs[i].max = len + 1;
        jobs[i].timeout_s = timeout_s;
        ctxs[i] = &jobs[i];
    }
    if (!st) st = tb_host_call_all(hosts, m, do_get, ctxs, outs, sizeof *outs, CALL_TIMEOUT_S, errs);
    for (int i = 0; !st && i < m; i++) {
        r->down_s = fmax(r->down_s, outs[i].seconds);
        r->fetched += outs[i].got;
        r->wanted += m - 1;
        r->bytes_down += outs[i].bytes;
    }
    for (int i = 0; st && errs && i < m; i++)
        if (errs[i].code) *err = errs[i];
    free(outs);
    free(jobs);
    free(errs);
    return st;
}

/* ---------------------------------------------------------------- the bench */

static tp_status make_net(ln_net *net, const ln_linkbench_opts *o, tp_err *err) {
    net->opt.miners = o->miners;
    net->opt.hosts = 1;
    net->opt.s3 = 1;
    net->opt.link = o->link;
    memcpy(net->opt.host_links, o->host_links, sizeof net->opt.host_links);
    net->opt.n_host_links = o->n_host_links;
    tp_status st = ln_locate(net, err);
    if (!st) st = tp_mkdirs(o->out, err);
    if (st || !realpath(o->out, net->dir)) return st ? st : tp_fail(err, TP_ERR_IO, "cannot resolve %s", o->out);
    char logs[LN_PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", net->dir);
    if ((st = tp_mkdirs(logs, err))) return st;
    net->n_nodes = (int)o->miners + 1;
    if (!(net->nodes = tp_calloc((size_t)net->n_nodes, sizeof *net->nodes, err))) return err->code;
    for (int i = 0; i < net->n_nodes; i++) {
        snprintf(net->nodes[i].name, sizeof net->nodes[i].name, i ? "miner-%d" : "owner", i - 1);
        net->nodes[i].kind = i ? LN_MINER : LN_OWNER;
        ln_wait_reader_init(&net->nodes[i].wait, -1);
    }
    return TP_OK;
}

static tp_status run_rounds(ln_net *net, const ln_linkbench_opts *o, ln_linkbench_result *res, tp_err *err) {
    uint8_t *data = tp_malloc(o->payload_bytes, err);
    if (!data) return err->code;
    tp_rng rng;
    tp_rng_seed(&rng, 12);
    for (size_t i = 0; i < o->payload_bytes; i++) data[i] = (uint8_t)tp_rng_next(&rng);
    tp_status st = TP_OK;
    for (int r = 0; !st && r < o->rounds; r++) {
        ln_linkbench_round *x = &res->rounds[r];
        memset(x, 0, sizeof *x);
        if (!(st = put_round(net, r, data, o->payload_bytes, &x->up_s, err)))
            st = get_round(net, r, o->payload_bytes, res->deadlines.gather_timeout_s, x, err);
        x->bytes_up = o->payload_bytes;
        if (!st)
            printf("round %d: put %.2f s, gather %.2f s (%d of %d updates), %.1f MB down per miner\n", r + 1, x->up_s,
                   x->down_s, x->fetched, x->wanted, (double)x->bytes_down / 1e6 / (double)o->miners);
        fflush(stdout);
    }
    free(data);
    return st;
}

tp_status ln_linkbench(const ln_linkbench_opts *o, ln_linkbench_result *res, tp_err *err) {
    memset(res, 0, sizeof *res);
    if (o->rounds < 1 || o->rounds > LN_LINKBENCH_MAX_ROUNDS || o->miners < 2 || o->miners + 2 > LN_MAX_NODES)
        return tp_fail(err, TP_ERR_ARG, "linkbench: 1..%d rounds and 2..%d miners", LN_LINKBENCH_MAX_ROUNDS,
                       LN_MAX_NODES - 2);
    ln_net *net = tp_calloc(1, sizeof *net, err);
    if (!net) return err->code;
    tp_status st = make_net(net, o, err);
    if (!st) st = ln_hosts_create(net, err);
    if (!st) st = ln_s3_start(net, err);
    if (!st) st = ln_hosts_measure_links(net, &res->slowest, err);
    if (!st) {
        tp_protocol p;
        tp_protocol_default(&p);
        tp_deadlines_from_link(&p, &res->slowest, o->payload_bytes, (int)o->miners - 1, o->block_time_s,
                               &res->deadlines);
        res->links = json_incref(net->tb.links);
        st = run_rounds(net, o, res, err);
    }
    ln_s3_stop(&net->s3);
    ln_hosts_destroy(net);
    ln_net_free(net);
    free(net);
    return st;
}
