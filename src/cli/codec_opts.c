#include "cli/codec_opts.h"

#include "cli/cli_util.h"

int cli_codec_option(const char *cmd, int c, const char *arg, tp_codec_params *p) {
    int64_t v;
    double d;
    switch (c - CODEC_OPT_BASE) {
    case 0:
        if (cli_parse_i64(cmd, "--topk", arg, 2, 4096, &v)) return 2;
        p->topk = (int)v;
        return 1;
    case 1:
        if (cli_parse_i64(cmd, "--bins", arg, 2, 16, &v)) return 2;
        p->bins = (int)v;
        return 1;
    case 2:
        if (cli_parse_f64(cmd, "--range", arg, &d)) return 2;
        if (!(d > 0)) return cli_usage(cmd, "--range must be positive");
        p->range = (float)d;
        return 1;
    case 3:
        if (tp_index_coding_parse(arg, &p->index_coding)) return cli_usage(cmd, "--index-coding must be rice or 12bit");
        return 1;
    case 4: p->use_dct = 1; return 1;
    }
    return 0;
}
