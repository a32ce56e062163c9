/* `templar bench links`: what a model's updates cost on the testbed's links (linkbench.c). */
#ifndef TP_LOCALNET_LINKBENCH_H
#define TP_LOCALNET_LINKBENCH_H

#include "localnet/localnet.h"

#define LN_LINKBENCH_MAX_ROUNDS 100

typedef struct {
    int64_t miners;
    size_t payload_bytes; /* one update */
    int rounds;
    double block_time_s;  /* for the put window the deadlines come to */
    tb_link link;
    __typeof__(((ln_opts *)0)->host_links) host_links;
    int n_host_links;
    const char *out;      /* a directory for the store's data and the logs */
} ln_linkbench_opts;

typedef struct {
    double up_s, down_s;  /* the slowest miner's put; the slowest miner's gather */
    int fetched, wanted;  /* updates gathered, of (miners − 1) × miners */
    uint64_t bytes_up;    /* per miner */
    uint64_t bytes_down;  /* all miners together */
} ln_linkbench_round;

typedef struct {
    tp_link_speed slowest;  /* measured */
    tp_deadlines deadlines; /* from the measurement and the payload */
    json_t *links;          /* per host, as measured (owned: json_decref) */
    ln_linkbench_round rounds[LN_LINKBENCH_MAX_ROUNDS];
} ln_linkbench_result;

/* Makes the hosts (root), runs o->rounds rounds, removes everything but o->out. Prints a line per
 * round. */
tp_status ln_linkbench(const ln_linkbench_opts *o, ln_linkbench_result *res, tp_err *err);

#endif
