/* Codec parameters on the command line (--topk, --bins, --range, --index-coding, --dct), shared by
 * compress, apply and bench. */
#ifndef TP_CLI_CODEC_OPTS_H
#define TP_CLI_CODEC_OPTS_H

#include <getopt.h>

#include "codec/sparse.h"

#define CODEC_OPT_BASE 0x1000
#define CODEC_LONG_OPTIONS                                                                               \
    {"topk", required_argument, 0, CODEC_OPT_BASE + 0}, {"bins", required_argument, 0, CODEC_OPT_BASE + 1}, \
        {"range", required_argument, 0, CODEC_OPT_BASE + 2},                                              \
        {"index-coding", required_argument, 0, CODEC_OPT_BASE + 3}, {"dct", no_argument, 0, CODEC_OPT_BASE + 4}

#define CODEC_OPTIONS_HELP                                                                         \
    "  --topk K            entries kept per 64x64 block (default 64)\n"                              \
    "  --bins B            quantisation bins, 2-16 (default 4)\n"                                    \
    "  --range R           quantisation range in standard deviations (default 6)\n"                  \
    "  --index-coding C    rice (compact, default) or 12bit (the reference's layout)\n"             \
    "  --dct               DeMo mode: DCT-II per block before top-k\n"

/* Handles option c (returns 1 if it was a codec option, 0 if not, 2 on a bad value, printed). */
int cli_codec_option(const char *cmd, int c, const char *arg, tp_codec_params *p);

#endif
