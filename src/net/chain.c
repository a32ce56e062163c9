/* The chain front end: URI dispatch and the argument checks every backend shares. */
#include "net/chain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "net/chain_backend.h"

void tp_chain_config_default(tp_chain_config *cfg) {
    *cfg = (tp_chain_config){
        .block_time_ms = 12000,
        .blocks_per_window = 10,
        .tempo = 100,
        .clock = TP_CLOCK_WALL,
        .max_uids = 256,
        .permit_stake = 1.0,
        .kappa = 0.5,
        .bond_alpha = 0.1,
        .emission_per_block = 1.0,
    };
}

tp_status tp_chain_config_check(const tp_chain_config *c, tp_err *err) {
    if (c->block_time_ms < 1 || c->block_time_ms > 86400000LL)
        return tp_fail(err, TP_ERR_CONFIG, "block time %lld ms is outside [1, 86400000]", (long long)c->block_time_ms);
    if (c->blocks_per_window < 1 || c->blocks_per_window > 1000000)
        return tp_fail(err, TP_ERR_CONFIG, "blocks per window %lld is outside [1, 1000000]",
                       (long long)c->blocks_per_window);
    if (c->tempo < 1 || c->tempo > 1000000)
        return tp_fail(err, TP_ERR_CONFIG, "tempo %lld is outside [1, 1000000]", (long long)c->tempo);
    if (c->clock != TP_CLOCK_WALL && c->clock != TP_CLOCK_LOCKSTEP)
        return tp_fail(err, TP_ERR_CONFIG, "unknown clock %d", (int)c->clock);
    if (c->max_uids < 1 || c->max_uids > TP_CHAIN_MAX_UIDS)
        return tp_fail(err, TP_ERR_CONFIG, "max uids %lld is outside [1, %d]", (long long)c->max_uids,
                       TP_CHAIN_MAX_UIDS);
    if (!isfinite(c->permit_stake) || c->permit_stake <= 0)
        return tp_fail(err, TP_ERR_CONFIG, "permit stake %g must be a finite number > 0", c->permit_stake);
    if (!(c->kappa > 0 && c->kappa <= 1)) return tp_fail(err, TP_ERR_CONFIG, "kappa %g is outside (0, 1]", c->kappa);
    if (!(c->bond_alpha > 0 && c->bond_alpha <= 1))
        return tp_fail(err, TP_ERR_CONFIG, "bond alpha %g is outside (0, 1]", c->bond_alpha);
    if (!isfinite(c->emission_per_block) || c->emission_per_block < 0)
        return tp_fail(err, TP_ERR_CONFIG, "emission per block %g must be finite and >= 0", c->emission_per_block);
    return TP_OK;
}

#define SUBTENSOR_SCHEME "subtensor+"

/* "local:PATH" → PATH; a subtensor+ URI → *path NULL. Anything else names what was wrong with it. */
static tp_status parse_uri(const char *uri, const char **path, tp_err *err) {
    *path = NULL;
    if (!uri || !*uri)
        return tp_fail(err, TP_ERR_ARG, "no chain URI given (expected local:PATH or subtensor+http://HOST:PORT?netuid=N)");
    if (strlen(uri) >= TP_CHAIN_URI_MAX)
        return tp_fail(err, TP_ERR_ARG, "chain URI is longer than %d bytes", TP_CHAIN_URI_MAX - 1);
    const char *ws = !strncmp(uri, SUBTENSOR_SCHEME, strlen(SUBTENSOR_SCHEME)) ? uri + strlen(SUBTENSOR_SCHEME) : uri;
    if (!strncmp(ws, "ws://", 5) || !strncmp(ws, "wss://", 6))
        return tp_fail(err, TP_ERR_ARG,
                       "chain URI '%s': templar reaches Subtensor by JSON-RPC over HTTP, not WebSocket; the same "
                       "endpoint serves both: subtensor+http(s)://HOST:PORT?netuid=N",
                       uri);
    if (ws != uri) return TP_OK;
    if (!strncmp(uri, "local:", 6)) {
        *path = uri + 6;
        if (!strncmp(*path, "//", 2)) *path += 2; /* tolerate local://PATH */
        if (!**path) return tp_fail(err, TP_ERR_ARG, "malformed chain URI '%s': local: needs a PATH", uri);
        return TP_OK;
    }
    return tp_fail(err, TP_ERR_ARG,
                   "malformed chain URI '%s': expected local:PATH or subtensor+http(s)://HOST:PORT?netuid=N", uri);
}

