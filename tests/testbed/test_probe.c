/* The link probe: its protocol (the session, without I/O), its server (bad requests close only that
 * connection) and its client on loopback, directly and through the delaying relay (the round trip is
 * at least the relay's; only lower bounds, CI machines are busy). Servers run in threads; their
 * listening sockets exist before they start, so nothing waits for readiness. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testbed/probe.h"
#include "testbed/relay.h"

#include "testbed_test_util.h"

/* ---- the session */

/* Feeds in (in pieces of `piece` bytes), sending whatever is owed as it goes; the output must be
 * want[0..want_n). */
static void run_session(const unsigned char *in, size_t n, size_t piece, const unsigned char *want,
                        size_t want_n) {
    tb_probe_session s;
    tb_probe_session_init(&s);
    unsigned char out[64 * 1024], got[64 * 1024];
    size_t got_n = 0, at = 0;
    tp_err err;
    for (int guard = 0; guard < 100000 && (at < n || tb_probe_session_output(&s, out, sizeof out)); guard++) {
        size_t k = n - at < piece ? n - at : piece, used;
        cr_assert_eq(tb_probe_session_input(&s, in + at, k, &used, &err), TP_OK, "%s", err.msg);
        cr_assert_leq(used, k);
        at += used;
        size_t o = tb_probe_session_output(&s, out, 3); /* small sends: partial output is the rule */
        cr_assert_leq(got_n + o, sizeof got);
        memcpy(got + got_n, out, o);
        got_n += o;
        tb_probe_session_sent(&s, o);
    }
    cr_assert_eq(at, n, "all input taken");
    cr_assert_eq(got_n, want_n, "%zu bytes out, %zu expected", got_n, want_n);
    cr_assert_eq(memcmp(got, want, want_n), 0);
    cr_assert_eq(s.op, 0, "between requests at the end");
}

static size_t put_req(unsigned char *p, unsigned char op, uint64_t count) {
    p[0] = op;
    for (int i = 0; i < 8; i++) p[1 + i] = (unsigned char)(count >> (56 - 8 * i));
    return TB_PROBE_HDR;
}

Test(testbed, probe_session_pipelined_requests_answer_in_order) {
    unsigned char in[20000], want[20000];
    size_t n = 0, w = 0;
    n += put_req(in + n, 'E', 5);
    memcpy(in + n, "hello", 5), n += 5;
    memcpy(want + w, "hello", 5), w += 5;
    n += put_req(in + n, 'U', 6000); /* more than the echo buffer: U never buffers */
    memset(in + n, 'x', 6000), n += 6000;
    want[w++] = 'U';
    n += put_req(in + n, 'D', 7);
    memset(want + w, 0, 7), w += 7;
    n += put_req(in + n, 'E', 0);
    n += put_req(in + n, 'U', 0);
    want[w++] = 'U';
    n += put_req(in + n, 'E', 9000); /* longer than the echo buffer: taken as the echo drains */
    for (int i = 0; i < 9000; i++) in[n + (size_t)i] = want[w + (size_t)i] = (unsigned char)(i * 7);
    n += 9000, w += 9000;
    for (size_t piece = 1; piece <= n; piece = piece * 3 + 1) run_session(in, n, piece, want, w);
    run_session(in, n, n, want, w);
}

Test(testbed, probe_session_unknown_ops_and_huge_counts_are_refused) {
    tb_probe_session s;
    unsigned char h[TB_PROBE_HDR];
    size_t used;
    tp_err err;
    tb_probe_session_init(&s);
    put_req(h, 'X', 1);
    cr_assert_eq(tb_probe_session_input(&s, h, sizeof h, &used, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "unknown op"), "%s", err.msg);
    tb_probe_session_init(&s);
    put_req(h, 'D', TB_PROBE_MAX_COUNT + 1);
    cr_assert_eq(tb_probe_session_input(&s, h, sizeof h, &used, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "cap"), "%s", err.msg);
    tb_probe_session_init(&s);
    put_req(h, 'D', TB_PROBE_MAX_COUNT);
    cr_assert_eq(tb_probe_session_input(&s, h, sizeof h, &used, &err), TP_OK, "the cap itself is allowed");
}

/* ---- servers in threads */


typedef struct {
    int fd;
    uint16_t port;
    volatile sig_atomic_t stop;
    pthread_t t;
    tp_status st;
    tp_err err;
    tb_relay_opts relay; /* used when relay.upstream_port is set */
} server_run;

static void *server_main(void *arg) {
    server_run *s = arg;
    s->st = s->relay.upstream_port ? tb_relay_serve(&s->relay, &s->stop, &s->err)
                                   : tb_probe_serve(s->fd, &s->stop, &s->err);
    return NULL;
}

static void probe_server_start(server_run *s) {
    memset(s, 0, sizeof *s);
    s->fd = tb_test_loopback_socket(&s->port, true);
    cr_assert_eq(pthread_create(&s->t, NULL, server_main, s), 0);
}

static void relay_start(server_run *s, uint16_t upstream, double own, double dflt) {
    memset(s, 0, sizeof *s);
    s->fd = tb_test_loopback_socket(&s->port, true);
    s->relay = (tb_relay_opts){.listen_fd = s->fd, .upstream_port = upstream, .own_delay_s = own,
                               .default_delay_s = dflt};
    cr_assert_eq(pthread_create(&s->t, NULL, server_main, s), 0);
}

