/* localnet driver: starts the neurons, moves the clock (lockstep) or watches it (wall), fires the
 * faults, follows the metrics for progress, and decides when the run is done or stuck. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "localnet/localnet.h"
#include "core/clock.h"

#define LOCKSTEP_IDLE_MS 100 /* lockstep: the longest sleep between looks when no neuron speaks */
#define WALL_POLL_MS 200     /* wall clock: how often the driver looks at the chain and the metrics */
#define READ_CHUNK ((size_t)16 << 20)

typedef struct {
    ln_net *net;
    tp_chain *chain;
    int64_t start_window; /* S; -1 until the leader's first record says */
    int64_t block, window;
    int64_t printed;      /* last window whose progress line was printed */
    double last_progress; /* tp_now() of the last block or record */
    double t0;
    double next_block_at; /* wall clock on Subtensor: when the driver builds the next block */
} driver;

static int is_neuron(const ln_node *n) { return n->kind != LN_OWNER; }

static int64_t last_target(const driver *d) { return d->start_window + d->net->opt.windows - 1; }

/* ---------------------------------------------------------------- metrics */

static double num_or_nan(json_t *rec, const char *key) {
    json_t *v = json_object_get(rec, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void on_leader_record(driver *d, json_t *rec, int64_t w) {
    ln_net *net = d->net;
    if (d->start_window < 0) {
        json_t *s = json_object_get(rec, "start_window");
        if (!json_is_integer(s)) return;
        d->start_window = json_integer_value(s);
        d->printed = d->start_window - 1;
        printf("localnet: start window %" PRId64 "; running windows %" PRId64 "..%" PRId64 "\n", d->start_window,
               d->start_window, last_target(d));
        fflush(stdout);
    }
    if (w <= d->printed || w < d->start_window || w > last_target(d)) return;
    d->printed = w;
    double loss = num_or_nan(rec, "heldout_loss"), gs = num_or_nan(rec, "gather_success");
    int miners = 0, at = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const ln_node *n = &net->nodes[i];
        if (n->kind != LN_MINER || n->state != LN_RUNNING) continue;
        miners++;
        at += n->last_window >= w;
    }
    char loss_s[32] = "n/a", gs_s[32] = "n/a";
    if (isfinite(loss)) snprintf(loss_s, sizeof loss_s, "%.4f", loss);
    if (isfinite(gs)) snprintf(gs_s, sizeof gs_s, "%.0f%%", 100 * gs);
    printf("window %" PRId64 " [%" PRId64 "/%" PRId64 "]: held-out loss %s, gather success %s, miners done %d/%d\n", w,
           w - d->start_window + 1, net->opt.windows, loss_s, gs_s, at, miners);
    fflush(stdout);
}

/* Reads the complete lines appended to a neuron's metrics.jsonl since the last call. */
static void read_metrics(driver *d, ln_node *n) {
    char path[LN_PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/state/%s/metrics.jsonl", d->net->dir, n->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || sb.st_size <= n->offset) {
        if (sb.st_size < n->offset) n->offset = 0; /* replaced by a shorter file: start over */
        close(fd);
        return;
    }
    size_t want = (size_t)(sb.st_size - n->offset);
    if (want > READ_CHUNK) want = READ_CHUNK;
    char *buf = malloc(want + 1);
    ssize_t got = buf ? pread(fd, buf, want, n->offset) : -1;
    close(fd);
    if (got <= 0) {
        free(buf);
        return;
    }
    char *line = buf, *end = buf + got, *nl;
    while (line < end && (nl = memchr(line, '\n', (size_t)(end - line)))) {
        json_t *rec = ln_parse_record(line, (size_t)(nl - line));
        n->offset += nl + 1 - line;
        line = nl + 1;
        if (!rec) continue;
        int64_t w = json_integer_value(json_object_get(rec, "window"));
        if (w > n->last_window) n->last_window = w;
        n->records++;
        d->last_progress = tp_now();
        if (n == &d->net->nodes[d->net->leader]) on_leader_record(d, rec, w);
        json_decref(rec);
    }
    free(buf);
}

static int finished(const driver *d) {
    const ln_net *net = d->net;
    if (d->start_window < 0 || net->nodes[net->leader].last_window < last_target(d)) return 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const ln_node *n = &net->nodes[i];
        if (n->kind == LN_MINER && n->state == LN_RUNNING && !ln_partitioned(n) && n->last_window < last_target(d))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- processes and faults */

static ln_node *node_named(ln_net *net, const char *name) {
    for (int i = 0; i < net->n_nodes; i++)
        if (!strcmp(net->nodes[i].name, name)) return &net->nodes[i];
    return NULL;
}

/* Notices neurons that exited on their own. Fails when the leader or every neuron is gone, since the
 * run can then never finish. */
static tp_status reap(driver *d, tp_err *err) {
    ln_net *net = d->net;
    int alive = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        ln_node *n = &net->nodes[i];
        int status;
        if (n->state == LN_RUNNING && ln_reaped(n->pid, &status)) {
            char why[128];
            ln_describe_status(status, why, sizeof why);
            n->state = LN_DEAD;
            n->pid = 0;
            ln_wait_reader_close(&n->wait);
            ln_note(net, "%s (uid %" PRId64 ") exited unexpectedly (%s); see %s/logs/%s.log", n->name, n->uid, why,
                    net->dir, n->name);
        }
        alive += n->state == LN_RUNNING || n->state == LN_DOWN;
    }
    const ln_node *leader = &net->nodes[net->leader];
    if (leader->state == LN_DEAD)
        return tp_fail(err, TP_ERR_IO, "the leader %s died; see %s/logs/%s.log", leader->name, net->dir, leader->name);
    if (!alive) return tp_fail(err, TP_ERR_IO, "every neuron died; see %s/logs/", net->dir);
    int status;
    if (net->s3.pid > 0 && ln_reaped(net->s3.pid, &status)) {
        char why[128];
        ln_describe_status(status, why, sizeof why);
        net->s3.pid = 0;
        return tp_fail(err, TP_ERR_IO, "s3rver exited unexpectedly (%s); see %s/logs/s3rver.log", why, net->dir);
    }
    return TP_OK;
}

static void fire_fault(driver *d, ln_fault *f, int64_t window, tp_err *err) {
    ln_net *net = d->net;
    ln_node *n = f->kind == LN_FAULT_S3_DOWN ? NULL : node_named(net, f->wallet);
    if (f->kind == LN_FAULT_S3_DOWN) {
        if (net->s3.pid <= 0) return;
        ln_s3_stop(&net->s3);
        net->s3.down = 1;
        ln_note(net, "fault %s: s3rver stopped in window %" PRId64, f->spec, window);
    } else if (!n || n->state != LN_RUNNING) {
        ln_note(net, "fault %s: %s was not running in window %" PRId64, f->spec, f->wallet, window);
    } else if (f->kind == LN_FAULT_KILL) {
        ln_kill_node(n);
        n->state = LN_DOWN;
        ln_note(net, "fault %s: killed %s in window %" PRId64, f->spec, n->name, window);
    } else if (ln_hosts_partition(net, n, 1, err)) {
        ln_note(net, "fault %s: %s", f->spec, err->msg);
    } else {
        ln_note(net, "fault %s: the link of %s went down in window %" PRId64, f->spec, n->name, window);
    }
}

static tp_status restore_fault(driver *d, ln_fault *f, int64_t window, tp_err *err) {
    ln_net *net = d->net;
    ln_node *n = f->kind == LN_FAULT_S3_DOWN ? NULL : node_named(net, f->wallet);
    tp_status st = TP_OK;
    if (f->kind == LN_FAULT_S3_DOWN) {
        if (!net->s3.down) return TP_OK;
        if ((st = ln_s3_start(net, err))) return tp_wrap(err, "fault %s", f->spec);
        ln_note(net, "fault %s: s3rver restarted in window %" PRId64, f->spec, window);
    } else if (f->kind == LN_FAULT_KILL) {
        if (!n || n->state != LN_DOWN) return TP_OK;
        if ((st = ln_spawn(net, n, err))) return st;
        ln_note(net, "fault %s: restarted %s in window %" PRId64, f->spec, n->name, window);
    } else if (n && ln_partitioned(n)) {
        if ((st = ln_hosts_partition(net, n, 0, err))) return tp_wrap(err, "fault %s", f->spec);
        ln_note(net, "fault %s: the link of %s came back in window %" PRId64, f->spec, n->name, window);
    }
    return TP_OK;
}

/* Fires and ends the faults due by `window`. Level-triggered, so a fault whose window passed before
 * the start window was known fires at once. network_only: only the faults of the network (s3-down,
 * partitions), which lockstep applies before the clock enters their window; kills come after. */
static tp_status apply_faults(driver *d, int64_t window, int network_only, tp_err *err) {
    ln_net *net = d->net;
    if (d->start_window < 0) return TP_OK;
    for (int i = 0; i < net->opt.n_faults; i++) {
        ln_fault *f = &net->opt.faults[i];
        if (network_only && f->kind == LN_FAULT_KILL) continue;
        int64_t at = d->start_window + f->at, until = d->start_window + f->until;
        if (!f->fired && window >= at) {
            f->fired = 1;
            fire_fault(d, f, window, err);
        }
        if (f->fired && !f->restored && window >= until) {
            f->restored = 1;
            tp_status st = restore_fault(d, f, window, err);
            if (st) return st;
        }
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- clock */

static tp_status observe_chain(driver *d, tp_err *err) {
    tp_chain_info in;
    tp_status st = tp_chain_info_get(d->chain, &in, err);
    if (st) return st;
    if (in.block != d->block) d->last_progress = tp_now();
    d->block = in.block;
    d->window = in.window;
    return TP_OK;
}

/* Reads what every running neuron announced on its wait channel. */
static void drain_waits(ln_net *net) {
    for (int i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].state == LN_RUNNING) ln_wait_reader_drain(&net->nodes[i].wait);
}

/* Whether a running neuron is busy: it has announced no wait beyond the current block. */
static int busy(const driver *d, const ln_node *n) { return n->wait.block <= d->block; }

/* Lockstep: advances to the lowest announced block once every live neuron waits beyond the current
 * one. Time passes only then, so what happens in a window never depends on how fast the machine is.
 * *advanced = 1 if it did. */
static tp_status lockstep_step(driver *d, int *advanced, tp_err *err) {
    ln_net *net = d->net;
    *advanced = 0;
    drain_waits(net);
    int64_t target = INT64_MAX;
    int live = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const ln_node *n = &net->nodes[i];
        /* A partitioned host cannot reach the chain: the clock goes on without it, as the chain would. */
        if (!is_neuron(n) || n->state != LN_RUNNING || ln_partitioned(n)) continue;
        live++;
        if (busy(d, n)) return TP_OK;
        if (n->wait.block < target) target = n->wait.block;
    }
    int64_t blocks = live ? target - d->block : 1; /* nobody live: time just passes until a restart */
    /* The store goes down (or up) and links are cut (or mended) before the advance into the fault's
     * window, so every neuron meets the same network for the whole window; a kill fires after it
     * (mid-window). */
    int64_t next = tp_window_of_block(d->block + blocks, net->opt.blocks_per_window);
    tp_status st = apply_faults(d, next, 1, err);
    int64_t block;
    if (st || (st = tp_chain_advance(d->chain, blocks, &block, err))) return st;
    *advanced = 1;
    return observe_chain(d, err);
}

/* Wall clock on Subtensor: the development chain builds a block only on request, so the driver
 * builds one every block time. */
static tp_status wall_blocks(driver *d, tp_err *err) {
    double period = (double)d->net->opt.block_time_ms / 1000.0;
    if (d->next_block_at <= 0) d->next_block_at = d->t0 + period;
    while (tp_now() >= d->next_block_at) {
        tp_status st = tp_chain_advance(d->chain, 1, NULL, err);
        if (st) return st;
        d->next_block_at += period;
    }
    return TP_OK;
}

/* Sleeps until a neuron announces a wait or exits (lockstep), or for the wall clock's poll interval. */
static void wait_for_events(driver *d) {
    ln_net *net = d->net;
    if (net->opt.wall) {
        tp_sleep(WALL_POLL_MS / 1000.0);
        return;
    }
    struct pollfd fds[LN_MAX_NODES];
    nfds_t nf = 0;
    for (int i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].state == LN_RUNNING && net->nodes[i].wait.fd >= 0)
            fds[nf++] = (struct pollfd){.fd = net->nodes[i].wait.fd, .events = POLLIN};
    /* The timeout only bounds how late a signal, a death without EOF or the stuck check is noticed. */
    if (poll(fds, nf, LOCKSTEP_IDLE_MS) < 0 && errno != EINTR) tp_sleep(LOCKSTEP_IDLE_MS / 1000.0);
}

