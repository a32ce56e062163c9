/* The delaying relay on loopback: bytes arrive intact and in order (both directions at once, many
 * connections, half-close), delays are at least what was configured (only lower bounds: CI machines
 * are busy), connection setup pays its round trip, a refused upstream closes only that client. The
 * relay and a test service run in threads of the test process; every listening socket exists before
 * its server starts, so clients connect at once and nothing waits for readiness. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "testbed/relay.h"

#include "testbed_test_util.h"

#define XOR 0x5a        /* the service answers each byte XOR this: an answer is never the question */
#define MAX_CONNS 512
#define DEADLINE_S 120.0


static int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

/* ---- the relay in a thread */
typedef struct {
    tb_relay_opts o;
    volatile sig_atomic_t stop;
    pthread_t t;
    tp_status st;
    tp_err err;
    uint16_t port; /* where clients connect */
} relay_run;

static void *relay_main(void *arg) {
    relay_run *r = arg;
    r->st = tb_relay_serve(&r->o, &r->stop, &r->err);
    return NULL;
}

static void relay_start_q(relay_run *r, uint16_t upstream, double own, double dflt, size_t max_queue) {
    memset(r, 0, sizeof *r);
    r->o = (tb_relay_opts){.listen_fd = tb_test_loopback_socket(&r->port, true), .upstream_port = upstream,
                           .own_delay_s = own, .default_delay_s = dflt, .max_queue = max_queue};
    cr_assert_eq(pthread_create(&r->t, NULL, relay_main, r), 0);
}

static void relay_start(relay_run *r, uint16_t upstream, double own, double dflt) {
    relay_start_q(r, upstream, own, dflt, 0);
}

static void relay_stop(relay_run *r) {
    r->stop = 1;
    pthread_join(r->t, NULL);
    cr_assert_eq(r->st, TP_OK, "relay: %s", r->err.msg);
    close(r->o.listen_fd);
}

/* ---- the service: a thread per connection answering each byte XOR 0x5a as it comes (ECHO),
 * reading to EOF and only then answering everything (AFTER_EOF, for half-close), or resetting the
 * connection at its first byte (RESET). */
typedef enum { ECHO, AFTER_EOF, RESET } svc_mode;

typedef struct svc svc;
typedef struct {
    svc *s;
    int fd, idx;
} svc_conn;

struct svc {
    int lfd;
    uint16_t port;
    svc_mode mode;
    volatile sig_atomic_t stop;
    pthread_t t;
    pthread_mutex_t mu;
    int n;
    pthread_t conn_t[MAX_CONNS];
    svc_conn conns[MAX_CONNS];
    double first_byte_at[MAX_CONNS]; /* tp_now() when each connection's first byte arrived */
    int errors;                      /* connections that ended in a read error (a reset) */
};

static void abort_close(int fd) {
    struct linger lg = {1, 0}; /* close with a reset */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static bool write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void *svc_conn_main(void *arg) {
    svc_conn *c = arg;
    unsigned char buf[65536];
    unsigned char *all = NULL; /* AFTER_EOF: everything read */
    size_t n_all = 0;
    bool first = true, ok = true;
    for (;;) {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k < 0) {
            pthread_mutex_lock(&c->s->mu);
            c->s->errors++;
            pthread_mutex_unlock(&c->s->mu);
        }
        if (k <= 0) break;
        if (c->s->mode == RESET) {
            abort_close(c->fd);
            return NULL;
        }
        if (first) {
            pthread_mutex_lock(&c->s->mu);
            c->s->first_byte_at[c->idx] = tp_now();
            pthread_mutex_unlock(&c->s->mu);
            first = false;
        }
        for (ssize_t i = 0; i < k; i++) buf[i] ^= XOR;
        if (c->s->mode == AFTER_EOF) {
            all = realloc(all, n_all + (size_t)k);
            memcpy(all + n_all, buf, (size_t)k);
            n_all += (size_t)k;
        } else if (!write_all(c->fd, buf, (size_t)k)) {
            ok = false;
            break;
        }
    }
    if (ok && n_all) write_all(c->fd, all, n_all);
    free(all);
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    return NULL;
}

