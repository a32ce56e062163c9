#include "testbed/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"

#define READ_BUF ((size_t)128 << 10)
#define READS_PER_WAKE 8     /* per side, so one fast connection cannot starve the others */
#define ACCEPTS_PER_WAKE 64
#define STOP_CHECK_S 0.1

/* Bytes read from one side, waiting for their release time. */
typedef struct chunk {
    struct chunk *next;
    double release;
    size_t len, off; /* off: bytes already written */
    unsigned char data[];
} chunk;

/* One direction of a connection. */
typedef struct {
    chunk *head, *tail;
    size_t queued;  /* payload + chunk headers, bounded by max_queue */
    double delay;   /* the sending host's one-way delay */
    double open_at; /* nothing counts as sent before this (connection setup) */
    double last;    /* release time of the latest chunk or the EOF */
    double eof_at;  /* when the EOF leaves */
    bool eof;       /* the source has sent EOF */
    bool shut;      /* ... and the destination's write half is shut down */
} lane;

typedef struct {
    int cfd, ufd;      /* client, upstream (the service) */
    bool connecting;   /* upstream connect() in progress */
    bool dead;
    lane up, down;     /* up: client → service; down: service → client */
} conn;

typedef struct {
    const tb_relay_opts *o;
    size_t max_queue;
    conn **c;
    size_t n, cap;
    struct pollfd *pfd; /* [0] the listener, then cfd and ufd of each connection in order */
    unsigned char *buf;
    double accept_paused_until; /* out of descriptors: accepting waits a while instead of spinning */
} relay;

static bool delay_ok(double d) { return isfinite(d) && d >= 0 && d <= 3600; }

tp_status tb_relay_check(const tb_relay_opts *o, tp_err *err) {
    if (o->listen_fd < 0) return tp_fail(err, TP_ERR_ARG, "relay: no listening socket");
    if (o->upstream_port == 0) return tp_fail(err, TP_ERR_ARG, "relay: upstream port 0");
    if (!delay_ok(o->own_delay_s) || !delay_ok(o->default_delay_s))
        return tp_fail(err, TP_ERR_ARG, "relay: delays must be finite, 0 to 3600 s");
    if (o->n_peers < 0 || (o->n_peers > 0 && !o->peers))
        return tp_fail(err, TP_ERR_ARG, "relay: %d peers given without a list", o->n_peers);
    for (int i = 0; i < o->n_peers; i++)
        if (!delay_ok(o->peers[i].delay_s))
            return tp_fail(err, TP_ERR_ARG, "relay: peer %d: delay must be finite, 0 to 3600 s", i);
    return TP_OK;
}

static double peer_delay(const tb_relay_opts *o, const struct sockaddr_storage *sa) {
    if (sa->ss_family != AF_INET) return o->default_delay_s;
    uint32_t a = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
    for (int i = 0; i < o->n_peers; i++)
        if (o->peers[i].addr == a) return o->peers[i].delay_s;
    return o->default_delay_s;
}

/* When bytes (or the EOF) arriving now may leave: the sender's delay after the later of now and
 * the lane's opening, never before what came earlier. */
static double release_time(const lane *l, double now) {
    double t = fmax(now, l->open_at) + l->delay;
    return fmax(t, l->last);
}

static void lane_free(lane *l) {
    while (l->head) {
        chunk *next = l->head->next;
        free(l->head);
        l->head = next;
    }
    l->tail = NULL;
    l->queued = 0;
}

