/* A localnet across hosts (`templar testbed`): every neuron, the chain and the store on a network
 * namespace of its own (testbed/hosts.h) with an internet-like link (testbed/link.h). Each neuron has
 * its own TEMPLAR_HOME (its wallet only) and run config under DIR/hosts/<wallet>/ and its own state
 * directory, and reaches the chain and the store only by their hosts' addresses. The delay of every
 * link is added by a relay in front of each service (testbed/relay.h), since this kernel has no
 * netem. Before any neuron starts, each neuron host's link to the store is measured, and the
 * protocol's deadlines (put window, gather timeout) are set from those measurements and the block
 * time (neuron/deadlines.h). */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/wire.h"
#include "core/fileio.h"
#include "localnet/localnet.h"
#include "net/wallet.h"
#include "neuron/deadlines.h"
#include "testbed/host_proc.h"
#include "testbed/probe.h"
#include "testbed/relay.h"

#define CHAIN_HOST "chain"
#define STORE_HOST "s3"
#define PROBE_PORT 4700          /* on the store's host; any port is free in a fresh namespace */
#define PROBE_RTT_SAMPLES 5
#define PROBE_SECONDS 0.5        /* each direction's measurement lasts about this long at the link's rate */
#define PROBE_MIN_BYTES ((size_t)256 << 10)
#define PROBE_MAX_BYTES ((size_t)16 << 20)
#define PROBE_TIMEOUT_S 120.0
#define RATE_TOLERANCE 0.15      /* a measured rate this far below the configured one is reported */

/* ---------------------------------------------------------------- hosts and links */

static const tb_link *link_of(const ln_net *net, const char *host) {
    for (int i = 0; i < net->opt.n_host_links; i++)
        if (!strcmp(net->opt.host_links[i].host, host)) return &net->opt.host_links[i].link;
    return &net->opt.link;
}

/* The host's own directory: its TEMPLAR_HOME with its wallet alone, and its run config. */
static tp_status host_dirs(ln_net *net, const ln_node *n, tp_err *err) {
    char path[LN_PATH_MAX + 64], host_home[LN_PATH_MAX + 128], host_path[LN_PATH_MAX + 160];
    if (ln_wallet_path(net, path, sizeof path, err)) return err->code;
    snprintf(host_home, sizeof host_home, "%s/hosts/%s/home", net->dir, n->name);
    snprintf(host_path, sizeof host_path, "%s/wallets", host_home);
    tp_wallet w;
    tp_err ignored;
    if (!tp_wallet_load(host_path, n->name, NULL, &w, &ignored)) { /* a setup that stopped half-way */
        tp_wallet_clear(&w);
        return TP_OK;
    }
    tp_status st = tp_mkdirs(host_home, err);
    if (!st) st = tp_wallet_load(path, n->name, NULL, &w, err);
    if (!st) st = tp_wallet_save_hotkey(host_path, &w, err);
    tp_wallet_clear(&w);
    return st;
}

