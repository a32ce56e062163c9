/* Code run inside a testbed host: a child process of ours that moved into the host's network
 * namespace (setns), so every socket it makes is the host's. */
#ifndef TP_TESTBED_HOST_PROC_H
#define TP_TESTBED_HOST_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "testbed/hosts.h"

/* Work done in a host: fills out[0..out_len) or err. */
typedef tp_status (*tb_host_fn)(void *ctx, void *out, size_t out_len, tp_err *err);
/* A server: serves listen_fd until the process is killed (returns only when it cannot serve). */
typedef tp_status (*tb_serve_fn)(int listen_fd, void *ctx, tp_err *err);

/* Runs fn in a child inside host x and waits for it (at most timeout_s; then it is killed and the
 * error is transient); its out bytes and its error come back here. */
tp_status tb_host_call(const tb_host *x, tb_host_fn fn, void *ctx, void *out, size_t out_len, double timeout_s,
                       tp_err *err);

/* The same for n calls at once, call i in hosts[i] with ctxs[i], its answer in outs + i × out_len
 * and its error in errs[i] (n of them). Returns the first failure's code, TP_OK when all succeeded. */
tp_status tb_host_call_all(tb_host *const *hosts, int n, tb_host_fn fn, void *const *ctxs, void *outs,
                           size_t out_len, double timeout_s, tp_err *errs);

/* Starts a server in host x: a child that listens on addr:port (TCP), says so, then runs serve.
 * Returns once it listens; *pid is the child (its own process group; killed if we die). */
tp_status tb_host_serve(const tb_host *x, const char *addr, int port, tb_serve_fn serve, void *ctx, pid_t *pid,
                        tp_err *err);

/* SIGKILL to a server started by tb_host_serve and its reaping; *pid = 0. Nothing when *pid <= 0. */
void tb_server_stop(pid_t *pid);

/* 1 when something listens on 127.0.0.1:port inside host x. */
int tb_host_port_open(const tb_host *x, int port);

#endif
