/* Deadlines from link speeds (deadlines.h). */
#include <math.h>

#include "neuron/deadlines.h"

#define DEADLINE_MARGIN 2.0
#define ROUND_TRIPS 4.0 /* per transfer: noticing the block (a chain poll), connecting, the request, its answer */

void tp_deadlines_from_link(const tp_protocol *p, const tp_link_speed *l, size_t payload, int peers,
                            double block_time_s, tp_deadlines *d) {
    double bits = 8.0 * (double)payload, latency = ROUND_TRIPS * l->rtt_s;
    double up_s = DEADLINE_MARGIN * (bits / l->up_bps + latency);
    double gather_s = DEADLINE_MARGIN * (bits * peers / l->down_bps + latency);
    int blocks = (int)ceil(up_s / block_time_s);
    d->put_window_blocks = blocks > p->put_window_blocks ? blocks : p->put_window_blocks;
    d->gather_timeout_s = gather_s > p->gather_timeout_s ? gather_s : p->gather_timeout_s;
    double put_s = d->put_window_blocks * block_time_s;
    d->min_up_bps = put_s > latency ? bits / (put_s - latency) : INFINITY;
    d->min_down_bps = d->gather_timeout_s > latency ? bits * peers / (d->gather_timeout_s - latency) : INFINITY;
}