tp_status tp_chain_create(const char *uri, const tp_chain_config *cfg, tp_err *err) {
    const char *path;
    tp_status st = parse_uri(uri, &path, err);
    if (!st && !path)
        st = tp_fail(err, TP_ERR_ARG, "a Subtensor subnet is created on the chain (templar subnet create), "
                                      "not with init");
    if (st || (st = tp_chain_config_check(cfg, err))) return st;
    return tp_chain_local_create(path, cfg, err);
}

static tp_status chain_open(const char *uri, int read_only, tp_chain **out, tp_err *err) {
    *out = NULL;
    const char *path;
    tp_status st = parse_uri(uri, &path, err);
    if (st) return st;
    tp_chain *c = tp_calloc(1, sizeof *c, err);
    if (!c) return TP_ERR_NOMEM;
    st = path ? tp_chain_local_open(path, read_only, &c->self, &c->ops, err)
              : tp_chain_subtensor_open(uri, read_only, &c->self, &c->ops, err);
    if (st) {
        free(c);
        return st;
    }
    *out = c;
    return TP_OK;
}

tp_status tp_chain_open(const char *uri, tp_chain **out, tp_err *err) { return chain_open(uri, 0, out, err); }

tp_status tp_chain_open_read_only(const char *uri, tp_chain **out, tp_err *err) {
    return chain_open(uri, 1, out, err);
}

void tp_chain_close(tp_chain *c) {
    if (!c) return;
    c->ops->close(c->self);
    free(c);
}

tp_status tp_chain_set_keys(tp_chain *c, const tp_wallet *hotkey, const tp_wallet *coldkey, tp_err *err) {
    return c->ops->set_keys ? c->ops->set_keys(c->self, hotkey, coldkey, err) : TP_OK;
}

void tp_chain_set_wait(tp_chain *c, tp_chain_wait_fn fn, void *ctx) {
    if (c->ops->set_wait) c->ops->set_wait(c->self, fn, ctx);
}

void tp_chain_io_take(tp_chain *c, tp_chain_io *out) {
    memset(out, 0, sizeof *out);
    if (c->ops->io_take) c->ops->io_take(c->self, out);
}

tp_status tp_chain_info_get(tp_chain *c, tp_chain_info *out, tp_err *err) { return c->ops->info(c->self, out, err); }

tp_status tp_chain_block_timestamp(tp_chain *c, int64_t block, double *ts, tp_err *err) {
    if (block < 0) return tp_fail(err, TP_ERR_ARG, "block %lld is negative", (long long)block);
    return c->ops->block_timestamp(c->self, block, ts, err);
}

tp_status tp_chain_check_hotkey(const char *hotkey, tp_err *err) {
    size_t n = hotkey ? strlen(hotkey) : 0;
    if (n == 0 || n > TP_HOTKEY_MAX)
        return tp_fail(err, TP_ERR_ARG, "hotkey must be 1-%d characters, got %zu", TP_HOTKEY_MAX, n);
    for (size_t i = 0; i < n; i++) {
        char ch = hotkey[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return tp_fail(err, TP_ERR_ARG, "hotkey '%.*s' may hold only letters and digits", (int)n, hotkey);
    }
    return TP_OK;
}

tp_status tp_chain_register(tp_chain *c, const char *hotkey, int64_t *uid, int *is_new, tp_err *err) {
    tp_status st = tp_chain_check_hotkey(hotkey, err);
    if (st) return st;
    int dummy;
    return c->ops->register_hotkey(c->self, hotkey, uid, is_new ? is_new : &dummy, err);
}

tp_status tp_chain_uid(tp_chain *c, const char *hotkey, int64_t *uid, tp_err *err) {
    tp_status st = tp_chain_check_hotkey(hotkey, err);
    return st ? st : c->ops->uid(c->self, hotkey, uid, err);
}

tp_status tp_chain_set_stake(tp_chain *c, const char *hotkey, double amount, tp_err *err) {
    tp_status st = tp_chain_check_hotkey(hotkey, err);
    if (st) return st;
    if (!isfinite(amount) || amount < 0)
        return tp_fail(err, TP_ERR_NUMERIC, "stake %g must be a finite number >= 0", amount);
    return c->ops->set_stake(c->self, hotkey, amount, err);
}

static int printable_token(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 127) return 0;
    return 1;
}