static tp_status make_hosts(ln_net *net, tp_err *err) {
    const char *names[LN_MAX_NODES + 2];
    int n = 0;
    for (int i = 1; i < net->n_nodes; i++) names[n++] = net->nodes[i].name;
    if (net->opt.subtensor) names[n++] = CHAIN_HOST;
    names[n++] = STORE_HOST;
    char log[LN_PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/logs/testbed.log", net->dir);
    tp_status st = tb_hosts_create(&net->tb.hosts, names, n, log, err);
    if (st) return tp_wrap(err, "making the testbed's hosts");
    for (int i = 1; i < net->n_nodes; i++) net->nodes[i].host = tb_host_find(&net->tb.hosts, net->nodes[i].name);
    net->tb.chain = tb_host_find(&net->tb.hosts, CHAIN_HOST);
    net->s3.host = tb_host_find(&net->tb.hosts, STORE_HOST);
    return TP_OK;
}

tp_status ln_hosts_create(ln_net *net, tp_err *err) {
    tp_status st = make_hosts(net, err);
    for (int k = 0; !st && k < net->tb.hosts.n; k++) {
        tb_host *x = &net->tb.hosts.hosts[k];
        st = tb_link_shape(&net->tb.hosts, x, link_of(net, x->name), err);
    }
    for (int i = 1; !st && net->opt.subtensor && i < net->n_nodes; i++) st = host_dirs(net, &net->nodes[i], err);
    if (st) return st;
    char def[64];
    tb_link_describe(&net->opt.link, def, sizeof def);
    printf("localnet: testbed of %d hosts on 10.%d.0.0/16 (bridge %s), links %s", net->tb.hosts.n,
           net->tb.hosts.octet, net->tb.hosts.bridge, def);
    for (int i = 0; i < net->opt.n_host_links; i++) {
        tb_link_describe(&net->opt.host_links[i].link, def, sizeof def);
        printf("; %s %s", net->opt.host_links[i].host, def);
    }
    printf("\n");
    fflush(stdout);
    return TP_OK;
}

void ln_hosts_destroy(ln_net *net) {
    tb_server_stop(&net->tb.chain_relay);
    tb_server_stop(&net->s3.relay);
    tb_hosts_destroy(&net->tb.hosts);
    json_decref(net->tb.links);
    net->tb.links = NULL;
}

/* ---------------------------------------------------------------- relays */

typedef struct {
    tb_relay_opts o;
} relay_ctx;

static tp_status serve_relay(int fd, void *ctx, tp_err *err) {
    tb_relay_opts o = ((relay_ctx *)ctx)->o;
    o.listen_fd = fd;
    volatile sig_atomic_t never = 0; /* it runs until it is killed */
    return tb_relay_serve(&o, &never, err);
}

tp_status ln_hosts_relay(ln_net *net, tb_host *x, int port, pid_t *pid, tp_err *err) {
    tb_hosts *h = &net->tb.hosts;
    tb_relay_peer *peers = calloc((size_t)h->n, sizeof *peers);
    if (!peers) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (int k = 0; k < h->n; k++) peers[k] = (tb_relay_peer){h->hosts[k].addr_be, link_of(net, h->hosts[k].name)->delay_s};
    /* The operator (this process, on the bridge's address) has no link of its own: no delay. */
    relay_ctx ctx = {.o = {.upstream_port = (uint16_t)port, .own_delay_s = link_of(net, x->name)->delay_s,
                           .peers = peers, .n_peers = h->n}};
    tp_status st = tb_host_serve(x, x->addr, port, serve_relay, &ctx, pid, err);
    free(peers);
    return st ? tp_wrap(err, "starting the relay of %s:%d", x->addr, port) : TP_OK;
}

/* ---------------------------------------------------------------- measuring the links */

typedef struct {
    const char *addr;
    size_t bytes;
} probe_args;

static tp_status run_probe(void *ctx, void *out, size_t out_len, tp_err *err) {
    (void)out_len;
    const probe_args *a = ctx;
    return tb_probe_measure(a->addr, PROBE_PORT, a->bytes, PROBE_RTT_SAMPLES, PROBE_TIMEOUT_S, out, err);
}

static size_t probe_bytes(const tb_link *l) {
    if (l->rate_bps <= 0) return PROBE_MAX_BYTES / 2;
    double b = l->rate_bps / 8 * PROBE_SECONDS;
    return b < PROBE_MIN_BYTES ? PROBE_MIN_BYTES : b > PROBE_MAX_BYTES ? PROBE_MAX_BYTES : (size_t)b;
}

/* One neuron host's link to the store, measured: its record for the report, and a line. */
static tp_status measure_host(ln_net *net, const ln_node *n, tb_probe_result *r, tp_err *err) {
    const tb_link *l = link_of(net, n->name), *sl = link_of(net, STORE_HOST);
    probe_args a = {net->s3.host->addr, probe_bytes(l)};
    tp_status st = tb_host_call(n->host, run_probe, &a, r, sizeof *r, PROBE_TIMEOUT_S + 10, err);
    if (st) return tp_wrap(err, "measuring the link of %s", n->name);
    /* Each end delays what it sends; the narrower end limits the rate. */
    double want_rtt = l->delay_s + sl->delay_s;
    double want_rate = l->rate_bps > 0 && (sl->rate_bps <= 0 || sl->rate_bps > l->rate_bps) ? l->rate_bps : sl->rate_bps;
    int slow = want_rate > 0 && fmin(r->up_bps, r->down_bps) < (1 - RATE_TOLERANCE) * want_rate;
    char want[32] = "unlimited";
    if (want_rate > 0) snprintf(want, sizeof want, "%g Mbit/s", want_rate / 1e6);
    printf("localnet: link %s ↔ %s: round trip %.1f ms (configured %.1f), up %.1f Mbit/s, down %.1f Mbit/s "
           "(configured %s)%s\n",
           n->name, STORE_HOST, r->rtt_s * 1e3, want_rtt * 1e3, r->up_bps / 1e6, r->down_bps / 1e6, want,
           slow ? ": SLOWER than configured" : "");
    json_t *rec = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "host", n->name, "delay_ms", l->delay_s * 1e3,
                            "rate_mbit", want_rate / 1e6, "rtt_ms_configured", want_rtt * 1e3, "rtt_ms", r->rtt_s * 1e3,
                            "up_mbit", r->up_bps / 1e6, "down_mbit", r->down_bps / 1e6);
    if (rec) json_array_append_new(net->tb.links, rec);
    if (slow) ln_note(net, "the link of %s measured below its configured rate", n->name);
    return TP_OK;
}

