/* Launching chopsticks with a Subtensor runtime (chopsticks.h). Readiness is read from its output
 * (the line "RPC listening on http://127.0.0.1:PORT"), and its exit is seen through a pidfd, so
 * nothing here guesses with sleeps. chopsticks itself moves on to the next port when the one it is
 * given is taken, so the port is the one that line names. */
#include "localnet/chopsticks.h"
#include "localnet/localnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"

struct tp_chopsticks_proc {
    pid_t pid;
    int port;
    int out_fd;  /* read end of its stdout and stderr, non-blocking */
    int log_fd;  /* -1 when its output is discarded */
    int pidfd;   /* readable once it has exited; -1 on an old kernel */
    int wake[2]; /* tells the drain thread to finish */
    pthread_t drain;
    bool draining;
};

#define READY_MARK "RPC listening on http://127.0.0.1:"
#define START_ATTEMPTS 3      /* ports tried when another process takes the one chosen */
#define READY_TIMEOUT_S 120.0 /* it is ready in 5-10 s on 2 cores; this is a hang */
#define STOP_GRACE_S 5.0      /* after SIGTERM, before SIGKILL */
#define TAIL_MAX 4096         /* bytes of its latest output kept for error messages */
#define QUOTE_MAX 640         /* bytes of that quoted in an error */
#define CHOPSTICKS_JS "tools/node_modules/@acala-network/chopsticks/chopsticks.cjs"

/* ---------------------------------------------------------------- what to run */

typedef struct {
    char node[PATH_MAX], script[PATH_MAX], genesis[PATH_MAX], wasm[PATH_MAX], storage[PATH_MAX];
    char port[16];
    const char *argv[20];
    int netns_fd; /* >= 0: the network namespace to run in */
} command;

static tp_status readable(const char *path, const char *what, const char *hint, tp_err *err) {
    if (access(path, R_OK) == 0) return TP_OK;
    return tp_fail(err, TP_ERR_CONFIG, "%s %s: %s%s", what, path, strerror(errno), hint);
}

/* node from opts or the first executable `node` on PATH. */
static tp_status find_node(const char *given, char *out, tp_err *err) {
    if (given) {
        if (access(given, X_OK) == 0 && snprintf(out, PATH_MAX, "%s", given) < PATH_MAX) return TP_OK;
        return tp_fail(err, TP_ERR_CONFIG, "node %s is not an executable", given);
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        if (n && snprintf(out, PATH_MAX, "%.*s/node", (int)n, p) < PATH_MAX && access(out, X_OK) == 0) return TP_OK;
        p += n + (p[n] == ':');
    }
    return tp_fail(err, TP_ERR_CONFIG, "node is not installed (not on PATH): run scripts/install-deps");
}

/* Formats a path into out (PATH_MAX bytes); too long is an error, never a silently cut path. */
static tp_status path_fmt(char *out, tp_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static tp_status path_fmt(char *out, tp_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) return tp_fail(err, TP_ERR_CONFIG, "chopsticks: a path is too long (over %d bytes)", PATH_MAX);
    return TP_OK;
}

/* The runtime folder and the chopsticks script, from opts, the environment or the templar root. */
static tp_status locate(const tp_chopsticks_opts *o, char *dir, command *c, tp_err *err) {
    const char *env_dir = getenv("TEMPLAR_SUBTENSOR_DIR");
    if (env_dir && !*env_dir) env_dir = NULL;
    if ((!o->script || (!o->runtime_dir && !env_dir)) && !o->root)
        return tp_fail(err, TP_ERR_ARG, "chopsticks: no templar root (TEMPLAR_ROOT) to find chopsticks and the runtimes from");
    tp_status st = o->runtime_dir ? path_fmt(dir, err, "%s", o->runtime_dir)
                   : env_dir      ? path_fmt(dir, err, "%s", env_dir)
                                  : path_fmt(dir, err, "%s/../shared/subtensor", o->root);
    if (!st) st = o->script ? path_fmt(c->script, err, "%s", o->script) : path_fmt(c->script, err, "%s/" CHOPSTICKS_JS, o->root);
    if (!st && access(c->script, R_OK) != 0)
        st = tp_fail(err, TP_ERR_CONFIG, "chopsticks is not installed: run scripts/install-deps (no %s)", c->script);
    return st;
}

