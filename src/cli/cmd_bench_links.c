/* templar bench links: what a model's updates cost on internet-like links (localnet/linkbench.h). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "codec/wire.h"
#include "localnet/linkbench.h"
#include "model/config.h"

#define CMD "bench links"

static const char usage_text[] =
    "usage: templar bench links --out DIR [--miners N] [--config NAME|FILE | --payload-bytes B] [--rounds R]\n"
    "                           [--link SPEC] [--host-link HOST:SPEC] [--block-time MS] [--json]   (as root)\n"
    "\n"
    "What one window's communication costs on internet-like links, at a model's update size: N miners\n"
    "(default 4) and a store (s3rver), each on a testbed host of its own (network namespaces; see\n"
    "templar testbed --help for the links), with no chain and no training. Each round every miner puts\n"
    "one update (random bytes of the size of the config's largest honest payload, default 150M, or B)\n"
    "at once, then every miner gathers the other N-1 under the gather deadline that the measured links\n"
    "and the block time (default 12000 ms) give. Prints each round's slowest put and gather and the\n"
    "updates gathered; --json prints one JSON object at the end. DIR keeps the store and the logs.\n";

static int parse(int argc, char **argv, ln_linkbench_opts *o, const char **config, int *json) {
    enum { O_OUT = 1000, O_MINERS, O_CONFIG, O_PAYLOAD, O_ROUNDS, O_LINK, O_HOST_LINK, O_BLOCK, O_JSON };
    static const struct option opts[] = {
        {"out", required_argument, 0, O_OUT},         {"miners", required_argument, 0, O_MINERS},
        {"config", required_argument, 0, O_CONFIG},   {"payload-bytes", required_argument, 0, O_PAYLOAD},
        {"rounds", required_argument, 0, O_ROUNDS},   {"link", required_argument, 0, O_LINK},
        {"host-link", required_argument, 0, O_HOST_LINK}, {"block-time", required_argument, 0, O_BLOCK},
        {"json", no_argument, 0, O_JSON},             {0, 0, 0, 0}};
    int64_t v, block_ms = 12000;
    tp_err err = {0};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":", opts, NULL)) != -1;) {
        int rc = 0;
        switch (c) {
        case O_OUT: o->out = optarg; break;
        case O_MINERS: rc = cli_parse_i64(CMD, "--miners", optarg, 2, LN_MAX_NODES - 2, &o->miners); break;
        case O_CONFIG: *config = optarg; break;
        case O_PAYLOAD:
            if (!(rc = cli_parse_i64(CMD, "--payload-bytes", optarg, 1, (int64_t)1 << 32, &v))) o->payload_bytes = (size_t)v;
            break;
        case O_ROUNDS:
            if (!(rc = cli_parse_i64(CMD, "--rounds", optarg, 1, LN_LINKBENCH_MAX_ROUNDS, &v))) o->rounds = (int)v;
            break;
        case O_LINK:
            if (tb_link_parse(optarg, &o->link, &err)) return cli_usage(CMD, "--link: %s", err.msg);
            break;
        case O_HOST_LINK: {
            const char *colon = strchr(optarg, ':');
            int i = o->n_host_links;
            if (!colon || colon == optarg || colon - optarg >= LN_NAME_MAX || i >= LN_MAX_NODES)
                return cli_usage(CMD, "--host-link expects HOST:SPEC, got '%s'", optarg);
            snprintf(o->host_links[i].host, LN_NAME_MAX, "%.*s", (int)(colon - optarg), optarg);
            o->host_links[i].link = (tb_link){-1, -1}; /* unset parts come from --link at the end */
            if (tb_link_parse(colon + 1, &o->host_links[i].link, &err)) return cli_usage(CMD, "--host-link: %s", err.msg);
            o->n_host_links++;
            break;
        }
        case O_BLOCK: rc = cli_parse_i64(CMD, "--block-time", optarg, 1, 600000, &block_ms); break;
        case O_JSON: *json = 1; break;
        case ':': return cli_usage(CMD, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(CMD, "unknown option '%s'", argv[optind - 1]);
        }
        if (rc) return rc;
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->out) return cli_usage(CMD, "--out DIR is required");
    for (int i = 0; i < o->n_host_links; i++) {
        tb_link *l = &o->host_links[i].link;
        if (l->delay_s < 0) l->delay_s = o->link.delay_s;
        if (l->rate_bps < 0) l->rate_bps = o->link.rate_bps;
    }
    o->block_time_s = (double)block_ms / 1000;
    return 0;
}

static json_t *result_json(const ln_linkbench_opts *o, const ln_linkbench_result *r) {
    json_t *rounds = json_array();
    for (int i = 0; i < o->rounds; i++) {
        const ln_linkbench_round *x = &r->rounds[i];
        json_array_append_new(rounds, json_pack("{s:f, s:f, s:i, s:i, s:I, s:I}", "put_s", x->up_s, "gather_s",
                                                x->down_s, "fetched", x->fetched, "wanted", x->wanted, "bytes_up",
                                                (json_int_t)x->bytes_up, "bytes_down",
                                                (json_int_t)(x->bytes_down / (uint64_t)o->miners)));
    }
    return json_pack("{s:I, s:I, s:O, s:{s:i, s:f, s:f}, s:o}", "miners", (json_int_t)o->miners, "payload_bytes",
                     (json_int_t)o->payload_bytes, "links", r->links, "deadlines", "put_window_blocks",
                     r->deadlines.put_window_blocks, "gather_timeout_s", r->deadlines.gather_timeout_s,
                     "min_up_mbit", r->deadlines.min_up_bps / 1e6, "rounds", rounds);
}

int cmd_bench_links(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    ln_linkbench_opts o = {.miners = 4, .rounds = 3};
    const char *config = "150M";
    int json = 0, rc = parse(argc, argv, &o, &config, &json);
    if (rc) return rc;
    tp_err err = {0};
    if (!o.payload_bytes) {
        tp_config cfg;
        tp_codec_params codec;
        tp_codec_params_default(&codec);
        if (tp_config_resolve(config, &cfg, &err) || tp_wire_max_bytes(&cfg.model, &codec, &o.payload_bytes, &err))
            return cli_fail(CMD, &err);
    }
    if (tb_check_privilege(&err)) return cli_fail(CMD, &err);
    ln_linkbench_result *res = calloc(1, sizeof *res);
    if (!res) return cli_usage(CMD, "out of memory");
    printf("bench links: %lld miners, updates of %zu bytes, %d rounds\n", (long long)o.miners, o.payload_bytes, o.rounds);
    if (!(rc = ln_linkbench(&o, res, &err) ? cli_fail(CMD, &err) : 0) && json) {
        json_t *j = result_json(&o, res);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (text) puts(text);
        free(text);
        json_decref(j);
    }
    json_decref(res->links);
    free(res);
    return rc;
}