tp_status tp_chain_check_commitment(const tp_commitment *cm, tp_err *err) {
    static const char *const schemes[] = {"file://", "s3://", "s3+http://", "s3+https://"};
    const char *u = cm->uri;
    size_t len = strnlen(u, sizeof cm->uri);
    if (len == 0) return tp_fail(err, TP_ERR_ARG, "no store URI given");
    if (len == sizeof cm->uri) return tp_fail(err, TP_ERR_ARG, "store URI is too long");
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
        if (!strncmp(u, schemes[i], strlen(schemes[i]))) rest = u + strlen(schemes[i]);
    if (!rest)
        return tp_fail(err, TP_ERR_ARG,
                       "malformed store URI '%s': expected file://DIR, s3://BUCKET or s3+http(s)://HOST/BUCKET", u);
    if (!*rest || !printable_token(u))
        return tp_fail(err, TP_ERR_ARG, "malformed store URI '%s': empty location, spaces or control characters", u);
    if (!strncmp(u, "s3+", 3)) {
        const char *slash = strchr(rest, '/');
        if (slash == rest || !slash || !slash[1])
            return tp_fail(err, TP_ERR_ARG, "malformed store URI '%s': expected s3+http(s)://HOST[:PORT]/BUCKET", u);
    }
    size_t a = strnlen(cm->access_key_id, sizeof cm->access_key_id);
    size_t s = strnlen(cm->secret_access_key, sizeof cm->secret_access_key);
    if (a == sizeof cm->access_key_id || s == sizeof cm->secret_access_key)
        return tp_fail(err, TP_ERR_ARG, "read credentials are too long");
    if ((a == 0) != (s == 0))
        return tp_fail(err, TP_ERR_ARG, "read credentials need both an access key id and a secret access key");
    if (!printable_token(cm->access_key_id) || !printable_token(cm->secret_access_key))
        return tp_fail(err, TP_ERR_ARG, "read credentials hold spaces or control characters");
    if (!tp_key_type_name(cm->key_type)) return tp_fail(err, TP_ERR_ARG, "the commitment's key type is unknown");
    return TP_OK;
}

tp_status tp_commitment_from_env(const char *uri, tp_commitment *cm, tp_err *err) {
    memset(cm, 0, sizeof *cm);
    const char *key = getenv(TP_ENV_STORE_READ_KEY_ID), *secret = getenv(TP_ENV_STORE_READ_SECRET);
    if (snprintf(cm->uri, sizeof cm->uri, "%s", uri) >= (int)sizeof cm->uri)
        return tp_fail(err, TP_ERR_ARG, "the bucket URI is too long (at most %zu bytes)", sizeof cm->uri - 1);
    if ((key && strlen(key) >= sizeof cm->access_key_id) || (secret && strlen(secret) >= sizeof cm->secret_access_key))
        return tp_fail(err, TP_ERR_CONFIG, "%s or %s is too long", TP_ENV_STORE_READ_KEY_ID, TP_ENV_STORE_READ_SECRET);
    snprintf(cm->access_key_id, sizeof cm->access_key_id, "%s", key ? key : "");
    snprintf(cm->secret_access_key, sizeof cm->secret_access_key, "%s", secret ? secret : "");
    return tp_chain_check_commitment(cm, err);
}

tp_status tp_chain_commit(tp_chain *c, const char *hotkey, const tp_commitment *cm, tp_err *err) {
    tp_status st = tp_chain_check_hotkey(hotkey, err);
    if (st || (st = tp_chain_check_commitment(cm, err))) return st;
    return c->ops->commit(c->self, hotkey, cm, err);
}

tp_status tp_chain_commitment(tp_chain *c, int64_t uid, tp_commitment *out, int *found, tp_err *err) {
    memset(out, 0, sizeof *out);
    *found = 0;
    if (uid < 0) return tp_fail(err, TP_ERR_ARG, "uid %lld is negative", (long long)uid);
    tp_status st = c->ops->commitment(c->self, uid, out, found, err);
    /* What peers commit is untrusted input (DESIGN §13): check it as if it arrived from the network. */
    if (!st && *found && (st = tp_chain_check_commitment(out, err))) {
        *found = 0;
        tp_wrap(err, "uid %lld committed a malformed store", (long long)uid);
    }
    return st;
}

typedef struct {
    int64_t uid;
    double w;
} pair;

static int by_uid(const void *a, const void *b) {
    int64_t x = ((const pair *)a)->uid, y = ((const pair *)b)->uid;
    return (x > y) - (x < y);
}