static void *svc_main(void *arg) {
    svc *s = arg;
    while (!s->stop) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0 || s->n == MAX_CONNS) {
            if (fd >= 0) close(fd);
            continue;
        }
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 1 << 20);
        s->conns[s->n] = (svc_conn){s, fd, s->n};
        if (pthread_create(&s->conn_t[s->n], &at, svc_conn_main, &s->conns[s->n]) == 0) {
            pthread_mutex_lock(&s->mu); /* the test reads n */
            s->n++;
            pthread_mutex_unlock(&s->mu);
        } else {
            close(fd);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* lfd: a socket bound by loopback_socket (listening or not: it is made to listen here). */
static svc *svc_start(int lfd, svc_mode mode) {
    svc *s = calloc(1, sizeof *s);
    cr_assert(s);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    s->lfd = lfd;
    s->port = ntohs(a.sin_port);
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    cr_assert_eq(listen(lfd, 1024), 0);
    cr_assert_eq(pthread_create(&s->t, NULL, svc_main, s), 0);
    return s;
}

/* Returns how many of its connections ended in a read error. */
static int svc_stop(svc *s) {
    s->stop = 1;
    pthread_join(s->t, NULL);
    for (int i = 0; i < s->n; i++) pthread_join(s->conn_t[i], NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
    int errors = s->errors;
    free(s);
    return errors;
}

/* ---- clients: n connections at once, each sending its own random bytes while reading the answer,
 * shutting down its write side when all is sent and reading to EOF; every answer must be exact. */
typedef struct {
    int fd;
    unsigned char *out, *in;
    size_t sent, got;
    bool shut, eof;
} client;

static void fill_random(unsigned char *p, size_t n, unsigned seed) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static void client_step(client *c, size_t len, short re) {
    if (c->sent < len && (re & POLLOUT)) {
        ssize_t k = send(c->fd, c->out + c->sent, len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        cr_assert(k > 0 || errno == EAGAIN, "send: %s", strerror(errno));
        if (k > 0) c->sent += (size_t)k;
    }
    if (c->sent == len && !c->shut) {
        cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
        c->shut = true;
    }
    if (re & (POLLIN | POLLHUP)) {
        ssize_t k = recv(c->fd, c->in + c->got, len + 1 - c->got, MSG_DONTWAIT);
        cr_assert(k >= 0 || errno == EAGAIN, "recv: %s", strerror(errno));
        if (k == 0) c->eof = true;
        if (k > 0) c->got += (size_t)k;
        cr_assert_leq(c->got, len, "more bytes came back than were sent");
    }
}

/* Runs n clients of len bytes each through port; returns the seconds it took. */
static double exchange(uint16_t port, int n, size_t len) {
    client *c = calloc((size_t)n, sizeof *c);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    double t0 = tp_now();
    for (int i = 0; i < n; i++) {
        c[i] = (client){.fd = connect_to(port), .out = malloc(len), .in = malloc(len + 1)};
        fill_random(c[i].out, len, (unsigned)i);
    }
    for (int open = n; open > 0;) {
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = c[i].eof ? -1 : c[i].fd,
                                   .events = (short)(POLLIN | (c[i].sent < len ? POLLOUT : 0))};
        cr_assert_geq(poll(p, (nfds_t)n, 1000), 0);
        cr_assert_lt(tp_now() - t0, DEADLINE_S, "the exchange is stuck");
        open = 0;
        for (int i = 0; i < n; i++) {
            if (!c[i].eof) client_step(&c[i], len, p[i].revents);
            open += !c[i].eof;
        }
    }
    double took = tp_now() - t0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(c[i].got, len, "connection %d: %zu of %zu bytes came back", i, c[i].got, len);
        for (size_t j = 0; j < len; j++)
            if (c[i].in[j] != (c[i].out[j] ^ XOR)) cr_assert_fail("connection %d: byte %zu differs", i, j);
        close(c[i].fd);
        free(c[i].out);
        free(c[i].in);
    }
    free(c);
    free(p);
    return took;
}

Test(testbed, relay_sixteen_mib_each_way_at_once_arrive_intact, .timeout = 120) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_run r;
    relay_start(&r, sp, 0, 0);
    double t = exchange(r.port, 1, (size_t)16 << 20);
    cr_log_info("relay, no delay: 16 MiB each way at once in %.3f s (%.0f Mbit/s each way)", t,
                16.0 * 8 * 1048576 / 1e6 / t);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_a_small_queue_bounds_what_is_held_and_bytes_stay_intact, .timeout = 120) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_run r;
    relay_start_q(&r, sp, 0.002, 0.003, 1); /* raised to the minimum (4 KiB): back-pressure all along */
    double t = exchange(r.port, 2, (size_t)2 << 20);
    /* Whatever leaves in a 3 ms window was queued at its start, so at most 4 KiB per 3 ms passes:
     * 2 MiB take at least 1.5 s if the bound on memory holds. */
    cr_assert_geq(t, 1.5, "2 MiB through a 4 KiB queue with 3 ms delay in %.2f s", t);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_three_hundred_concurrent_connections_each_answered, .timeout = 120) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_run r;
    relay_start(&r, sp, 0.005, 0.005);
    exchange(r.port, 300, 20000);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_half_close_reaches_the_service_and_the_reply_still_comes, .timeout = 60) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), AFTER_EOF);
    relay_run r;
    relay_start(&r, sp, 0.010, 0.005);
    /* The service answers only after the client's EOF, so the answer proves the EOF went up, and the
     * client's EOF after it proves the service's went down. */
    exchange(r.port, 4, 300000);
    relay_stop(&r);
    svc_stop(s);
}

