/* Key names of DESIGN §9. Numbers are plain decimal without sign or leading zeros so each key has
 * exactly one spelling, and versions/file names use a small alphabet without '/' so a parsed key can
 * never point outside its own prefix. */
#include "neuron/keys.h"

#include <stdio.h>
#include <string.h>

static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

/* n bytes of s are 1..max name characters. */
static bool name_ok(const char *s, size_t n, size_t max) {
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i])) return false;
    return true;
}

bool tp_version_valid(const char *v) { return v && name_ok(v, strlen(v), TP_VERSION_MAX); }

static bool file_valid(const char *f) {
    size_t n = strlen(f);
    /* "." and ".." are directory references on a file:// store, never object names. */
    return name_ok(f, n, TP_KEY_FILE_MAX) && strcmp(f, ".") != 0 && strcmp(f, "..") != 0;
}

tp_status tp_key_format(const tp_key *k, char *out, size_t cap, tp_err *err) {
    if (!tp_version_valid(k->version)) return tp_fail(err, TP_ERR_ARG, "key: invalid run version");
    unsigned long long w = (unsigned long long)k->window;
    const char *v = k->version;
    int n;
    switch (k->kind) {
    case TP_KEY_GRADIENT: n = snprintf(out, cap, "gradient-%llu-%u-v%s.st", w, (unsigned)k->uid, v); break;
    case TP_KEY_DEBUG: n = snprintf(out, cap, "debug-%llu-%u-v%s.json", w, (unsigned)k->uid, v); break;
    case TP_KEY_AGGREGATOR: n = snprintf(out, cap, "aggregator-%llu-v%s.st", w, v); break;
    case TP_KEY_PEERS: n = snprintf(out, cap, "peers-%llu-v%s.json", w, v); break;
    case TP_KEY_START_WINDOW: n = snprintf(out, cap, "start_window-v%s.json", v); break;
    case TP_KEY_CHECKPOINT:
        if (k->file[0] && !file_valid(k->file)) return tp_fail(err, TP_ERR_ARG, "key: invalid checkpoint file name");
        n = snprintf(out, cap, "checkpoints/v%s/%llu/%s", v, w, k->file);
        break;
    case TP_KEY_CHECKPOINT_LATEST: n = snprintf(out, cap, "checkpoints/v%s/LATEST.json", v); break;
    default: return tp_fail(err, TP_ERR_ARG, "key: unknown kind %d", (int)k->kind);
    }
    if (n < 0 || (size_t)n >= cap) return tp_fail(err, TP_ERR_ARG, "key: buffer of %zu bytes too small", cap);
    return TP_OK;
}

/* Strict decimal at *p: no sign, no leading zero (except "0"), no overflow past max. Advances *p. */
static bool parse_dec(const char **p, uint64_t max, uint64_t *out) {
    const char *s = *p;
    if (*s < '0' || *s > '9') return false;
    if (*s == '0' && s[1] >= '0' && s[1] <= '9') return false;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

static bool eat(const char **p, const char *lit) {
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0) return false;
    *p += n;
    return true;
}

/* The rest of the key is "v{V}{suffix}" and nothing else. */
static bool version_suffix(const char *p, const char *suffix, char *version) {
    if (*p++ != 'v') return false;
    size_t n = strlen(p), sn = strlen(suffix);
    if (n < sn || strcmp(p + n - sn, suffix) != 0) return false;
    if (!name_ok(p, n - sn, TP_VERSION_MAX)) return false;
    memcpy(version, p, n - sn);
    version[n - sn] = '\0';
    return true;
}

static tp_status bad(tp_err *err, const char *what) {
    return tp_fail(err, TP_ERR_FORMAT, "key: %s", what);
}

/* "{W}-{uid}-v{V}{suffix}" or, without uid, "{W}-v{V}{suffix}". */
static tp_status window_key(const char *p, bool with_uid, const char *suffix, tp_key *k, tp_err *err) {
    if (!parse_dec(&p, UINT64_MAX, &k->window)) return bad(err, "window is not a canonical decimal number");
    if (!eat(&p, "-")) return bad(err, "expected '-' after the window");
    if (with_uid) {
        uint64_t uid;
        if (!parse_dec(&p, UINT32_MAX, &uid)) return bad(err, "uid is not a canonical decimal number");
        k->uid = (uint32_t)uid;
        if (!eat(&p, "-")) return bad(err, "expected '-' after the uid");
    }
    if (!version_suffix(p, suffix, k->version)) return bad(err, "bad run version or suffix");
    return TP_OK;
}

tp_status tp_key_parse(const char *s, tp_key *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    if (!s) return bad(err, "no key");
    if (strnlen(s, TP_KEY_MAX) >= TP_KEY_MAX) return bad(err, "key too long");
    const char *p = s;
    if (eat(&p, "gradient-")) {
        out->kind = TP_KEY_GRADIENT;
        return window_key(p, true, ".st", out, err);
    }
    if (eat(&p, "debug-")) {
        out->kind = TP_KEY_DEBUG;
        return window_key(p, true, ".json", out, err);
    }
    if (eat(&p, "aggregator-")) {
        out->kind = TP_KEY_AGGREGATOR;
        return window_key(p, false, ".st", out, err);
    }
    if (eat(&p, "peers-")) {
        out->kind = TP_KEY_PEERS;
        return window_key(p, false, ".json", out, err);
    }
    if (eat(&p, "start_window-")) {
        out->kind = TP_KEY_START_WINDOW;
        if (!version_suffix(p, ".json", out->version)) return bad(err, "bad run version or suffix");
        return TP_OK;
    }
    if (eat(&p, "checkpoints/v")) {
        const char *slash = strchr(p, '/');
        if (!slash || !name_ok(p, (size_t)(slash - p), TP_VERSION_MAX)) return bad(err, "bad checkpoint run version");
        memcpy(out->version, p, (size_t)(slash - p));
        out->version[slash - p] = '\0';
        p = slash + 1;
        if (strcmp(p, "LATEST.json") == 0) {
            out->kind = TP_KEY_CHECKPOINT_LATEST;
            return TP_OK;
        }
        out->kind = TP_KEY_CHECKPOINT;
        if (!parse_dec(&p, UINT64_MAX, &out->window)) return bad(err, "checkpoint window is not a canonical decimal number");
        if (!eat(&p, "/")) return bad(err, "expected '/' after the checkpoint window");
        if (*p && !file_valid(p)) return bad(err, "bad checkpoint file name");
        strcpy(out->file, p); /* fits: file_valid bounds it to TP_KEY_FILE_MAX */
        return TP_OK;
    }
    return bad(err, "unknown key prefix");
}