/* ---------------------------------------------------------------- stuck */

static void describe_stuck(driver *d, char *out, size_t cap) {
    ln_net *net = d->net;
    size_t len = 0;
    out[0] = 0;
    /* Lockstep: the clock waits for the busy neurons, so they are the ones stuck. Wall: whoever has
     * not reached the last window. */
    int any_busy = 0;
    for (int i = 0; !net->opt.wall && i < net->n_nodes; i++)
        any_busy |= is_neuron(&net->nodes[i]) && net->nodes[i].state == LN_RUNNING && busy(d, &net->nodes[i]);
    for (int i = 0; i < net->n_nodes; i++) {
        const ln_node *n = &net->nodes[i];
        if (!is_neuron(n) || n->state != LN_RUNNING) continue;
        int64_t target = d->start_window >= 0 ? last_target(d) : -1;
        int behind = n->last_window < target || d->start_window < 0;
        if (n->kind == LN_VALIDATOR && i != net->leader) behind = 0;
        int is_busy = any_busy && busy(d, n);
        if (any_busy ? !is_busy : !behind) continue;
        char item[256];
        char rec[48] = "no record yet";
        if (n->last_window >= 0) snprintf(rec, sizeof rec, "last record window %" PRId64, n->last_window);
        if (is_busy) snprintf(item, sizeof item, "%s%s (%s, busy: no wait beyond block %" PRId64 ")", len ? "; " : "",
                           n->name, rec, d->block);
        else snprintf(item, sizeof item, "%s%s (%s)", len ? "; " : "", n->name, rec);
        if (len + strlen(item) + 1 < cap) {
            memcpy(out + len, item, strlen(item) + 1);
            len += strlen(item);
        }
    }
    if (!len) snprintf(out, cap, "no neuron is busy");
}

