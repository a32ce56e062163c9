/* The validator (DESIGN §12): processes window W during W+1. It gathers every active miner's
 * update and applies the peer list's outer step to its own model, penalises missing, late, invalid,
 * copied and out-of-sync uploads, evaluates miners with the Gauntlet (own vs. random samples),
 * rates them with OpenSkill, and sets weights every few windows. The leader (highest stake) also
 * publishes the start window, peer lists, aggregator-W and checkpoints. Ratings and model survive a
 * restart (SQLite and local state). */
#ifndef TP_NEURON_VALIDATOR_H
#define TP_NEURON_VALIDATOR_H

#include "core/error.h"
#include "neuron/node_opts.h"

/* Runs until the stop flag is raised (TP_ERR_STOPPED) or an error that retrying cannot help. */
tp_status tp_validator_run(const tp_node_opts *o, tp_err *err);

#endif