static void server_stop(server_run *s) {
    s->stop = 1;
    pthread_join(s->t, NULL);
    cr_assert_eq(s->st, TP_OK, "%s", s->err.msg);
    close(s->fd);
}

static void assert_sane(const tb_probe_result *r) {
    cr_assert(isfinite(r->rtt_s) && r->rtt_s > 0, "rtt %g", r->rtt_s);
    cr_assert(isfinite(r->up_bps) && r->up_bps > 0, "up %g", r->up_bps);
    cr_assert(isfinite(r->down_bps) && r->down_bps > 0, "down %g", r->down_bps);
}

Test(testbed, probe_measures_on_loopback, .timeout = 60) {
    server_run s;
    probe_server_start(&s);
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("127.0.0.1", s.port, (size_t)16 << 20, 9, 30, &r, &err), TP_OK, "%s", err.msg);
    assert_sane(&r);
    cr_log_info("probe, loopback: rtt %.3f ms, up %.0f Mbit/s, down %.0f Mbit/s", r.rtt_s * 1e3, r.up_bps / 1e6,
                r.down_bps / 1e6);
    server_stop(&s);
}

Test(testbed, probe_through_the_relay_the_round_trip_is_the_relays, .timeout = 60) {
    server_run s, rl;
    probe_server_start(&s);
    relay_start(&rl, s.port, 0.015, 0.010);
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("127.0.0.1", rl.port, (size_t)8 << 20, 5, 30, &r, &err), TP_OK, "%s", err.msg);
    assert_sane(&r);
    cr_log_info("probe through a 10 + 15 ms relay: rtt %.1f ms, up %.0f Mbit/s, down %.0f Mbit/s", r.rtt_s * 1e3,
                r.up_bps / 1e6, r.down_bps / 1e6);
    cr_assert_geq(r.rtt_s, 0.025, "rtt %.1f ms below the relay's 25", r.rtt_s * 1e3);
    server_stop(&rl);
    server_stop(&s);
}

Test(testbed, probe_a_server_that_is_not_there_is_a_transient_error) {
    uint16_t port;
    int fd = tb_test_loopback_socket(&port, false); /* bound, not listening: refused */
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("127.0.0.1", port, 1000, 3, 5, &r, &err), TP_ERR_IO);
    cr_assert(err.retryable, "%s", err.msg);
    cr_assert(strstr(err.msg, "127.0.0.1"), "the message names the server: %s", err.msg);
    close(fd);
}

Test(testbed, probe_a_server_that_does_not_answer_times_out, .timeout = 30) {
    uint16_t port;
    int fd = tb_test_loopback_socket(&port, true); /* the kernel accepts; nobody answers */
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("127.0.0.1", port, 1000, 3, 0.3, &r, &err), TP_ERR_IO);
    cr_assert(strstr(err.msg, "timed out"), "%s", err.msg);
    close(fd);
}

Test(testbed, probe_bad_arguments_are_refused) {
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("localhost", 80, 1000, 3, 1, &r, &err), TP_ERR_ARG);
    cr_assert_eq(tb_probe_measure("127.0.0.1", 0, 1000, 3, 1, &r, &err), TP_ERR_ARG);
    cr_assert_eq(tb_probe_measure("127.0.0.1", 80, 0, 3, 1, &r, &err), TP_ERR_ARG);
    cr_assert_eq(tb_probe_measure("127.0.0.1", 80, 1000, 0, 1, &r, &err), TP_ERR_ARG);
    cr_assert_eq(tb_probe_measure("127.0.0.1", 80, 1000, 3, 0, &r, &err), TP_ERR_ARG);
    volatile sig_atomic_t stop = 1;
    cr_assert_eq(tb_probe_serve(-1, &stop, &err), TP_ERR_ARG);
}

/* Sends raw bytes on a new connection; the server must close it without answering. */
static void expect_closed(uint16_t port, const unsigned char *req, size_t n) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    unsigned char b;
    ssize_t k = recv(fd, &b, 1, 0);
    cr_assert(k == 0 || (k < 0 && errno == ECONNRESET), "closed without an answer, got %zd", k);
    close(fd);
}

Test(testbed, probe_bad_requests_close_that_connection_and_the_server_goes_on, .timeout = 60) {
    server_run s;
    probe_server_start(&s);
    unsigned char h[2 * TB_PROBE_HDR];
    put_req(h, 'X', 1);
    expect_closed(s.port, h, TB_PROBE_HDR);
    put_req(h, 'D', (uint64_t)1 << 62);
    expect_closed(s.port, h, TB_PROBE_HDR);
    put_req(h, 'E', 0); /* a good request, then a bad one */
    put_req(h + TB_PROBE_HDR, 0, 0);
    expect_closed(s.port, h, sizeof h);
    tb_probe_result r;
    tp_err err;
    cr_assert_eq(tb_probe_measure("127.0.0.1", s.port, 100000, 3, 30, &r, &err), TP_OK, "%s", err.msg);
    assert_sane(&r);
    server_stop(&s);
}