/* ---------------------------------------------------------------- the loop */

static tp_status start_all(ln_net *net, tp_err *err) {
    /* Validators first: the leader publishes the start window the miners wait for. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < net->n_nodes; i++) {
            ln_node *n = &net->nodes[i];
            if (n->kind != (pass ? LN_MINER : LN_VALIDATOR)) continue;
            tp_status st = ln_spawn(net, n, err);
            if (st) return st;
        }
    printf("localnet: started %" PRId64 " validators and %" PRId64 " miners (logs in %s/logs)\n",
           net->opt.validators, net->opt.miners, net->dir);
    fflush(stdout);
    return TP_OK;
}

ln_outcome ln_drive(ln_net *net, volatile sig_atomic_t *stop, tp_err *err) {
    driver d = {.net = net, .start_window = -1, .block = -1, .printed = -1};
    d.t0 = d.last_progress = tp_now();
    const ln_opts *o = &net->opt;
    double timeout = o->timeout_s > 0 ? o->timeout_s
                     : o->wall        ? (double)(o->windows + 5) * (double)(o->blocks_per_window * o->block_time_ms) / 1000
                                      : 600;
    tp_status st = tp_chain_open(net->chain_uri, &d.chain, err);
    if (st) return LN_FAILED;
    ln_outcome out = LN_FAILED;
    if ((st = observe_chain(&d, err)) || (st = start_all(net, err))) goto done;
    for (;;) {
        if (*stop) {
            out = LN_INTERRUPTED;
            break;
        }
        if ((st = reap(&d, err))) break;
        for (int i = 0; i < net->n_nodes; i++)
            if (is_neuron(&net->nodes[i])) read_metrics(&d, &net->nodes[i]);
        if (finished(&d)) {
            out = LN_DONE;
            break;
        }
        if ((st = observe_chain(&d, err)) || (st = apply_faults(&d, d.window, 0, err))) break;
        int advanced = 0;
        if (o->wall && o->subtensor && (st = wall_blocks(&d, err))) break;
        if (!o->wall) {
            if ((st = lockstep_step(&d, &advanced, err))) break;
            /* Kills fire right after the advance that enters their window: mid-window for the victim. */
            if (advanced && (st = apply_faults(&d, d.window, 0, err))) break;
        }
        double idle = o->wall ? tp_now() - d.t0 : tp_now() - d.last_progress;
        if (idle > timeout) {
            char who[2048];
            describe_stuck(&d, who, sizeof who);
            if (o->wall)
                st = tp_fail(err, TP_ERR_IO, "not finished after %.0f s (block %" PRId64 ", window %" PRId64 "): %s",
                             idle, d.block, d.window, who);
            else
                st = tp_fail(err, TP_ERR_IO, "no progress for %.0f s at block %" PRId64 " (window %" PRId64 "): %s",
                             idle, d.block, d.window, who);
            break;
        }
        if (!advanced) wait_for_events(&d);
    }
done:
    tp_chain_close(d.chain);
    return out;
}
