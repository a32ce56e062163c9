/* Children inside testbed hosts: fork, setns, then the work; results come back through a pipe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "testbed/host_proc.h"

#define LISTEN_BACKLOG 1024
#define SERVE_READY_S 10.0 /* binding a socket in a fresh namespace takes microseconds; this is a hang */

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes before the deadline (tp_now() seconds); -1 on EOF, error or timeout. */
static int read_all(int fd, void *p, size_t n, double deadline) {
    char *c = p;
    while (n) {
        int ms = (int)((deadline - tp_now()) * 1000);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (ms <= 0) return -1;
        int r = poll(&pf, 1, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t got = read(fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        c += got;
        n -= (size_t)got;
    }
    return 0;
}

/* In the child: into the host's namespace, dying with the parent. */
static int enter(const tb_host *x, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return -1;
    return setns(x->ns_fd, CLONE_NEWNET);
}

static void reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* Forks the child of one call; *fd is the read end of its answer. */
static tp_status start_call(const tb_host *x, tb_host_fn fn, void *ctx, void *out, size_t out_len, pid_t *pid,
                            int *fd, tp_err *err) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return tp_fail(err, TP_ERR_IO, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        tp_err e = {0};
        if (enter(x, parent)) tp_fail(&e, TP_ERR_IO, "cannot enter host %s: %s", x->name, strerror(errno));
        else fn(ctx, out, out_len, &e);
        _exit(write_all(fds[1], &e, sizeof e) || write_all(fds[1], out, out_len) ? 1 : 0);
    }
    close(fds[1]);
    if (p < 0) {
        close(fds[0]);
        return tp_fail(err, TP_ERR_IO, "fork: %s", strerror(errno));
    }
    *pid = p;
    *fd = fds[0];
    return TP_OK;
}

/* Reads one call's answer (by deadline, else kills it) and reaps it. */
static tp_status finish_call(const tb_host *x, pid_t pid, int fd, void *out, size_t out_len, double deadline,
                             double timeout_s, tp_err *err) {
    tp_err e;
    int ok = !read_all(fd, &e, sizeof e, deadline) && !read_all(fd, out, out_len, deadline);
    close(fd);
    if (!ok) kill(pid, SIGKILL);
    reap(pid);
    if (!ok) return tp_fail_transient(err, TP_ERR_IO, "host %s: no answer within %.0f s", x->name, timeout_s);
    e.msg[sizeof e.msg - 1] = 0;
    if (e.code) *err = e;
    return e.code;
}

tp_status tb_host_call_all(tb_host *const *hosts, int n, tb_host_fn fn, void *const *ctxs, void *outs,
                           size_t out_len, double timeout_s, tp_err *errs) {
    pid_t pids[TB_HOSTS_MAX];
    int fds[TB_HOSTS_MAX], started = 0;
    tp_status first = TP_OK;
    if (n > TB_HOSTS_MAX) return tp_fail(&errs[0], TP_ERR_ARG, "%d calls at once: at most %d", n, TB_HOSTS_MAX);
    for (int i = 0; i < n; i++) errs[i] = (tp_err){0};
    for (; started < n; started++) {
        char *out = (char *)outs + (size_t)started * out_len;
        if ((first = start_call(hosts[started], fn, ctxs[started], out, out_len, &pids[started], &fds[started],
                                &errs[started])))
            break;
    }
    double deadline = tp_now() + timeout_s;
    for (int i = 0; i < started; i++) {
        tp_status st = finish_call(hosts[i], pids[i], fds[i], (char *)outs + (size_t)i * out_len, out_len, deadline,
                                   timeout_s, &errs[i]);
        if (st && !first) first = st;
    }
    return first;
}

tp_status tb_host_call(const tb_host *x, tb_host_fn fn, void *ctx, void *out, size_t out_len, double timeout_s,
                       tp_err *err) {
    pid_t pid = 0;
    int fd = -1;
    tp_status st = start_call(x, fn, ctx, out, out_len, &pid, &fd, err);
    return st ? st : finish_call(x, pid, fd, out, out_len, tp_now() + timeout_s, timeout_s, err);
}

static int listen_on(const char *addr, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, LISTEN_BACKLOG)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void serve_child(const tb_host *x, const char *addr, int port, tb_serve_fn serve, void *ctx, pid_t parent,
                        int ready) {
    setpgid(0, 0);
    tp_err e = {0};
    int fd = -1;
    if (enter(x, parent)) tp_fail(&e, TP_ERR_IO, "cannot enter host %s: %s", x->name, strerror(errno));
    else if ((fd = listen_on(addr, port)) < 0)
        tp_fail(&e, TP_ERR_IO, "host %s: cannot listen on %s:%d: %s", x->name, addr, port, strerror(errno));
    write_all(ready, &e, sizeof e);
    close(ready);
    if (fd < 0) _exit(1);
    _exit(serve(fd, ctx, &e) ? 1 : 0);
}

tp_status tb_host_serve(const tb_host *x, const char *addr, int port, tb_serve_fn serve, void *ctx, pid_t *pid,
                        tp_err *err) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return tp_fail(err, TP_ERR_IO, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        serve_child(x, addr, port, serve, ctx, parent, fds[1]);
    }
    close(fds[1]);
    if (p < 0) {
        close(fds[0]);
        return tp_fail(err, TP_ERR_IO, "fork: %s", strerror(errno));
    }
    setpgid(p, p);
    tp_err e;
    int said = !read_all(fds[0], &e, sizeof e, tp_now() + SERVE_READY_S);
    close(fds[0]);
    if (said && !e.code) {
        *pid = p;
        return TP_OK;
    }
    kill(p, SIGKILL);
    reap(p);
    if (!said) return tp_fail(err, TP_ERR_IO, "host %s: the server on %s:%d did not start", x->name, addr, port);
    e.msg[sizeof e.msg - 1] = 0;
    *err = e;
    return e.code;
}

void tb_server_stop(pid_t *pid) {
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    reap(*pid);
    *pid = 0;
}

static tp_status try_connect(void *ctx, void *out, size_t out_len, tp_err *err) {
    (void)out_len;
    int port = *(const int *)ctx, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons((uint16_t)port)};
    *(int *)out = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    (void)err;
    return TP_OK;
}

int tb_host_port_open(const tb_host *x, int port) {
    int open_ = 0;
    tp_err ignored;
    return tb_host_call(x, try_connect, &port, &open_, sizeof open_, SERVE_READY_S, &ignored) ? 0 : open_;
}
