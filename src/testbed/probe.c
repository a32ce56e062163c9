#include "testbed/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/sort.h"

#define IO_BUF ((size_t)64 << 10)
#define CONN_IN_BUF ((size_t)16 << 10)
#define SENDS_PER_WAKE 64 /* per connection, so one download cannot starve the others */
#define STOP_CHECK_S 0.1

/* ======== the session: the protocol, without I/O */

void tb_probe_session_init(tb_probe_session *s) { memset(s, 0, sizeof *s); }

static bool owes_output(const tb_probe_session *s) { return s->echo_n || s->out_left || s->ack; }

/* A request is over once its input is taken and its output sent. */
static void maybe_done(tb_probe_session *s) {
    if (s->op && !s->in_left && !owes_output(s)) s->op = 0;
}

static tp_status start_request(tb_probe_session *s, tp_err *err) {
    uint64_t count = 0;
    for (int i = 1; i < TB_PROBE_HDR; i++) count = count << 8 | s->hdr[i];
    unsigned char op = s->hdr[0];
    s->hdr_fill = 0;
    if (op != 'E' && op != 'U' && op != 'D') return tp_fail(err, TP_ERR_FORMAT, "probe: unknown op 0x%02x", op);
    if (count > TB_PROBE_MAX_COUNT)
        return tp_fail(err, TP_ERR_FORMAT, "probe: count %llu above the cap of %llu", (unsigned long long)count,
                       (unsigned long long)TB_PROBE_MAX_COUNT);
    s->op = op;
    if (op == 'D') s->out_left = count;
    else s->in_left = count;
    s->ack = op == 'U' && count == 0;
    maybe_done(s);
    return TP_OK;
}

/* Takes request payload for E or U; returns how much. */
static size_t take_payload(tb_probe_session *s, const unsigned char *in, size_t n) {
    size_t k = n < s->in_left ? n : (size_t)s->in_left;
    if (s->op == 'E') {
        if (s->echo_off && s->echo_off + s->echo_n == TB_PROBE_ECHO_BUF) {
            memmove(s->echo, s->echo + s->echo_off, s->echo_n);
            s->echo_off = 0;
        }
        size_t room = TB_PROBE_ECHO_BUF - s->echo_off - s->echo_n;
        if (k > room) k = room; /* the rest waits until the echo is sent */
        memcpy(s->echo + s->echo_off + s->echo_n, in, k);
        s->echo_n += k;
    }
    s->in_left -= k;
    if (s->op == 'U' && !s->in_left) s->ack = true;
    maybe_done(s);
    return k;
}

tp_status tb_probe_session_input(tb_probe_session *s, const unsigned char *in, size_t n, size_t *used,
                                 tp_err *err) {
    *used = 0;
    while (*used < n) {
        size_t k;
        if (!s->op) { /* a header, whole or in parts */
            k = TB_PROBE_HDR - s->hdr_fill;
            if (k > n - *used) k = n - *used;
            memcpy(s->hdr + s->hdr_fill, in + *used, k);
            s->hdr_fill += k;
            *used += k;
            if (s->hdr_fill == TB_PROBE_HDR && start_request(s, err) != TP_OK) return err->code;
            continue;
        }
        if (!s->in_left) break; /* output is owed before the next request */
        k = take_payload(s, in + *used, n - *used);
        if (!k) break; /* the echo buffer is full */
        *used += k;
    }
    return TP_OK;
}

size_t tb_probe_session_output(const tb_probe_session *s, unsigned char *out, size_t cap) {
    if (!cap) return 0;
    if (s->echo_n) {
        size_t k = s->echo_n < cap ? s->echo_n : cap;
        memcpy(out, s->echo + s->echo_off, k);
        return k;
    }
    if (s->out_left) {
        size_t k = s->out_left < cap ? (size_t)s->out_left : cap;
        memset(out, 0, k);
        return k;
    }
    if (s->ack) {
        out[0] = 'U';
        return 1;
    }
    return 0;
}

void tb_probe_session_sent(tb_probe_session *s, size_t n) {
    if (s->echo_n) {
        s->echo_off += n;
        s->echo_n -= n;
        if (!s->echo_n) s->echo_off = 0;
    } else if (s->out_left) {
        s->out_left -= n;
    } else if (n) {
        s->ack = false;
    }
    maybe_done(s);
}

/* ======== the server */

typedef struct {
    int fd;
    bool eof, dead;
    tb_probe_session s;
    size_t in_off, in_n; /* unconsumed input in in[] */
    unsigned char in[CONN_IN_BUF];
} pconn;

typedef struct {
    int listen_fd;
    pconn **c;
    size_t n, cap;
    struct pollfd *pfd; /* [0] the listener, then one per connection */
    unsigned char *buf; /* output scratch */
} server;