/* An abortive close (RST), so an error on one side reaches the other as a reset, not a clean EOF. */
static void close_abort(int fd) {
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void conn_close(conn *c, bool abort) {
    if (abort) {
        close_abort(c->cfd);
        close_abort(c->ufd);
    } else {
        close(c->cfd);
        close(c->ufd);
    }
    lane_free(&c->up);
    lane_free(&c->down);
    c->dead = true;
}

/* Reads what src has into l, as long as l has room. 0, or -1 when the connection must close. */
static int lane_read(relay *r, lane *l, int src, double now, tp_err *err) {
    for (int i = 0; i < READS_PER_WAKE && !l->eof; i++) {
        if (l->queued + sizeof(chunk) >= r->max_queue) return 0;
        size_t want = r->max_queue - l->queued - sizeof(chunk);
        if (want > READ_BUF) want = READ_BUF;
        ssize_t got = recv(src, r->buf, want, MSG_DONTWAIT);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        double at = release_time(l, now);
        l->last = at;
        if (got == 0) {
            l->eof = true;
            l->eof_at = at;
            return 0;
        }
        chunk *k = tp_malloc(sizeof *k + (size_t)got, err);
        if (!k) return -1;
        *k = (chunk){.next = NULL, .release = at, .len = (size_t)got, .off = 0};
        memcpy(k->data, r->buf, (size_t)got);
        if (l->tail) l->tail->next = k;
        else l->head = k;
        l->tail = k;
        l->queued += sizeof *k + (size_t)got;
    }
    return 0;
}

/* Writes every released chunk dst takes now; after the last one, passes the EOF on. 0, or -1 when
 * the connection must close. */
static int lane_flush(lane *l, int dst, double now) {
    while (l->head && l->head->release <= now) {
        chunk *k = l->head;
        ssize_t put = send(dst, k->data + k->off, k->len - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        k->off += (size_t)put;
        if (k->off < k->len) return 0; /* dst is full */
        l->head = k->next;
        if (!l->head) l->tail = NULL;
        l->queued -= sizeof *k + k->len;
        free(k);
    }
    if (!l->head && l->eof && !l->shut && l->eof_at <= now) {
        if (shutdown(dst, SHUT_WR) != 0) return -1;
        l->shut = true;
    }
    return 0;
}

/* The upstream connect() finished: did it succeed? */
static bool upstream_connected(int fd) {
    int e = 0;
    socklen_t len = sizeof e;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0;
}

static bool lane_can_read(const relay *r, const lane *l) {
    return !l->eof && l->queued + sizeof(chunk) < r->max_queue;
}

static bool lane_ready(const lane *l, double now) { return l->head && l->head->release <= now; }

/* The earliest future moment a lane has something to do, or `t` if sooner. */
static double lane_next(const lane *l, double now, double t) {
    if (l->head && l->head->release > now) return fmin(t, l->head->release);
    if (!l->head && l->eof && !l->shut && l->eof_at > now) return fmin(t, l->eof_at);
    return t;
}

/* Fills the poll set for this round; returns how long poll may sleep (at most until *stop is due). */
static double poll_set(relay *r, double now) {
    double wake = now + STOP_CHECK_S;
    r->pfd[0] = (struct pollfd){.fd = r->o->listen_fd, .events = POLLIN};
    if (now < r->accept_paused_until) {
        r->pfd[0].fd = -1;
        wake = fmin(wake, r->accept_paused_until);
    }
    for (size_t i = 0; i < r->n; i++) {
        conn *c = r->c[i];
        short ce = 0, ue = 0;
        if (lane_can_read(r, &c->up)) ce |= POLLIN;
        if (lane_ready(&c->down, now)) ce |= POLLOUT;
        if (c->connecting) ue = POLLOUT;
        else {
            if (lane_can_read(r, &c->down)) ue |= POLLIN;
            if (lane_ready(&c->up, now)) ue |= POLLOUT;
        }
        /* A descriptor with nothing wanted is left out: its POLLHUP would wake poll in a loop. */
        r->pfd[1 + 2 * i] = (struct pollfd){.fd = ce ? c->cfd : -1, .events = ce};
        r->pfd[2 + 2 * i] = (struct pollfd){.fd = ue ? c->ufd : -1, .events = ue};
        wake = lane_next(&c->up, now, lane_next(&c->down, now, wake));
    }
    return wake > now ? wake - now : 0;
}

/* One round of work on a connection after poll. */
static void conn_step(relay *r, conn *c, short cre, short ure, double now) {
    tp_err err;
    if ((cre & POLLERR) || (ure & POLLERR && !c->connecting)) goto reset;
    if (c->connecting && ure) {
        if (!upstream_connected(c->ufd)) goto reset; /* refused: the client's connection goes too */
        c->connecting = false;
    }
    if ((cre & (POLLIN | POLLHUP)) && lane_read(r, &c->up, c->cfd, now, &err) != 0) goto reset;
    if ((ure & (POLLIN | POLLHUP)) && lane_read(r, &c->down, c->ufd, now, &err) != 0) goto reset;
    if (!c->connecting && lane_flush(&c->up, c->ufd, now) != 0) goto reset;
    if (lane_flush(&c->down, c->cfd, now) != 0) goto reset;
    if (c->up.shut && c->down.shut) conn_close(c, false);
    return;
reset:
    conn_close(c, true);
}

static void set_nodelay(int fd) {
    /* The original sender already coalesced; Nagle here would only add delay to small replies. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Opens the upstream side for an accepted client. NULL (client closed) when that is impossible. */
static conn *conn_open(relay *r, int cfd, const struct sockaddr_storage *sa, double now, tp_err *err) {
    int ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    conn *c = ufd >= 0 ? tp_calloc(1, sizeof *c, err) : NULL;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(r->o->upstream_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = c ? connect(ufd, (struct sockaddr *)&to, sizeof to) : -1;
    if (!c || (rc != 0 && errno != EINPROGRESS)) {
        free(c);
        if (ufd >= 0) close(ufd);
        close_abort(cfd);
        return NULL;
    }
    set_nodelay(cfd);
    set_nodelay(ufd);
    double dc = peer_delay(r->o, sa), ds = r->o->own_delay_s;
    c->cfd = cfd;
    c->ufd = ufd;
    c->connecting = rc != 0;
    /* The SYN reaches the service at +dc, the SYN-ACK the client at +dc+ds: only then can the
     * client's first bytes leave, and the service's first bytes only once it has accepted. */
    c->up = (lane){.delay = dc, .open_at = now + dc + ds};
    c->down = (lane){.delay = ds, .open_at = now + dc};
    return c;
}

static int conns_reserve(relay *r, tp_err *err) {
    if (r->n < r->cap) return 0;
    size_t cap = r->cap ? 2 * r->cap : 64;
    conn **c = tp_realloc(r->c, cap * sizeof *c, err);
    if (!c) return -1;
    r->c = c;
    struct pollfd *p = tp_realloc(r->pfd, (1 + 2 * cap) * sizeof *p, err);
    if (!p) return -1;
    r->pfd = p;
    r->cap = cap;
    return 0;
}

/* Accepts waiting clients. TP_OK, or an error when the listener itself is unusable. */
static tp_status accept_some(relay *r, double now, tp_err *err) {
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(r->o->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return TP_OK;
            if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EOPNOTSUPP)
                return tp_fail(err, TP_ERR_IO, "relay: accept: %s", strerror(errno));
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                r->accept_paused_until = now + STOP_CHECK_S;
                return TP_OK;
            }
            continue; /* EINTR, ECONNABORTED, a network error on that one client */
        }
        tp_err e;
        if (conns_reserve(r, &e) != 0) {
            close_abort(fd);
            continue;
        }
        conn *c = conn_open(r, fd, &sa, now, &e);
        if (c) r->c[r->n++] = c;
    }
    return TP_OK;
}

/* Frees closed connections (order does not matter: the poll set is rebuilt every round). */
static void reap(relay *r) {
    for (size_t i = 0; i < r->n;) {
        if (r->c[i]->dead) {
            free(r->c[i]);
            r->c[i] = r->c[--r->n];
        } else {
            i++;
        }
    }
}

static void relay_free(relay *r) {
    for (size_t i = 0; i < r->n; i++) {
        if (!r->c[i]->dead) conn_close(r->c[i], false);
        free(r->c[i]);
    }
    free(r->c);
    free(r->pfd);
    free(r->buf);
}

static tp_status relay_loop(relay *r, const volatile sig_atomic_t *stop, tp_err *err) {
    while (!*stop) {
        size_t n = r->n; /* connections accepted below are polled from the next round */
        double sleep = poll_set(r, tp_now());
        /* ppoll: nanoseconds, so a release is neither early nor up to a millisecond late */
        struct timespec ts = {(time_t)sleep, (long)((sleep - (double)(time_t)sleep) * 1e9)};
        if (ppoll(r->pfd, 1 + 2 * n, &ts, NULL) < 0) {
            if (errno == EINTR) continue;
            return tp_fail(err, TP_ERR_IO, "relay: poll: %s", strerror(errno));
        }
        double now = tp_now();
        for (size_t i = 0; i < n; i++)
            conn_step(r, r->c[i], r->pfd[1 + 2 * i].revents, r->pfd[2 + 2 * i].revents, now);
        if (r->pfd[0].revents && accept_some(r, now, err) != TP_OK) return err->code;
        reap(r);
    }
    return TP_OK;
}

tp_status tb_relay_serve(const tb_relay_opts *o, const volatile sig_atomic_t *stop, tp_err *err) {
    if (tb_relay_check(o, err) != TP_OK) return err->code;
    int fl = fcntl(o->listen_fd, F_GETFL);
    if (fl < 0 || fcntl(o->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return tp_fail(err, TP_ERR_IO, "relay: listening socket: %s", strerror(errno));
    relay r = {.o = o, .max_queue = o->max_queue ? o->max_queue : TB_RELAY_QUEUE_DEFAULT};
    if (r.max_queue < TB_RELAY_QUEUE_MIN) r.max_queue = TB_RELAY_QUEUE_MIN;
    r.buf = tp_malloc(READ_BUF, err);
    tp_status st = r.buf && conns_reserve(&r, err) == 0 ? relay_loop(&r, stop, err) : err->code;
    relay_free(&r);
    return st;
}