/* Round trip of one byte on fd (sent now). */
static double echo_once(int fd) {
    unsigned char b = 7, back;
    double t0 = tp_now();
    cr_assert_eq(send(fd, &b, 1, MSG_NOSIGNAL), 1);
    cr_assert_eq(recv(fd, &back, 1, MSG_WAITALL), 1);
    cr_assert_eq(back, 7 ^ XOR);
    return tp_now() - t0;
}

/* The first echo on a new connection from before connect(); then later ones; the service's first
 * byte time for the connection. */
static void timed_echoes(relay_run *r, svc *s, double *first, double *later, double *first_byte) {
    double t0 = tp_now();
    int fd = connect_to(r->port);
    echo_once(fd);
    *first = tp_now() - t0;
    *later = 1e9;
    for (int i = 0; i < 5; i++) {
        double t = echo_once(fd);
        if (t < *later) *later = t;
    }
    close(fd);
    pthread_mutex_lock(&s->mu);
    *first_byte = s->first_byte_at[s->n - 1] - t0;
    pthread_mutex_unlock(&s->mu);
}

Test(testbed, relay_delays_hold_bytes_back_and_setup_costs_a_round_trip, .timeout = 60) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_run r;
    relay_start(&r, sp, 0.020, 0.030); /* own 20 ms, clients (default) 30 ms */
    double first, later, first_byte;
    timed_echoes(&r, s, &first, &later, &first_byte);
    cr_log_info("relay 30 ms + 20 ms: first byte at the service after %.1f ms, first echo %.1f ms, later %.1f ms",
                first_byte * 1e3, first * 1e3, later * 1e3);
    cr_assert_geq(later, 0.050, "a round trip is 30 + 20 ms, measured %.1f ms", later * 1e3);
    cr_assert_geq(first_byte, 0.080, "SYN, SYN-ACK, data: 2 x 30 + 20 ms, measured %.1f ms", first_byte * 1e3);
    cr_assert_geq(first, 0.100, "setup round trip + echo round trip, measured %.1f ms", first * 1e3);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_a_peer_entry_overrides_the_default_delay, .timeout = 60) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    tb_relay_peer peer = {.addr = htonl(INADDR_LOOPBACK), .delay_s = 0.060};
    relay_run r;
    memset(&r, 0, sizeof r);
    r.o = (tb_relay_opts){.listen_fd = tb_test_loopback_socket(&r.port, true), .upstream_port = sp,
                          .own_delay_s = 0.010, .default_delay_s = 0.001, .peers = &peer, .n_peers = 1};
    cr_assert_eq(pthread_create(&r.t, NULL, relay_main, &r), 0);
    double first, later, first_byte;
    timed_echoes(&r, s, &first, &later, &first_byte);
    cr_log_info("relay 60 ms (peer) + 10 ms: first byte %.1f ms, later echo %.1f ms", first_byte * 1e3, later * 1e3);
    cr_assert_geq(later, 0.070, "60 ms for 127.0.0.1, not the default 1 ms: measured %.1f ms", later * 1e3);
    cr_assert_geq(first_byte, 0.130, "2 x 60 + 10 ms, measured %.1f ms", first_byte * 1e3);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_a_refused_upstream_closes_that_client_only, .timeout = 60) {
    uint16_t sp;
    int sfd = tb_test_loopback_socket(&sp, false); /* bound, not listening: connections to it are refused */
    relay_run r;
    relay_start(&r, sp, 0, 0);
    int fd = connect_to(r.port);
    unsigned char b = 1;
    send(fd, &b, 1, MSG_NOSIGNAL);
    ssize_t k = recv(fd, &b, 1, 0);
    cr_assert(k == 0 || (k < 0 && errno == ECONNRESET), "the client sees EOF or a reset, got %zd (%s)", k,
              strerror(errno));
    close(fd);
    svc *s = svc_start(sfd, ECHO); /* the same port now listens: the same relay serves again */
    exchange(r.port, 3, 1000);
    relay_stop(&r);
    svc_stop(s);
}