static tp_status resolve_paths(const tp_chopsticks_opts *o, command *c, tp_err *err) {
    if (o->spec != 143 && o->spec != 218)
        return tp_fail(err, TP_ERR_ARG, "chopsticks: spec %d is not one of the Subtensor runtimes here (143 or 218)", o->spec);
    char dir[PATH_MAX];
    tp_status st = locate(o, dir, c, err);
    if (!st) st = path_fmt(c->genesis, err, "%s/%s", dir, o->spec == 143 ? "raw_spec_testfinney.json" : "raonet.json");
    if (!st) st = path_fmt(c->wasm, err, "%s/code_143.hex", dir);
    const char *what = "Subtensor runtime file", *hint = " (set TEMPLAR_SUBTENSOR_DIR to the folder with the runtimes)";
    if (!st) st = readable(c->genesis, what, hint, err);
    if (!st && o->spec == 143) st = readable(c->wasm, what, hint, err);
    if (!st && o->storage) st = readable(o->storage, "chopsticks storage file", "", err);
    if (!st && o->storage) st = path_fmt(c->storage, err, "%s", o->storage);
    if (!st) st = find_node(o->node, c->node, err);
    return st;
}

/* The command line for port. Spec 143 starts from the testfinney genesis with the 143 code put over
 * it; that genesis runtime imports benchmarking host functions, hence --allow-unresolved-imports. */
static void build_argv(const tp_chopsticks_opts *o, int port, command *c) {
    int n = 0;
    snprintf(c->port, sizeof c->port, "%d", port);
    c->argv[n++] = c->node;
    c->argv[n++] = c->script;
    c->argv[n++] = "--genesis";
    c->argv[n++] = c->genesis;
    if (o->spec == 143) {
        c->argv[n++] = "--wasm-override";
        c->argv[n++] = c->wasm;
        c->argv[n++] = "--allow-unresolved-imports";
    }
    c->argv[n++] = "--build-block-mode";
    c->argv[n++] = "Manual";
    if (c->storage[0]) {
        c->argv[n++] = "--import-storage";
        c->argv[n++] = c->storage;
    }
    c->argv[n++] = "--host";
    c->argv[n++] = "127.0.0.1";
    c->argv[n++] = "--port";
    c->argv[n++] = c->port;
    c->argv[n] = NULL;
}

/* ---------------------------------------------------------------- the child */

/* Between fork and exec only async-signal-safe calls: everything was prepared before. */
static void child(const command *c, pid_t parent, int out, int devnull) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1); /* the parent died before the line above */
    /* Blocked or ignored signals survive exec: chopsticks must still hear SIGTERM and SIGINT. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0) _exit(126);
    if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    execv(c->node, (char *const *)c->argv);
    _exit(127);
}

static tp_status spawn(const command *cmd, tp_chopsticks_proc *c, tp_err *err) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return tp_fail(err, TP_ERR_IO, "chopsticks: pipe: %s", strerror(errno));
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = devnull < 0 ? -1 : fork();
    if (pid == 0) child(cmd, parent, fds[1], devnull);
    int saved = errno;
    close(fds[1]);
    if (devnull >= 0) close(devnull);
    if (pid < 0) {
        close(fds[0]);
        return tp_fail(err, TP_ERR_IO, "chopsticks: cannot start %s: %s", cmd->node, strerror(saved));
    }
    setpgid(pid, pid); /* also here, so the group exists before we might signal it */
    /* Only our end is non-blocking: a read must never wait for output that may not come. */
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->out_fd = fds[0];
    c->pidfd = (int)pidfd_open(pid, 0); /* -1 on an old kernel: exits are then seen as end of output */
    return TP_OK;
}

/* ---------------------------------------------------------------- its output */

typedef struct {
    char b[TAIL_MAX + 1];
    size_t n;
} tail;

static void write_all(int fd, const char *p, size_t n) {
    while (fd >= 0 && n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* a full disk loses log lines, never the chain */
        p += w;
        n -= (size_t)w;
    }
}

/* Keeps the latest output; chunks are at most TAIL_MAX / 2, so a line split between two reads stays
 * whole. */
static void tail_add(tail *t, const char *p, size_t n) {
    if (t->n + n > TAIL_MAX) {
        size_t keep = TAIL_MAX - n;
        memmove(t->b, t->b + t->n - keep, keep);
        t->n = keep;
    }
    memcpy(t->b + t->n, p, n);
    t->n += n;
    t->b[t->n] = 0;
}

/* The port in a complete "RPC listening on http://127.0.0.1:PORT …" line; 0 when not there yet. */
static int ready_port(const tail *t) {
    const char *m = memmem(t->b, t->n, READY_MARK, strlen(READY_MARK));
    if (!m) return 0;
    const char *p = m + strlen(READY_MARK), *end = t->b + t->n;
    long port = 0;
    for (; p < end && *p >= '0' && *p <= '9' && port <= 65535; p++) port = port * 10 + (*p - '0');
    if (p == end) return 0; /* the number may go on in the next read */
    return port >= 1 && port <= 65535 ? (int)port : -1;
}

/* What to quote from t in an error, about QUOTE_MAX bytes from a line start, control characters
 * replaced: from the last line naming an Error (node's report of what killed it comes first, its
 * stack after), else its last lines. */