static void pconn_close(pconn *c) {
    close(c->fd);
    c->dead = true;
}

/* Feeds input to the session and sends what it owes, until neither moves. 0, or -1 to close. */
static int pconn_pump(server *sv, pconn *c) {
    for (int round = 0; round < SENDS_PER_WAKE; round++) {
        bool moved = false;
        if (c->in_n) {
            size_t used;
            tp_err err;
            if (tb_probe_session_input(&c->s, c->in + c->in_off, c->in_n, &used, &err) != TP_OK) return -1;
            c->in_off += used;
            c->in_n -= used;
            moved = used > 0;
        }
        size_t k = tb_probe_session_output(&c->s, sv->buf, IO_BUF);
        if (k) {
            ssize_t put = send(c->fd, sv->buf, k, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
            if (put > 0) {
                tb_probe_session_sent(&c->s, (size_t)put);
                moved = true;
            }
        }
        if (!moved) break;
    }
    return 0;
}

/* Reads into the connection's buffer once it is used up. 0, or -1 to close. */
static int pconn_read(pconn *c) {
    if (c->in_n || c->eof) return 0;
    ssize_t got = recv(c->fd, c->in, sizeof c->in, MSG_DONTWAIT);
    if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (got == 0) c->eof = true;
    c->in_off = 0;
    c->in_n = (size_t)got;
    return 0;
}

static void pconn_step(server *sv, pconn *c, short re) {
    bool fail = (re & POLLERR) || ((re & (POLLIN | POLLHUP)) && pconn_read(c) != 0) || pconn_pump(sv, c) != 0;
    /* Else: once the client is done sending and nothing more is owed, the conversation is over. */
    if (fail || (c->eof && !c->in_n && !owes_output(&c->s))) pconn_close(c);
}

static int server_reserve(server *sv, tp_err *err) {
    if (sv->n < sv->cap) return 0;
    size_t cap = sv->cap ? 2 * sv->cap : 16;
    pconn **c = tp_realloc(sv->c, cap * sizeof *c, err);
    if (!c) return -1;
    sv->c = c;
    struct pollfd *p = tp_realloc(sv->pfd, (1 + cap) * sizeof *p, err);
    if (!p) return -1;
    sv->pfd = p;
    sv->cap = cap;
    return 0;
}

/* Accepts waiting clients; an error only when the listener is unusable. *pause: out of
 * descriptors or memory, so the caller stops polling the listener a while instead of spinning. */
static tp_status server_accept(server *sv, bool *pause, tp_err *err) {
    for (int i = 0; i < 64; i++) {
        int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return TP_OK;
            if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EOPNOTSUPP)
                return tp_fail(err, TP_ERR_IO, "probe server: accept: %s", strerror(errno));
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) *pause = true;
            if (*pause) return TP_OK;
            continue;
        }
        tp_err e;
        pconn *c = server_reserve(sv, &e) == 0 ? tp_malloc(sizeof *c, &e) : NULL;
        if (!c) {
            close(fd);
            *pause = true;
            return TP_OK;
        }
        int one = 1; /* echo replies are small: Nagle would hold them for an ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *c = (pconn){.fd = fd};
        tb_probe_session_init(&c->s);
        sv->c[sv->n++] = c;
    }
    return TP_OK;
}

static int server_poll_set(server *sv, double now, double paused_until) {
    sv->pfd[0] = (struct pollfd){.fd = now < paused_until ? -1 : sv->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < sv->n; i++) {
        pconn *c = sv->c[i];
        short ev = (short)((!c->in_n && !c->eof ? POLLIN : 0) | (owes_output(&c->s) ? POLLOUT : 0));
        sv->pfd[1 + i] = (struct pollfd){.fd = ev ? c->fd : -1, .events = ev};
    }
    return (int)(1e3 * STOP_CHECK_S);
}

static void server_reap(server *sv) {
    for (size_t i = 0; i < sv->n;) {
        if (sv->c[i]->dead) {
            free(sv->c[i]);
            sv->c[i] = sv->c[--sv->n];
        } else {
            i++;
        }
    }
}

static tp_status server_loop(server *sv, const volatile sig_atomic_t *stop, tp_err *err) {
    double paused_until = 0;
    while (!*stop) {
        size_t n = sv->n; /* connections accepted below are polled from the next round */
        int timeout = server_poll_set(sv, tp_now(), paused_until);
        if (poll(sv->pfd, 1 + n, timeout) < 0) {
            if (errno == EINTR) continue;
            return tp_fail(err, TP_ERR_IO, "probe server: poll: %s", strerror(errno));
        }
        for (size_t i = 0; i < n; i++)
            if (sv->pfd[1 + i].revents) pconn_step(sv, sv->c[i], sv->pfd[1 + i].revents);
        bool pause = false;
        if (sv->pfd[0].revents && server_accept(sv, &pause, err) != TP_OK) return err->code;
        if (pause) paused_until = tp_now() + STOP_CHECK_S;
        server_reap(sv);
    }
    return TP_OK;
}

