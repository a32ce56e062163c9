/* The one window loop of miners and validators: process windows one after another; after a failure
 * that may pass, pause a block, recover from the saved state and go on; give up on any other. */
#include "core/clock.h"
#include "neuron/node.h"

/* When even the pause fails (the chain itself is unreachable), wait this long before trying again. */
#define CHAIN_RETRY_S 1.0

tp_status tp_node_run_windows(tp_node *n, const tp_window_runner *r, int64_t next, tp_err *err) {
    int recovering = 0;
    for (;;) {
        tp_status st = recovering ? r->recover(r->ctx, &next, err) : r->window(r->ctx, next, err);
        if (!st) {
            if (!recovering) next++;
            recovering = 0;
            continue;
        }
        if (st == TP_ERR_STOPPED) return st;
        if (!err->retryable)
            return tp_wrap(err, "window %lld (a permanent error: not retried)", (long long)next);
        tp_node_log(n, "window %lld: %s; retrying from the saved state after a block", (long long)next, err->msg);
        recovering = 1;
        if ((st = tp_node_pause(n, err))) {
            if (st == TP_ERR_STOPPED || !err->retryable) return st;
            tp_sleep(CHAIN_RETRY_S);
        }
    }
}
