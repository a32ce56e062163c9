/* The miner (DESIGN §11): per window, inner AdamW steps on its assigned samples, the pseudo-gradient
 * through error feedback and compression, a signed upload inside the put window, the gather of its
 * peers' updates, the outer step and the debug-W fingerprint. Local state after every window, so a
 * restart loses nothing, and catch-up so it never skips a window. */
#ifndef TP_NEURON_MINER_H
#define TP_NEURON_MINER_H

#include "core/error.h"
#include "neuron/node_opts.h"

/* Runs until the stop flag is raised (TP_ERR_STOPPED) or an error that retrying cannot help. */
tp_status tp_miner_run(const tp_node_opts *o, tp_err *err);

#endif
