/* templar bench codec: codec throughput on a model's tensor set (issue 3 targets in BENCHMARKS.md). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/codec_opts.h"
#include "cli/commands.h"
#include "codec/bench.h"

static const char usage_text[] =
    "usage: templar bench links ...   (see templar bench links --help)\n"
    "       templar bench codec [--config NAME|FILE] [--reps N] [--json] [codec options]\n"
    "\n"
    "Times the SparseLoCo codec on the tensor set of a model config (default 150M) with synthetic\n"
    "pseudo-gradients: compress (error feedback + top-k + quantise + encode + sign), decompress one\n"
    "message (validate + decode + dense), and aggregate 8 peers + outer step; prints Mparam/s for\n"
    "each and wire bytes per parameter. Threads: OMP_NUM_THREADS. --json prints one JSON object.\n" CODEC_OPTIONS_HELP;

static void phase(const char *name, void *ctx) {
    if (!*(int *)ctx) fprintf(stderr, "bench codec: %s...\n", name);
}

int cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"reps", required_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
                                         CODEC_LONG_OPTIONS,                     {0, 0, 0, 0}};
    if (argc >= 2 && !strcmp(argv[1], "links")) return cmd_bench_links(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "codec")) {
        if (cli_wants_help(argc, argv)) {
            fputs(usage_text, stdout);
            return 0;
        }
        return cli_usage("bench", "expected 'bench codec' or 'bench links'");
    }
    const char *config = "150M";
    int64_t reps = 3;
    int json = 0, c, r;
    tp_codec_params params;
    tp_codec_params_default(&params);
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((r = cli_codec_option("bench", c, optarg, &params))) {
            if (r == 2) return 2;
            continue;
        }
        switch (c) {
        case 'c': config = optarg; break;
        case 'j': json = 1; break;
        case 'r':
            if (cli_parse_i64("bench", "--reps", optarg, 1, 1000, &reps)) return 2;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("bench", "unknown option");
        }
    }
    tp_err err = {0};
    tp_config cfg;
    tp_codec_bench_result res;
    if (tp_config_resolve(config, &cfg, &err) || tp_codec_params_check(&params, &err) ||
        tp_codec_bench(&cfg.model, &params, (int)reps, &res, phase, &json, &err))
        return cli_fail("bench", &err);
    if (json) {
        json_t *j = json_pack("{ss sI sf sf sf sf si si sI}", "config", config, "params", (json_int_t)res.params,
                              "compress_mparam_s", res.compress_mparam_s, "decompress_mparam_s",
                              res.decompress_mparam_s, "aggregate8_mparam_s", res.aggregate8_mparam_s,
                              "bytes_per_param", res.bytes_per_param, "threads", res.threads, "reps", res.reps,
                              "payload_bytes", (json_int_t)res.payload_bytes);
        char *s = json_dumps(j, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else {
        printf("codec on %s (%lld parameters), %d threads, best of %d\n", config, (long long)res.params, res.threads,
               res.reps);
        printf("  compress (EF + top-k + quantise + encode + sign) %9.1f Mparam/s  (%.3f s)\n", res.compress_mparam_s,
               res.compress_s);
        printf("  decompress (validate + decode + dense)           %9.1f Mparam/s  (%.3f s)\n",
               res.decompress_mparam_s, res.decompress_s);
        printf("  aggregate 8 peers + outer step                   %9.1f Mparam/s  (%.3f s)\n",
               res.aggregate8_mparam_s, res.aggregate8_s);
        printf("  wire size                                        %9.4f bytes/param (%zu bytes)\n",
               res.bytes_per_param, res.payload_bytes);
    }
    return 0;
}