static void quote_tail(const tail *t, char *out, size_t n) {
    const char *err_at = NULL;
    for (const char *e = t->b; (e = memmem(e, t->n - (size_t)(e - t->b), "Error", 5)); e += 5) err_at = e;
    size_t from = t->n > QUOTE_MAX ? t->n - QUOTE_MAX : 0;
    if (err_at) {
        for (from = (size_t)(err_at - t->b); from > 0 && t->b[from - 1] != '\n';) from--;
    } else {
        while (from > 0 && from < t->n && t->b[from - 1] != '\n') from++;
    }
    size_t k = 0;
    for (size_t i = from; i < t->n && k + 1 < n && k < QUOTE_MAX; i++) {
        unsigned char ch = (unsigned char)t->b[i];
        out[k++] = ch == '\n' || (ch >= 0x20 && ch != 0x7f) ? (char)ch : '?';
    }
    while (k && out[k - 1] == '\n') k--;
    out[k] = 0;
}

/* Reads what is there into the log and t: 1 read something, 0 end of output, -1 nothing now. */
static int pump(tp_chopsticks_proc *c, tail *t) {
    char buf[TAIL_MAX / 2];
    ssize_t r = read(c->out_fd, buf, sizeof buf);
    if (r < 0) return errno == EINTR || errno == EAGAIN ? -1 : 0;
    if (r == 0) return 0;
    write_all(c->log_fd, buf, (size_t)r);
    if (t) tail_add(t, buf, (size_t)r);
    return 1;
}

/* ---------------------------------------------------------------- waiting */

/* Waits until chopsticks listens (TP_OK, c->port set), exits (*exited) or the deadline passes. */
static tp_status wait_ready(tp_chopsticks_proc *c, double timeout, tail *t, int *exited, tp_err *err) {
    *exited = 0;
    double deadline = tp_now() + timeout;
    for (;;) {
        int port = ready_port(t);
        if (port > 0) {
            c->port = port;
            return TP_OK;
        }
        if (port < 0) return tp_fail(err, TP_ERR_FORMAT, "chopsticks said it listens on an impossible port");
        double left = deadline - tp_now();
        if (left <= 0) return tp_fail_transient(err, TP_ERR_IO, "did not listen within %g s", timeout);
        struct pollfd p[2] = {{.fd = c->out_fd, .events = POLLIN}, {.fd = c->pidfd, .events = POLLIN}};
        int r = poll(p, c->pidfd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR) return tp_fail(err, TP_ERR_IO, "poll: %s", strerror(errno));
        if (r <= 0) continue;
        if (p[0].revents && pump(c, t) == 0) *exited = 1; /* its output closed: it has gone */
        if (c->pidfd >= 0 && p[1].revents) {
            while (pump(c, t) > 0) { /* what it wrote before exiting */
            }
            *exited = 1;
        }
        if (*exited) return tp_fail(err, TP_ERR_IO, "exited before listening");
    }
}

/* Waits up to seconds (< 0: for ever) for the child to exit, without reaping it. */
static int wait_exit(tp_chopsticks_proc *c, double seconds) {
    double deadline = tp_now() + seconds;
    for (;;) {
        siginfo_t info = {0};
        int r = waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT);
        if ((r == 0 && info.si_pid == c->pid) || (r < 0 && errno == ECHILD)) return 1; /* ECHILD: reaped already */
        double left = deadline - tp_now();
        if (seconds >= 0 && left <= 0) return 0;
        if (c->pidfd >= 0) {
            struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
            poll(&p, 1, seconds < 0 ? -1 : (int)(left * 1000) + 1);
        } else {
            tp_sleep(0.05); /* no pidfd (old kernel): look again shortly */
        }
    }
}

/* Ends the child's group and reaps it; *status gets its wait status. */
static void end_child(tp_chopsticks_proc *c, int *status) {
    kill(-c->pid, SIGTERM);
    if (!wait_exit(c, STOP_GRACE_S)) {
        kill(-c->pid, SIGKILL);
        wait_exit(c, -1);
    }
    /* Anything it left in its group goes too; the unreaped leader keeps the group id ours. */
    kill(-c->pid, SIGKILL);
    *status = 0;
    while (waitpid(c->pid, status, 0) < 0 && errno == EINTR) {
    }
    if (c->pidfd >= 0) close(c->pidfd);
    c->pidfd = -1;
}

/* ---------------------------------------------------------------- after readiness */

static void *drain_main(void *arg) {
    tp_chopsticks_proc *c = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = c->out_fd, .events = POLLIN}, {.fd = c->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        /* Output first: once it has exited, everything it wrote still reaches the log. */
        if (p[0].revents) {
            if (pump(c, NULL) == 0) break;
            continue;
        }
        if (p[1].revents) break;
    }
    return NULL;
}