/* Every neuron host's link, one after another (they share the store's link). The slowest rate and
 * the longest round trip are what the deadlines must allow for. */
tp_status ln_hosts_measure_links(ln_net *net, tp_link_speed *slowest, tp_err *err) {
    pid_t relay = 0, server = 0;
    tp_status st = tb_host_serve(net->s3.host, "127.0.0.1", PROBE_PORT, tb_probe_serve_forever, NULL, &server, err);
    if (!st) st = ln_hosts_relay(net, net->s3.host, PROBE_PORT, &relay, err);
    json_decref(net->tb.links);
    net->tb.links = json_array();
    *slowest = (tp_link_speed){.up_bps = INFINITY, .down_bps = INFINITY};
    for (int i = 1; !st && i < net->n_nodes; i++) {
        tb_probe_result r;
        if ((st = measure_host(net, &net->nodes[i], &r, err))) break;
        slowest->up_bps = fmin(slowest->up_bps, r.up_bps);
        slowest->down_bps = fmin(slowest->down_bps, r.down_bps);
        slowest->rtt_s = fmax(slowest->rtt_s, r.rtt_s);
    }
    tb_server_stop(&relay);
    tb_server_stop(&server);
    return st;
}

/* ---------------------------------------------------------------- deadlines */

/* The run config every host gets: the protocol's deadlines from the measured links. */
static tp_status write_host_configs(ln_net *net, const tp_link_speed *slowest, tp_err *err) {
    tp_run_config rc;
    tp_status st = tp_run_config_load(net->run_json, &rc, err);
    size_t payload = 0;
    if (!st) st = tp_wire_max_bytes(&rc.cfg.model, &rc.codec, &payload, err);
    if (st) return st;
    tp_deadlines d;
    tp_deadlines_from_link(&rc.proto, slowest, payload, (int)net->opt.miners, (double)net->opt.block_time_ms / 1000,
                            &d);
    rc.proto.put_window_blocks = d.put_window_blocks;
    rc.proto.gather_timeout_s = d.gather_timeout_s;
    if ((st = tp_run_config_save(&rc, net->run_json, err))) return st;
    printf("localnet: deadlines from the links (slowest up %.1f Mbit/s, down %.1f Mbit/s, round trip %.0f ms): put "
           "window %d blocks, gather timeout %.1f s; a miner keeps up with an upload rate of at least %.2f Mbit/s "
           "(payload up to %zu bytes)\n",
           slowest->up_bps / 1e6, slowest->down_bps / 1e6, slowest->rtt_s * 1e3, d.put_window_blocks,
           d.gather_timeout_s, d.min_up_bps / 1e6, payload);
    json_t *links = json_pack("{s:O, s:i, s:f, s:f, s:I}", "hosts", net->tb.links, "put_window_blocks",
                              d.put_window_blocks, "gather_timeout_s", d.gather_timeout_s, "min_up_mbit",
                              d.min_up_bps / 1e6, "payload_max_bytes", (json_int_t)payload);
    json_decref(net->tb.links);
    net->tb.links = links;
    char p[LN_PATH_MAX + 128];
    for (int i = 1; !st && i < net->n_nodes; i++) {
        snprintf(p, sizeof p, "%s/hosts/%s/run.json", net->dir, net->nodes[i].name);
        st = tp_run_config_save(&rc, p, err);
    }
    char *text = links ? json_dumps(links, JSON_INDENT(2)) : NULL;
    snprintf(p, sizeof p, "%s/links.json", net->dir);
    if (!st) st = text ? tp_write_file_atomic(p, text, strlen(text), err) : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    free(text);
    return st;
}

tp_status ln_hosts_measure(ln_net *net, tp_err *err) {
    tp_link_speed slowest;
    tp_status st = ln_hosts_measure_links(net, &slowest, err);
    return st ? st : write_host_configs(net, &slowest, err);
}

/* ---------------------------------------------------------------- partitions */

tp_status ln_hosts_partition(ln_net *net, ln_node *n, int down, tp_err *err) {
    return tb_link_set_up(&net->tb.hosts, n->host, !down, err);
}