tp_status tb_probe_serve(int listen_fd, const volatile sig_atomic_t *stop, tp_err *err) {
    if (listen_fd < 0) return tp_fail(err, TP_ERR_ARG, "probe server: no listening socket");
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return tp_fail(err, TP_ERR_IO, "probe server: listening socket: %s", strerror(errno));
    server sv = {.listen_fd = listen_fd};
    sv.buf = tp_malloc(IO_BUF, err);
    tp_status st = sv.buf && server_reserve(&sv, err) == 0 ? server_loop(&sv, stop, err) : err->code;
    for (size_t i = 0; i < sv.n; i++) {
        if (!sv.c[i]->dead) pconn_close(sv.c[i]);
        free(sv.c[i]);
    }
    free(sv.c);
    free(sv.pfd);
    free(sv.buf);
    return st;
}

/* ======== the client */

typedef struct {
    int fd;
    double deadline, timeout_s;
    unsigned char *buf; /* IO_BUF bytes */
} client;

/* Waits until fd is ready for events or the deadline passes. */
static tp_status wait_fd(const client *k, short events, const char *what, tp_err *err) {
    for (;;) {
        double left = k->deadline - tp_now();
        if (left <= 0)
            return tp_fail_transient(err, TP_ERR_IO, "timed out after %g s while %s", k->timeout_s, what);
        struct pollfd p = {.fd = k->fd, .events = events};
        int rc = poll(&p, 1, (int)ceil(left * 1e3));
        if (rc > 0) return TP_OK;
        if (rc < 0 && errno != EINTR) return tp_fail(err, TP_ERR_IO, "poll while %s: %s", what, strerror(errno));
    }
}

static tp_status io_error(int e, const char *what, tp_err *err) {
    if (e == ECONNRESET || e == EPIPE || e == ETIMEDOUT || e == ECONNREFUSED || e == EHOSTUNREACH ||
        e == ENETUNREACH || e == ECONNABORTED)
        return tp_fail_transient(err, TP_ERR_IO, "%s: %s", what, strerror(e));
    return tp_fail(err, TP_ERR_IO, "%s: %s", what, strerror(e));
}

/* Sends n bytes of data, or n zeros when data is NULL. */
static tp_status send_all(const client *k, const unsigned char *data, size_t n, const char *what, tp_err *err) {
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (!data && want > IO_BUF) want = IO_BUF;
        ssize_t put = send(k->fd, data ? data + done : k->buf, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (put > 0) {
            done += (size_t)put;
            continue;
        }
        if (put < 0 && errno == EINTR) continue;
        if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_error(errno, what, err);
        if (wait_fd(k, POLLOUT, what, err) != TP_OK) return err->code;
    }
    return TP_OK;
}

/* Receives n bytes into out, or discards them when out is NULL. */
static tp_status recv_all(const client *k, unsigned char *out, size_t n, const char *what, tp_err *err) {
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (!out && want > IO_BUF) want = IO_BUF;
        ssize_t got = recv(k->fd, out ? out + done : k->buf, want, MSG_DONTWAIT);
        if (got > 0) {
            done += (size_t)got;
            continue;
        }
        if (got == 0)
            return tp_fail_transient(err, TP_ERR_IO, "the server closed the connection while %s", what);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return io_error(errno, what, err);
        if (wait_fd(k, POLLIN, what, err) != TP_OK) return err->code;
    }
    return TP_OK;
}

static tp_status send_request(const client *k, unsigned char op, uint64_t count, const char *what, tp_err *err) {
    unsigned char h[TB_PROBE_HDR] = {op};
    for (int i = 0; i < 8; i++) h[1 + i] = (unsigned char)(count >> (56 - 8 * i));
    return send_all(k, h, TB_PROBE_HDR, what, err);
}

/* One one-byte echo; *rtt its round trip. */
static tp_status echo_once(const client *k, double *rtt, tp_err *err) {
    unsigned char h[TB_PROBE_HDR + 1] = {'E', 0, 0, 0, 0, 0, 0, 0, 1, 0x5a}, back;
    double t0 = tp_now();
    if (send_all(k, h, sizeof h, "sending an echo", err) != TP_OK) return err->code;
    if (recv_all(k, &back, 1, "waiting for an echo", err) != TP_OK) return err->code;
    *rtt = tp_now() - t0;
    if (back != 0x5a) return tp_fail(err, TP_ERR_FORMAT, "the echo came back as 0x%02x", back);
    return TP_OK;
}

