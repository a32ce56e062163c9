/* Link measurement between two testbed hosts: a tiny TCP protocol that checks that link shaping
 * (rate limits, relay delays) does what it says.
 *
 * Wire format: the client sends requests one after another on one connection; each is 1 op byte and
 * a count, a big-endian u64 (TB_PROBE_HDR bytes in all), followed by what the op says:
 *   'E' count  the client sends count bytes; the server sends them back as they come (echo)
 *   'U' count  the client sends count bytes; once it has them all the server answers one byte 'U'
 *   'D' count  the server sends count bytes (zeros)
 * The server takes the next request once it has sent everything the current one owes. An unknown
 * op or a count above TB_PROBE_MAX_COUNT closes the connection. The client closes when done.
 *
 * The server serves any number of clients concurrently (one thread, one poll() loop, non-blocking
 * sockets), so a stuck or slow client holds up nobody else. Its memory per connection is fixed (a
 * session and a 16 KiB input buffer); a client that sends but does not read is no longer read from.
 *
 * Ownership: the caller owns listen_fd (bound and listening; set non-blocking here, never closed);
 * the server owns the connections it accepts and closes them all before returning. A session is
 * plain data owned by its caller. No state outlives a call. */
#ifndef TP_TESTBED_PROBE_H
#define TP_TESTBED_PROBE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TB_PROBE_HDR 9
#define TB_PROBE_MAX_COUNT ((uint64_t)1 << 30) /* 1 GiB per request */
#define TB_PROBE_ECHO_BUF 4096

typedef struct {
    double rtt_s;    /* median round trip of one-byte echoes */
    double up_bps;   /* bits per second, client → server */
    double down_bps; /* bits per second, server → client */
} tb_probe_result;

/* Serves probe clients on listen_fd until *stop is set (looked at at least every 100 ms); returns
 * TP_OK then. An error only when it cannot serve at all (poll() fails, the listener is unusable). */
tp_status tb_probe_serve(int listen_fd, const volatile sig_atomic_t *stop, tp_err *err);
/* tb_probe_serve until the process is killed, in the shape of a testbed server (host_proc.h's
 * tb_serve_fn; ctx unused). */
tp_status tb_probe_serve_forever(int listen_fd, void *ctx, tp_err *err);

/* Connects to addr:port (IPv4 dotted), measures the round trip (the median of rtt_samples one-byte
 * echoes, after one that pays for connection setup), then the upload and the download rate over
 * `bytes` each: rate = bits / (elapsed − one round trip), the time the transfer itself took (at
 * least 1 µs). Everything within timeout_s. Errors name what failed; a refused or unreachable
 * server, a reset and running out of time are transient; bad arguments are permanent. */
tp_status tb_probe_measure(const char *addr, int port, size_t bytes, int rtt_samples, double timeout_s,
                           tb_probe_result *r, tp_err *err);

/* ---- the server's side of one connection, free of I/O (so it can be tested and fuzzed alone) */
typedef struct {
    unsigned char hdr[TB_PROBE_HDR];
    size_t hdr_fill;
    unsigned char op;   /* the request being served; 0 between requests */
    uint64_t in_left;   /* request bytes still to take (E, U) */
    uint64_t out_left;  /* D's bytes still to send */
    bool ack;           /* U's answer is owed */
    unsigned char echo[TB_PROBE_ECHO_BUF];
    size_t echo_off, echo_n; /* echoed bytes not yet sent */
} tb_probe_session;

void tb_probe_session_init(tb_probe_session *s);

/* Takes bytes the client sent. *used: how many of in[0..n) it took; fewer than n when the server
 * owes output first (send it, then call again with the rest). An error (TP_ERR_FORMAT, the
 * connection is to be closed) for an unknown op or a count above the cap; *used is then undefined. */
tp_status tb_probe_session_input(tb_probe_session *s, const unsigned char *in, size_t n, size_t *used,
                                 tp_err *err);

/* Copies up to cap of the bytes the server owes next into out, without taking them; returns how
 * many (0: nothing owed). */
size_t tb_probe_session_output(const tb_probe_session *s, unsigned char *out, size_t cap);

/* The first n bytes of what tb_probe_session_output gave were sent. */
void tb_probe_session_sent(tb_probe_session *s, size_t n);

#endif
