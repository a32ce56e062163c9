/* A delaying TCP relay: the testbed's stand-in for netem, which this kernel lacks. It runs on a
 * service's host (s3rver, a chain RPC node), accepts clients on the host's address and forwards each
 * connection to the service on 127.0.0.1:upstream_port, holding bytes back to emulate each host's
 * one-way (egress) delay, as netem on every host's interface would:
 *
 *   - bytes a client sends wait the client host's delay (looked up by its IPv4 source address;
 *     default_delay_s when it is not in peers); bytes the service sends wait own_delay_s;
 *   - connection setup costs a round trip, as the SYN / SYN-ACK exchange would: what the client
 *     sends is taken as sent no earlier than accept + client delay + own delay (and then waits the
 *     client delay), and what the service sends no earlier than accept + client delay;
 *   - order is kept: a chunk leaves at max(arrival + delay, the previous chunk's release time in
 *     that direction). An EOF (FIN) is a chunk like any other: once everything before it has left,
 *     the other side's write half is shut down (half-close is propagated).
 *   - a reset or an error on either side closes both at once (queued bytes are dropped); a service
 *     that refuses the connection closes the client's.
 *
 * One thread, one poll() loop, non-blocking sockets; any number of connections (file descriptors
 * permitting). Memory: at most max_queue bytes (payload and bookkeeping) queued per direction of
 * each connection; a side that has filled its queue is not read until it drains (TCP back-pressure
 * then slows the sender). The queue holds what is in flight during the delay, so one connection
 * moves at most about max_queue / delay per direction (8 MiB / 100 ms: 670 Mbit/s). No timer spins:
 * poll sleeps until the next release time (at most 100 ms, so *stop is looked at that often).
 * A peer that vanishes without FIN or RST (a partitioned host) keeps its connection until it comes
 * back or the relay stops: the relay sets no timeouts of its own.
 *
 * Ownership: the caller owns listen_fd (bound and listening, in the right namespace) and peers; the
 * relay sets listen_fd non-blocking but never closes it. Every connection it accepts or opens is its
 * own and is closed before tb_relay_serve returns. No state outlives the call. */
#ifndef TP_TESTBED_RELAY_H
#define TP_TESTBED_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TB_RELAY_QUEUE_DEFAULT ((size_t)8 << 20)
#define TB_RELAY_QUEUE_MIN ((size_t)4096) /* a smaller max_queue is raised to this */

typedef struct {
    uint32_t addr;  /* IPv4, network byte order */
    double delay_s; /* one-way delay of what this host sends */
} tb_relay_peer;

typedef struct {
    int listen_fd;                /* listening TCP socket, bound by the caller; not closed here */
    uint16_t upstream_port;       /* the service, on 127.0.0.1 */
    double own_delay_s;           /* delay of bytes the service sends (this host's delay) */
    double default_delay_s;       /* delay of bytes from a client address not in peers */
    const tb_relay_peer *peers;   /* n_peers entries (NULL when 0); the first match wins */
    int n_peers;
    size_t max_queue;             /* bytes queued per direction before that side is not read; 0: 8 MiB */
} tb_relay_opts;

/* Checks o: a descriptor, a port, finite delays in [0, 3600] s, peers present when n_peers > 0. */
tp_status tb_relay_check(const tb_relay_opts *o, tp_err *err);

/* Serves until *stop is set (looked at at least every 100 ms), then closes every connection and
 * returns TP_OK. An error (with nothing left open) only when it cannot serve at all: bad options,
 * poll() failing. A failure that concerns one connection (a reset, a refused upstream, an allocation
 * for its bytes) closes that connection and nothing else. */
tp_status tb_relay_serve(const tb_relay_opts *o, const volatile sig_atomic_t *stop, tp_err *err);

#endif
