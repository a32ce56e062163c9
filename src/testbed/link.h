/* A testbed host's link to the bridge, made to behave like an internet link: a rate limit with tc's
 * token bucket (tbf) on both ends of its veth pair (so it holds for what the host sends and what it
 * receives), a one-way delay on everything the host sends (netem's meaning; this kernel has no netem,
 * so the delay is added by the relays in front of the services, relay.h), and the link itself taken
 * down and up for partitions. */
#ifndef TP_TESTBED_LINK_H
#define TP_TESTBED_LINK_H

#include <stddef.h>

#include "core/error.h"
#include "testbed/hosts.h"

typedef struct {
    double delay_s;  /* one-way delay of what the host sends */
    double rate_bps; /* bits per second each way; 0: unlimited */
} tb_link;

/* Parses "delay=40ms,rate=100mbit" (either part may be left out; it then keeps what *l holds).
 * Delay in us, ms or s (at most 10 s); rate in bit, kbit, mbit or gbit (SI, per second; at least
 * 8 kbit), or "unlimited". Errors name the part that is wrong. */
tp_status tb_link_parse(const char *spec, tb_link *l, tp_err *err);

/* "40 ms, 100 Mbit/s" (or "0 ms, unlimited"). */
void tb_link_describe(const tb_link *l, char *out, size_t n);

/* Sets the host's rate limit on both ends of its link (replacing any earlier one; none when rate is
 * 0). */
tp_status tb_link_shape(const tb_hosts *h, const tb_host *x, const tb_link *l, tp_err *err);

/* Takes the host's link down (up = 0: a partition; its packets go nowhere) or brings it back up. */
tp_status tb_link_set_up(const tb_hosts *h, tb_host *x, int up, tp_err *err);

#endif
