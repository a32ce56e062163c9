/* The protocol's deadlines from the links a network must serve: how long the put window and a
 * gather may last so that a miner whose link meets the stated minimum is never late. A subnet's
 * operator sets them once in the run config; `templar testbed` sets them from its measured links. */
#ifndef TP_NEURON_DEADLINES_H
#define TP_NEURON_DEADLINES_H

#include <stddef.h>

#include "neuron/run_config.h"

typedef struct {
    double up_bps, down_bps; /* bits per second */
    double rtt_s;            /* round trip to the chain and the store */
} tp_link_speed;

typedef struct {
    int put_window_blocks;
    double gather_timeout_s;
    double min_up_bps;   /* the slowest upload that still lands within the put window */
    double min_down_bps; /* the slowest download that still gathers every peer within the timeout */
} tp_deadlines;

/* Deadlines a link of speed l meets with a margin of DEADLINE_MARGIN (2), never shorter than p's:
 *   put window  ≥ margin × (8·payload/up + 4·RTT)        (seeing the block, the PUT and its answer)
 *   gather      ≥ margin × (8·peers·payload/down + 4·RTT)
 * payload: the largest honest payload (tp_wire_max_bytes); peers: how many updates one gather
 * fetches at most; block_time_s: the chain's block time. The minimum link is what the resulting
 * deadlines allow without the margin. */
void tp_deadlines_from_link(const tp_protocol *p, const tp_link_speed *l, size_t payload, int peers,
                            double block_time_s, tp_deadlines *d);

#endif