static tp_status dial(client *k, const struct sockaddr_in *to, tp_err *err) {
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) return tp_fail(err, TP_ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *what = "connecting";
    if (connect(k->fd, (const struct sockaddr *)to, sizeof *to) == 0) return TP_OK;
    if (errno != EINPROGRESS) return io_error(errno, what, err);
    if (wait_fd(k, POLLOUT, what, err) != TP_OK) return err->code;
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
    return e ? io_error(e, what, err) : TP_OK;
}

static double rate(size_t bytes, double elapsed, double rtt) {
    double t = elapsed - rtt;
    return 8.0 * (double)bytes / (t > 1e-6 ? t : 1e-6);
}

static tp_status measure_rtt(const client *k, int samples, double *rtt, tp_err *err) {
    double *t = tp_calloc((size_t)samples, sizeof *t, err), warm;
    if (!t) return err->code;
    tp_status st = echo_once(k, &warm, err); /* pays for connection setup; not a sample */
    for (int i = 0; st == TP_OK && i < samples; i++) st = echo_once(k, &t[i], err);
    if (st == TP_OK) *rtt = tp_lower_median(t, (size_t)samples);
    free(t);
    return st;
}

static tp_status measure_rates(const client *k, size_t bytes, tb_probe_result *r, tp_err *err) {
    unsigned char ack;
    double t0 = tp_now();
    if (send_request(k, 'U', bytes, "uploading", err) != TP_OK ||
        send_all(k, NULL, bytes, "uploading", err) != TP_OK ||
        recv_all(k, &ack, 1, "waiting for the upload's answer", err) != TP_OK)
        return err->code;
    if (ack != 'U') return tp_fail(err, TP_ERR_FORMAT, "the upload's answer is 0x%02x, not 'U'", ack);
    r->up_bps = rate(bytes, tp_now() - t0, r->rtt_s);
    t0 = tp_now();
    if (send_request(k, 'D', bytes, "downloading", err) != TP_OK ||
        recv_all(k, NULL, bytes, "downloading", err) != TP_OK)
        return err->code;
    r->down_bps = rate(bytes, tp_now() - t0, r->rtt_s);
    return TP_OK;
}

static tp_status check_args(const char *addr, int port, size_t bytes, int rtt_samples, double timeout_s,
                            struct sockaddr_in *to, tp_err *err) {
    *to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!addr || inet_pton(AF_INET, addr, &to->sin_addr) != 1)
        return tp_fail(err, TP_ERR_ARG, "probe: '%s' is not a dotted IPv4 address", addr ? addr : "(null)");
    if (port < 1 || port > 65535) return tp_fail(err, TP_ERR_ARG, "probe: port %d is not 1-65535", port);
    if (bytes < 1 || bytes > TB_PROBE_MAX_COUNT)
        return tp_fail(err, TP_ERR_ARG, "probe: %zu bytes is not 1 to %llu", bytes,
                       (unsigned long long)TB_PROBE_MAX_COUNT);
    if (rtt_samples < 1 || rtt_samples > 10000)
        return tp_fail(err, TP_ERR_ARG, "probe: %d round-trip samples is not 1-10000", rtt_samples);
    if (!isfinite(timeout_s) || timeout_s <= 0)
        return tp_fail(err, TP_ERR_ARG, "probe: the timeout must be a positive number of seconds");
    return TP_OK;
}

tp_status tb_probe_measure(const char *addr, int port, size_t bytes, int rtt_samples, double timeout_s,
                           tb_probe_result *r, tp_err *err) {
    struct sockaddr_in to;
    if (check_args(addr, port, bytes, rtt_samples, timeout_s, &to, err) != TP_OK) return err->code;
    client k = {.fd = -1, .deadline = tp_now() + timeout_s, .timeout_s = timeout_s};
    k.buf = tp_calloc(1, IO_BUF, err); /* zeros to upload, a sink for downloads */
    if (!k.buf) return err->code;
    char name[64];
    snprintf(name, sizeof name, "%s:%d", addr, port);
    tb_probe_result res = {0};
    tp_status st = dial(&k, &to, err);
    if (st == TP_OK) st = measure_rtt(&k, rtt_samples, &res.rtt_s, err);
    if (st == TP_OK) st = measure_rates(&k, bytes, &res, err);
    if (k.fd >= 0) close(k.fd);
    free(k.buf);
    if (st != TP_OK) return tp_wrap(err, "probing %s", name);
    *r = res;
    return TP_OK;
}

tp_status tb_probe_serve_forever(int listen_fd, void *ctx, tp_err *err) {
    (void)ctx;
    volatile sig_atomic_t never = 0;
    return tb_probe_serve(listen_fd, &never, err);
}