Test(testbed, relay_a_reset_on_either_side_resets_the_other, .timeout = 60) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), RESET);
    relay_run r;
    relay_start(&r, sp, 0.002, 0.002);
    int fd = connect_to(r.port);
    unsigned char b = 1;
    cr_assert_eq(send(fd, &b, 1, MSG_NOSIGNAL), 1);
    ssize_t k = recv(fd, &b, 1, 0);
    cr_assert(k < 0 && errno == ECONNRESET, "the service's reset reaches the client, got %zd (%s)", k, strerror(errno));
    close(fd);
    relay_stop(&r);
    svc_stop(s);

    s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_start(&r, sp, 0.002, 0.002);
    fd = connect_to(r.port);
    echo_once(fd);
    abort_close(fd);
    /* svc_stop joins the service's connection thread, which ends when the reset (or an EOF) comes */
    cr_assert_eq(svc_stop(s), 1, "the client's reset reaches the service");
    relay_stop(&r);
}

Test(testbed, relay_bad_options_are_refused) {
    tp_err err;
    volatile sig_atomic_t stop = 1;
    tb_relay_opts o = {.listen_fd = -1, .upstream_port = 80};
    cr_assert_eq(tb_relay_serve(&o, &stop, &err), TP_ERR_ARG);
    o.listen_fd = 0;
    o.upstream_port = 0;
    cr_assert_eq(tb_relay_check(&o, &err), TP_ERR_ARG);
    o.upstream_port = 80;
    o.own_delay_s = -1;
    cr_assert_eq(tb_relay_check(&o, &err), TP_ERR_ARG);
    o.own_delay_s = 0.5;
    o.n_peers = 2;
    cr_assert_eq(tb_relay_check(&o, &err), TP_ERR_ARG, "peers missing");
    o.n_peers = 0;
    cr_assert_eq(tb_relay_check(&o, &err), TP_OK, "%s", err.msg);
}

Test(testbed, relay_stops_promptly_with_connections_open, .timeout = 30) {
    uint16_t sp;
    svc *s = svc_start(tb_test_loopback_socket(&sp, false), ECHO);
    relay_run r;
    relay_start(&r, sp, 0, 0);
    int fd = connect_to(r.port);
    echo_once(fd); /* the relay holds an open connection */
    double t0 = tp_now();
    relay_stop(&r);
    cr_assert_lt(tp_now() - t0, 5.0);
    unsigned char b;
    cr_assert_leq(recv(fd, &b, 1, 0), 0, "the relay closed the client's connection");
    close(fd);
    svc_stop(s);
}
