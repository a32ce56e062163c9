/* Gather: many objects from many stores under one deadline. file:// items are read directly (a
 * local read cannot usefully overlap); S3 items run concurrently on one curl multi handle, which
 * also pools connections per host. Each S3 transfer's own timeout is the time left to the deadline,
 * and retries are scheduled only when they can start before it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "net/store_internal.h"

enum { JOB_WAITING, JOB_ACTIVE, JOB_DONE };

typedef struct {
    tp_gather_item *it;
    tp_s3_req req;
    tp_sink sink;
    CURL *easy;
    int state, max_attempts, sink_open;
    double next_at;
} job;

static void item_say(tp_gather_item *it, const char *msg) {
    snprintf(it->msg, sizeof it->msg, "%.*s", (int)sizeof it->msg - 1, msg);
}

static void finish(job *j, tp_fetch f, const char *msg) {
    tp_gather_item *it = j->it;
    it->status = f;
    it->received = j->req.received;
    if (j->req.have_len) it->stat.size = j->req.content_length;
    if (j->req.have_time) {
        it->stat.mtime = j->req.last_modified;
        it->stat.mtime_res = 1.0;
    }
    if (f == TP_FETCH_OK) {
        tp_err e;
        it->stat.size = j->req.body;
        if (tp_sink_commit(&j->sink, it->path ? NULL : &it->data, it->path ? NULL : &it->len, &e)) {
            it->status = TP_FETCH_ERROR;
            item_say(it, e.msg);
        }
        j->sink_open = 0;
    } else {
        if (j->sink_open) tp_sink_abort(&j->sink);
        j->sink_open = 0;
        if (msg) {
            item_say(it, msg);
            if (it->attempts > 1) {
                size_t n = strlen(it->msg);
                snprintf(it->msg + n, sizeof it->msg - n, " (after %d attempts)", it->attempts);
            }
        }
    }
    tp_s3_req_free(&j->req);
    j->state = JOB_DONE;
}

static void gather_local(tp_gather_item *it, const tp_gather_opts *o, double deadline) {
    tp_err e;
    it->attempts = 1;
    if (tp_now() >= deadline) {
        snprintf(it->msg, sizeof it->msg, "%s/%s: the gather's deadline passed before it was read", tp_store_uri(it->store),
                 it->key);
        return;
    }
    tp_sink sink;
    if (tp_sink_begin(&sink, it->path, &e)) {
        item_say(it, e.msg);
        return;
    }
    uint64_t max = it->max_bytes ? it->max_bytes : o->max_bytes;
    tp_fetch f = tp_file_get(it->store, it->key, max, o->not_before, o->not_after, &sink, &it->stat, &it->received, &e);
    if (f == TP_FETCH_OK && tp_sink_commit(&sink, it->path ? NULL : &it->data, it->path ? NULL : &it->len, &e))
        f = TP_FETCH_ERROR;
    if (f != TP_FETCH_OK) {
        tp_sink_abort(&sink);
        item_say(it, e.msg);
    }
    it->status = f;
}

/* Starts the next attempt of j; on failure to even start, finishes it. */
static void start(job *j, CURLM *multi, double deadline) {
    tp_gather_item *it = j->it;
    tp_err e;
    it->attempts++;
    if (!j->sink_open) {
        if (tp_sink_begin(&j->sink, it->path, &e)) {
            finish(j, TP_FETCH_ERROR, e.msg);
            return;
        }
        j->sink_open = 1;
    }
    j->easy = curl_easy_init();
    if (!j->easy) {
        finish(j, TP_FETCH_ERROR, "libcurl failed to create a handle");
        return;
    }
    if (tp_s3_req_setup(&j->req, j->easy, "GET", it->key, NULL, &e) || tp_s3_req_reset(&j->req, &e)) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        finish(j, TP_FETCH_ERROR, e.msg);
        return;
    }
    double left = deadline - tp_now(), per = it->store->opts.request_timeout_s;
    if (per > 0 && per < left) left = per;
    long ms = (long)ceil(left * 1000);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    if (curl_multi_add_handle(multi, j->easy) != CURLM_OK) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        finish(j, TP_FETCH_ERROR, "libcurl refused a transfer");
        return;
    }
    j->state = JOB_ACTIVE;
}