tp_status tp_chain_set_weights(tp_chain *c, const char *hotkey, const int64_t *uids, int64_t n_uids,
                               const double *weights, int64_t n_weights, tp_err *err) {
    tp_status st = tp_chain_check_hotkey(hotkey, err);
    if (st) return st;
    if (n_uids != n_weights)
        return tp_fail(err, TP_ERR_ARG, "weights: %lld uids but %lld weights (the lengths must match)",
                       (long long)n_uids, (long long)n_weights);
    if (n_uids <= 0) return tp_fail(err, TP_ERR_ARG, "weights: no uids given");
    if (n_uids > TP_CHAIN_MAX_UIDS)
        return tp_fail(err, TP_ERR_ARG, "weights: %lld entries, more than the %d uids a chain can hold",
                       (long long)n_uids, TP_CHAIN_MAX_UIDS);
    pair *p = tp_malloc(sizeof *p * (size_t)n_uids, err);
    if (!p) return TP_ERR_NOMEM;
    double sum = 0;
    for (int64_t i = 0; i < n_uids; i++) {
        if (isnan(weights[i]))
            st = tp_fail(err, TP_ERR_NUMERIC, "weights: the weight for uid %lld is NaN", (long long)uids[i]);
        else if (!isfinite(weights[i]))
            st = tp_fail(err, TP_ERR_NUMERIC, "weights: the weight for uid %lld is infinite", (long long)uids[i]);
        else if (weights[i] < 0)
            st = tp_fail(err, TP_ERR_NUMERIC, "weights: the weight for uid %lld is negative (%g)", (long long)uids[i],
                         weights[i]);
        else if (uids[i] < 0) st = tp_fail(err, TP_ERR_ARG, "weights: unknown uid %lld (negative)", (long long)uids[i]);
        if (st) break;
        p[i] = (pair){uids[i], weights[i]};
        sum += weights[i];
    }
    if (!st && !(sum > 0 && isfinite(sum)))
        st = tp_fail(err, TP_ERR_NUMERIC, "weights: they sum to %g; nothing to normalise", sum);
    if (st) {
        free(p);
        return st;
    }
    qsort(p, (size_t)n_uids, sizeof *p, by_uid);
    for (int64_t i = 1; i < n_uids; i++)
        if (p[i].uid == p[i - 1].uid) {
            int64_t dup = p[i].uid;
            free(p);
            return tp_fail(err, TP_ERR_ARG, "weights: uid %lld is given twice", (long long)dup);
        }
    /* Zero entries carry no weight; the row is stored sparse. */
    int64_t *u = tp_malloc(sizeof *u * (size_t)n_uids, err);
    double *w = tp_malloc(sizeof *w * (size_t)n_uids, err);
    int64_t n = 0;
    if (u && w)
        for (int64_t i = 0; i < n_uids; i++)
            if (p[i].w > 0) {
                u[n] = p[i].uid;
                w[n++] = p[i].w / sum;
            }
    st = u && w ? c->ops->set_weights(c->self, hotkey, u, w, n, err) : TP_ERR_NOMEM;
    free(p);
    free(u);
    free(w);
    return st;
}

tp_status tp_chain_weights(tp_chain *c, int64_t uid, tp_weights *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    out->uid = uid;
    out->block = -1;
    if (uid < 0) return tp_fail(err, TP_ERR_ARG, "uid %lld is negative", (long long)uid);
    return c->ops->weights(c->self, uid, out, err);
}

void tp_weights_free(tp_weights *w) {
    free(w->uids);
    free(w->weights);
    w->uids = NULL;
    w->weights = NULL;
    w->n = 0;
}

tp_status tp_chain_metagraph(tp_chain *c, tp_metagraph *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    return c->ops->metagraph(c->self, out, err);
}

void tp_metagraph_free(tp_metagraph *m) {
    free(m->neurons);
    memset(m, 0, sizeof *m);
}

tp_status tp_chain_epoch(tp_chain *c, tp_err *err) { return c->ops->epoch(c->self, err); }

tp_status tp_chain_advance(tp_chain *c, int64_t blocks, int64_t *block, tp_err *err) {
    if (blocks < 1 || blocks > 1000000000LL)
        return tp_fail(err, TP_ERR_ARG, "advance: blocks %lld is outside [1, 1000000000]", (long long)blocks);
    int64_t dummy;
    return c->ops->advance(c->self, blocks, block ? block : &dummy, err);
}