static tp_status start_drain(tp_chopsticks_proc *c, tp_err *err) {
    if (pipe2(c->wake, O_CLOEXEC) != 0) return tp_fail(err, TP_ERR_IO, "chopsticks: pipe: %s", strerror(errno));
    int e = pthread_create(&c->drain, NULL, drain_main, c);
    if (e) {
        close(c->wake[0]);
        close(c->wake[1]);
        return tp_fail(err, TP_ERR_IO, "chopsticks: cannot start the thread that reads its output: %s", strerror(e));
    }
    c->draining = true;
    return TP_OK;
}

void tp_chopsticks_stop(tp_chopsticks *ch) {
    tp_chopsticks_proc *c = ch->proc;
    if (!c) return;
    int status;
    end_child(c, &status);
    if (c->draining) {
        write_all(c->wake[1], "x", 1);
        pthread_join(c->drain, NULL);
        close(c->wake[0]);
        close(c->wake[1]);
    }
    close(c->out_fd);
    if (c->log_fd >= 0) close(c->log_fd);
    free(c);
    ch->proc = NULL;
    ch->pid = 0;
}

/* ---------------------------------------------------------------- starting */

void tp_chopsticks_opts_default(tp_chopsticks_opts *o) {
    memset(o, 0, sizeof *o);
    o->spec = 143;
    o->netns_fd = -1;
}

/* One attempt on a fresh port. On failure the child is gone; *retry says another port may help. */
static tp_status try_start(const tp_chopsticks_opts *o, command *cmd, tp_chopsticks_proc *c, int *retry, tp_err *err) {
    *retry = 0;
    int port = ln_free_port();
    if (port < 0) return tp_fail(err, TP_ERR_IO, "chopsticks: cannot find a free loopback port: %s", strerror(errno));
    build_argv(o, port, cmd);
    cmd->netns_fd = o->netns_fd;
    if (spawn(cmd, c, err)) return err->code;
    tail t = {.n = 0};
    int exited;
    double timeout = o->ready_timeout_s > 0 ? o->ready_timeout_s : READY_TIMEOUT_S;
    tp_status st = wait_ready(c, timeout, &t, &exited, err);
    if (!st) return TP_OK;
    int status;
    end_child(c, &status);
    close(c->out_fd);
    c->out_fd = -1;
    c->pid = 0;
    char last[QUOTE_MAX + 1], how[64] = "";
    quote_tail(&t, last, sizeof last);
    if (exited && WIFEXITED(status)) snprintf(how, sizeof how, "exit status %d; ", WEXITSTATUS(status));
    else if (exited && WIFSIGNALED(status)) snprintf(how, sizeof how, "signal %d; ", WTERMSIG(status));
    *retry = exited && memmem(t.b, t.n, "EADDRINUSE", 10) != NULL;
    char cause[128];
    snprintf(cause, sizeof cause, "%.*s", (int)sizeof cause - 1, err->msg);
    bool transient = err->retryable;
    tp_fail(err, st, "chopsticks (spec %d, port %d) %s (%slog: %s); its output:\n%s", o->spec, port, cause, how,
            o->log_path ? o->log_path : "none", last[0] ? last : "(none)");
    err->retryable = transient;
    return st;
}

static void proc_free(tp_chopsticks_proc *c) {
    if (c->log_fd >= 0) close(c->log_fd);
    free(c);
}

tp_status tp_chopsticks_start(const tp_chopsticks_opts *opts, tp_chopsticks *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    command *cmd = calloc(1, sizeof *cmd); /* several PATH_MAX buffers: not for the stack */
    tp_chopsticks_proc *c = calloc(1, sizeof *c);
    if (!cmd || !c) {
        free(cmd);
        free(c);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    c->out_fd = c->log_fd = c->pidfd = -1;
    tp_status st = resolve_paths(opts, cmd, err);
    if (!st && opts->log_path) {
        c->log_fd = open(opts->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (c->log_fd < 0) st = tp_fail(err, TP_ERR_IO, "chopsticks log %s: %s", opts->log_path, strerror(errno));
    }
    int retry = 1;
    for (int attempt = 1; !st && attempt <= START_ATTEMPTS; attempt++) {
        st = try_start(opts, cmd, c, &retry, err);
        if (!st || !retry) break;
        if (attempt < START_ATTEMPTS) st = TP_OK; /* another port */
    }
    free(cmd);
    if (st) {
        proc_free(c);
        return st;
    }
    out->proc = c;
    out->pid = c->pid;
    out->port = c->port;
    snprintf(out->url, sizeof out->url, "http://127.0.0.1:%d", c->port);
    if (start_drain(c, err)) {
        tp_chopsticks_stop(out);
        return err->code;
    }
    return TP_OK;
}