static void stop(job *j, CURLM *multi) {
    if (!j->easy) return;
    curl_multi_remove_handle(multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
}

/* Clears every item's results and counts the remote ones. */
static tp_status reset_items(tp_gather_item *items, size_t n, size_t *remote, tp_err *err) {
    for (size_t i = 0; i < n; i++) {
        tp_gather_item *it = &items[i];
        it->status = TP_FETCH_ERROR;
        it->data = NULL;
        it->len = 0;
        memset(&it->stat, 0, sizeof it->stat);
        it->attempts = 0;
        it->received = 0;
        it->msg[0] = 0;
        if (!it->store) return tp_fail(err, TP_ERR_ARG, "gather item %zu has no store", i);
        if (!it->store->local) (*remote)++;
    }
    return TP_OK;
}

/* Reads the local items now and makes each remote one a waiting job in jobs; returns their count. */
static size_t plan_jobs(tp_gather_item *items, size_t n, const tp_gather_opts *o, double deadline, job *jobs) {
    size_t nj = 0;
    for (size_t i = 0; i < n; i++) {
        tp_gather_item *it = &items[i];
        tp_err e;
        if (tp_store_check_key(it->key, &e)) {
            snprintf(it->msg, sizeof it->msg, "%.200s: %.300s", tp_store_uri(it->store), e.msg);
            it->attempts = 0;
            continue;
        }
        if (it->store->local) {
            gather_local(it, o, deadline);
            continue;
        }
        job *j = &jobs[nj++];
        j->it = it;
        j->state = JOB_WAITING;
        j->max_attempts = o->max_attempts > 0 ? o->max_attempts : it->store->opts.max_attempts;
        j->req.store = it->store;
        j->req.key = it->key;
        j->req.sink = &j->sink;
        j->req.max_bytes = it->max_bytes ? it->max_bytes : o->max_bytes;
        j->req.not_before = o->not_before;
        j->req.not_after = o->not_after;
    }
    return nj;
}

/* The S3 half of one gather: its jobs on one multi handle, under one deadline. */
typedef struct {
    job *jobs;
    size_t nj;
    CURLM *multi;
    const tp_gather_opts *o;
    double deadline;
    int parallel;
} gather_run;

/* Starts what may start, in item order, up to the parallel limit. */
static void start_due(gather_run *g, double now) {
    int active = 0;
    for (size_t i = 0; i < g->nj; i++) active += g->jobs[i].state == JOB_ACTIVE;
    for (size_t i = 0; i < g->nj && active < g->parallel && now < g->deadline; i++) {
        if (g->jobs[i].state != JOB_WAITING || g->jobs[i].next_at > now) continue;
        start(&g->jobs[i], g->multi, g->deadline);
        active += g->jobs[i].state == JOB_ACTIVE;
    }
}

static int all_done(const gather_run *g) {
    size_t done = 0;
    for (size_t i = 0; i < g->nj; i++) done += g->jobs[i].state == JOB_DONE;
    return done == g->nj;
}

/* A transfer ended: schedules a retry if one may start before the deadline, else finishes its job. */
static void settle(gather_run *g, CURLMsg *m) {
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    job *j = (job *)priv;
    CURLcode rc = m->data.result; /* read before stop(): removing the handle invalidates m */
    stop(j, g->multi);
    tp_err e;
    int retry;
    tp_fetch f = tp_s3_req_result(&j->req, rc, &retry, &e);
    double t = tp_now();
    double wait = retry ? tp_store_backoff(j->it->store, j->it->attempts) : 0;
    if (f != TP_FETCH_OK && retry && j->it->attempts < j->max_attempts && t + wait < g->deadline) {
        item_say(j->it, e.msg); /* kept in case the deadline ends the retries */
        j->next_at = t + wait;
        j->state = JOB_WAITING;
    } else {
        finish(j, f, f == TP_FETCH_OK ? NULL : e.msg);
    }
}

/* Moves the transfers along and settles those that ended; returns whether any did. */
static int run_transfers(gather_run *g) {
    int running = 0;
    curl_multi_perform(g->multi, &running);
    CURLMsg *m;
    int left, progressed = 0;
    while ((m = curl_multi_info_read(g->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        progressed = 1;
        settle(g, m);
    }
    return progressed;
}

/* Sleeps until there is network activity, a retry is due, or the deadline. */
static void wait_for_activity(gather_run *g) {
    double wake = g->deadline;
    for (size_t i = 0; i < g->nj; i++)
        if (g->jobs[i].state == JOB_WAITING && g->jobs[i].next_at < wake) wake = g->jobs[i].next_at;
    double dt = wake - tp_now();
    int ms = dt <= 0 ? 0 : dt > 1.0 ? 1000 : (int)ceil(dt * 1000);
    if (ms > 0) curl_multi_poll(g->multi, NULL, 0, ms, NULL);
}

/* Finishes whatever the deadline cut short. */
static void expire_unfinished(gather_run *g) {
    double timeout_s = g->o->timeout_s;
    for (size_t i = 0; i < g->nj; i++) {
        job *j = &g->jobs[i];
        if (j->state == JOB_DONE) continue;
        stop(j, g->multi);
        char msg[sizeof j->it->msg];
        if (j->it->attempts == 0)
            snprintf(msg, sizeof msg, "%s/%s: not started before the gather's deadline (%.1f s)", tp_store_uri(j->it->store),
                     j->it->key, timeout_s);
        else if (j->it->msg[0])
            snprintf(msg, sizeof msg, "deadline (%.1f s) passed while retrying: %.400s", timeout_s, j->it->msg);
        else
            snprintf(msg, sizeof msg, "%s/%s: no complete answer before the gather's deadline (%.1f s)",
                     tp_store_uri(j->it->store), j->it->key, timeout_s);
        /* finish() appends the attempt count to the message. */
        finish(j, TP_FETCH_ERROR, msg);
        j->it->received = j->req.received;
    }
}

/* Runs the S3 jobs concurrently until all are done or the deadline passes. */
static tp_status gather_remote(job *jobs, size_t nj, const tp_gather_opts *o, double deadline, tp_err *err) {
    gather_run g = {.jobs = jobs, .nj = nj, .o = o, .deadline = deadline, .parallel = o->parallel > 0 ? o->parallel : 16};
    g.multi = curl_multi_init();
    if (!g.multi) return tp_fail(err, TP_ERR_INTERNAL, "libcurl failed to create a multi handle");
    for (;;) {
        double now = tp_now();
        start_due(&g, now);
        if (all_done(&g)) break;
        if (now >= deadline) break;
        /* A transfer ended: its slot can start the next one without waiting. */
        if (run_transfers(&g)) continue;
        wait_for_activity(&g);
    }
    expire_unfinished(&g);
    curl_multi_cleanup(g.multi);
    return TP_OK;
}

tp_status tp_store_gather(tp_gather_item *items, size_t n, const tp_gather_opts *o, tp_err *err) {
    if (!o || !(o->timeout_s > 0)) return tp_fail(err, TP_ERR_ARG, "gather needs a positive timeout");
    if (n && !items) return tp_fail(err, TP_ERR_ARG, "gather of %zu items without items", n);
    double deadline = tp_now() + o->timeout_s;
    size_t remote = 0;
    tp_status st = reset_items(items, n, &remote, err);
    if (st) return st;
    job *jobs = remote ? tp_calloc(remote, sizeof *jobs, err) : NULL;
    if (remote && !jobs) return TP_ERR_NOMEM;
    size_t nj = plan_jobs(items, n, o, deadline, jobs);
    st = nj ? gather_remote(jobs, nj, o, deadline, err) : TP_OK;
    free(jobs);
    return st;
}

void tp_gather_free(tp_gather_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(items[i].data);
        items[i].data = NULL;
        items[i].len = 0;
    }
}
