#include "core/alloc.h"
#include "core/json.h"
#include "core/safetensors.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define SUPPORTED "U8, I32, U32, I64, F32, F64"

static const char *const ST_NAMES[TP_DT_COUNT] = {
    [TP_DT_U8] = "U8", [TP_DT_I32] = "I32", [TP_DT_U32] = "U32",
    [TP_DT_I64] = "I64", [TP_DT_F32] = "F32", [TP_DT_F64] = "F64",
};

/* Names come from hostile input: cap what goes into a message. */
#define NAME_FMT "'%.120s'"

static tp_status fail_tensor(tp_err *err, const char *name, const char *what) {
    return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": %s", name, what);
}

/* Fills t (name excluded) from one header entry and returns its data offsets. */
static tp_status parse_entry(const char *name, json_t *v, size_t data_len, tp_st_tensor *t, uint64_t *begin,
                             uint64_t *end, tp_err *err) {
    if (!json_is_object(v)) return fail_tensor(err, name, "entry is not an object");
    json_t *dtype = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!dtype) return fail_tensor(err, name, "missing field 'dtype'");
    if (!shape) return fail_tensor(err, name, "missing field 'shape'");
    if (!offs) return fail_tensor(err, name, "missing field 'data_offsets'");
    if (json_object_size(v) != 3) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) {
            if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
                return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": unexpected field '%.60s'",
                               name, key);
        }
    }

    if (!json_is_string(dtype)) return fail_tensor(err, name, "field 'dtype' is not a string");
    const char *ds = json_string_value(dtype);
    int found = 0;
    for (int i = 0; i < TP_DT_COUNT; i++)
        if (!strcmp(ds, ST_NAMES[i])) {
            t->dtype = (tp_dtype)i;
            found = 1;
        }
    if (!found)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT " has dtype %.20s; only " SUPPORTED
                       " are supported", name, ds);

    if (!json_is_array(shape)) return fail_tensor(err, name, "field 'shape' is not an array");
    size_t nd = json_array_size(shape);
    if (nd > TP_ST_MAX_DIMS)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": field 'shape' has %zu dimensions, "
                       "more than %d", name, nd, TP_ST_MAX_DIMS);
    t->ndim = (int)nd;
    int64_t count = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": field 'shape' entry %zu is not a "
                           "non-negative integer", name, i);
        int64_t x = json_integer_value(d);
        if (x != 0 && count > INT64_MAX / x) return fail_tensor(err, name, "field 'shape' overflows 64 bits");
        count *= x;
        t->shape[i] = x;
    }
    t->count = count;
    size_t isz = tp_dtype_size(t->dtype);
    if ((uint64_t)count > SIZE_MAX / isz) return fail_tensor(err, name, "field 'shape' is too large");
    t->nbytes = (size_t)count * isz;

    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return fail_tensor(err, name, "field 'data_offsets' is not an array of two integers");
    json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 || json_integer_value(e) < 0)
        return fail_tensor(err, name, "field 'data_offsets' holds a value that is not a non-negative integer");
    *begin = (uint64_t)json_integer_value(b);
    *end = (uint64_t)json_integer_value(e);
    if (*begin > *end)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": field 'data_offsets' [%" PRIu64
                       ", %" PRIu64 "] ends before it begins", name, *begin, *end);
    if (*end > data_len)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": field 'data_offsets' end %" PRIu64
                       " is past the %zu-byte data section", name, *end, data_len);
    if (*end - *begin != t->nbytes)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT ": field 'data_offsets' spans %" PRIu64
                       " bytes but shape and dtype need %zu", name, *end - *begin, t->nbytes);
    return TP_OK;
}

static int by_offset(const void *a, const void *b) {
    const tp_st_tensor *x = a, *y = b;
    /* data already points into the buffer, so pointer order is offset order; ties (zero-size
     * tensors) are broken by end and then name so the order is deterministic. */
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The header length: 8 bytes, little-endian, within the limit and within the buffer. */
static tp_status read_header_len(const uint8_t *buf, size_t len, uint64_t *out, tp_err *err) {
    if (len < 8) return tp_fail(err, TP_ERR_FORMAT, "safetensors: %zu bytes, too short for the header length", len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > TP_ST_MAX_HEADER)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: header length %" PRIu64 " exceeds the limit of %u", n,
                       TP_ST_MAX_HEADER);
    if (n > len - 8)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: header length %" PRIu64 " runs past the end of the "
                       "%zu-byte buffer", n, len);
    *out = n;
    return TP_OK;
}

/* The optional '__metadata__' entry must map strings to strings. Sets *meta to it (borrowed from
 * root), or to NULL when the header has none. */
static tp_status check_metadata(json_t *root, json_t **meta, tp_err *err) {
    json_t *m = *meta = json_object_get(root, "__metadata__");
    if (!m) return TP_OK;
    if (!json_is_object(m)) return tp_fail(err, TP_ERR_FORMAT, "safetensors: '__metadata__' is not an object");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return tp_fail(err, TP_ERR_FORMAT, "safetensors: '__metadata__' value for key " NAME_FMT
                           " is not a string", k);
    }
    return TP_OK;
}

/* Every entry but '__metadata__' into out->tensors, in header order; out->n counts the complete ones,
 * so tp_st_free releases the right names on failure. */
static tp_status parse_tensors(json_t *root, int has_meta, int max_tensors, const uint8_t *data, size_t data_len,
                               tp_st *out, tp_err *err) {
    size_t ntensors = json_object_size(root) - (has_meta ? 1 : 0);
    if (max_tensors < 0 || ntensors > (size_t)max_tensors)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: header lists %zu tensors, more than the limit of %d",
                       ntensors, max_tensors);
    out->tensors = tp_calloc(ntensors, sizeof *out->tensors, err);
    if (!out->tensors) return TP_ERR_NOMEM;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) continue;
        tp_st_tensor *t = &out->tensors[out->n];
        uint64_t b = 0, e = 0;
        tp_status st = parse_entry(key, val, data_len, t, &b, &e, err);
        if (st) return st;
        if (!(t->name = tp_strdup(key, err))) return err->code;
        t->data = data + b;
        out->n++;
    }
    return TP_OK;
}

/* The spec requires the tensors to tile the data section exactly: no overlap, no gaps, no tail.
 * Sorts out->tensors by offset to check that. */
static tp_status check_tiling(tp_st *out, const uint8_t *data, size_t data_len, tp_err *err) {
    qsort(out->tensors, (size_t)out->n, sizeof *out->tensors, by_offset);
    size_t pos = 0;
    for (int i = 0; i < out->n; i++) {
        tp_st_tensor *t = &out->tensors[i];
        size_t b = (size_t)(t->data - data);
        if (b < pos)
            return tp_fail(err, TP_ERR_FORMAT, "safetensors: tensor " NAME_FMT " at bytes [%zu, %zu) overlaps tensor "
                           NAME_FMT, t->name, b, b + t->nbytes, out->tensors[i - 1].name);
        if (b > pos)
            return tp_fail(err, TP_ERR_FORMAT, "safetensors: gap of %zu unused bytes before tensor " NAME_FMT, b - pos,
                           t->name);
        pos = b + t->nbytes;
    }
    if (pos != data_len)
        return tp_fail(err, TP_ERR_FORMAT, "safetensors: %zu bytes after the last tensor are not covered by the header",
                       data_len - pos);
    return TP_OK;
}

tp_status tp_st_parse(const uint8_t *buf, size_t len, int max_tensors, tp_st *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    uint64_t n = 0;
    tp_status st = read_header_len(buf, len, &n, err);
    if (st) return st;
    json_t *root;
    st = tp_json_parse((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, "safetensors header", &root, err);
    if (st) return st;
    const uint8_t *data = buf + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    json_t *meta = NULL;
    if (!json_is_object(root)) st = tp_fail(err, TP_ERR_FORMAT, "safetensors: header is not a JSON object");
    if (!st) st = check_metadata(root, &meta, err);
    if (!st) st = parse_tensors(root, meta != NULL, max_tensors, data, data_len, out, err);
    if (!st) st = check_tiling(out, data, data_len, err);
    if (!st) {
        out->metadata = meta ? json_incref(meta) : NULL;
        out->data = data;
        out->data_len = data_len;
    }
    json_decref(root);
    if (st) tp_st_free(out);
    return st;
}

void tp_st_free(tp_st *st) {
    if (!st) return;
    if (st->tensors)
        for (int i = 0; i < st->n; i++) free(st->tensors[i].name);
    free(st->tensors);
    json_decref(st->metadata);
    memset(st, 0, sizeof *st);
}

const tp_st_tensor *tp_st_find(const tp_st *st, const char *name) {
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

const char *tp_st_meta(const tp_st *st, const char *key) {
    if (!st->metadata) return NULL;
    return json_string_value(json_object_get(st->metadata, key));
}

tp_status tp_st_load(const char *path, size_t max_bytes, int max_tensors, tp_st_file *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    tp_status st = tp_read_file(path, max_bytes, &out->bytes, &out->len, err);
    if (st) return st;
    if ((st = tp_st_parse(out->bytes, out->len, max_tensors, &out->st, err))) {
        free(out->bytes);
        memset(out, 0, sizeof *out);
        tp_wrap(err, "%s", path);
        return st;
    }
    return TP_OK;
}

void tp_st_file_free(tp_st_file *f) {
    if (!f) return;
    tp_st_free(&f->st);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

/* ---- writer ---- */

typedef struct {
    const void *data;
    size_t nbytes;
} wtensor;

struct tp_st_writer {
    json_t *tensors; /* name -> {dtype, shape, data_offsets}; also the duplicate-name check */
    json_t *meta;    /* string -> string */
    wtensor *items;  /* in the order added, which is the data layout order */
    size_t n, cap;
    size_t total;    /* bytes of data so far */
};

tp_st_writer *tp_st_writer_new(tp_err *err) {
    tp_st_writer *w = tp_calloc(1, sizeof *w, err);
    if (!w) return NULL;
    w->tensors = json_object();
    w->meta = json_object();
    if (!w->tensors || !w->meta) {
        tp_st_writer_free(w);
        tp_fail(err, TP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return w;
}

void tp_st_writer_free(tp_st_writer *w) {
    if (!w) return;
    json_decref(w->tensors);
    json_decref(w->meta);
    free(w->items);
    free(w);
}

tp_status tp_st_add(tp_st_writer *w, const char *name, tp_dtype dt, int ndim, const int64_t *shape,
                    const void *data, tp_err *err) {
    if (!name) return tp_fail(err, TP_ERR_ARG, "safetensors: tensor without a name");
    if (!strcmp(name, "__metadata__"))
        return tp_fail(err, TP_ERR_ARG, "safetensors: '__metadata__' cannot be a tensor name");
    if ((unsigned)dt >= TP_DT_COUNT) return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s': invalid dtype", name);
    if (ndim < 0 || ndim > TP_ST_MAX_DIMS || (ndim > 0 && !shape))
        return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s': invalid number of dimensions %d", name, ndim);
    if (json_object_get(w->tensors, name))
        return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s' was added twice", name);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s': negative dimension", name);
        if (shape[i] != 0 && count > INT64_MAX / shape[i])
            return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s': shape overflows", name);
        count *= shape[i];
    }
    size_t isz = tp_dtype_size(dt);
    if ((uint64_t)count > SIZE_MAX / isz || (size_t)count * isz > (uint64_t)INT64_MAX - w->total)
        return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s' is too large", name);
    size_t nbytes = (size_t)count * isz;
    if (nbytes && !data) return tp_fail(err, TP_ERR_ARG, "safetensors: tensor '%s' has no data", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        wtensor *p = tp_realloc(w->items, cap * sizeof *p, err);
        if (!p) return err->code;
        w->items = p;
        w->cap = cap;
    }
    json_t *jshape = json_array();
    json_t *entry = json_pack("{s:s, s:o, s:[I, I]}", "dtype", ST_NAMES[dt], "shape", jshape, "data_offsets",
                              (json_int_t)w->total, (json_int_t)(w->total + nbytes));
    if (!entry) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ndim; i++)
        if (json_array_append_new(jshape, json_integer(shape[i]))) {
            json_decref(entry);
            return tp_fail(err, TP_ERR_NOMEM, "out of memory");
        }
    /* jansson refuses keys that are not valid UTF-8, which readers would refuse too. */
    if (!tp_utf8_valid(name)) {
        json_decref(entry);
        return tp_fail(err, TP_ERR_ARG, "safetensors: tensor name '%s' is not valid UTF-8", name);
    }
    if (json_object_set_new(w->tensors, name, entry)) return tp_fail(err, TP_ERR_NOMEM, "safetensors: out of memory");
    w->items[w->n++] = (wtensor){data, nbytes};
    w->total += nbytes;
    return TP_OK;
}

tp_status tp_st_set_meta(tp_st_writer *w, const char *key, const char *value, tp_err *err) {
    if (!key || !value) return tp_fail(err, TP_ERR_ARG, "safetensors: metadata key or value is NULL");
    if (!tp_utf8_valid(value)) return tp_fail(err, TP_ERR_ARG, "safetensors: metadata value for '%s' is not valid UTF-8", key);
    if (!tp_utf8_valid(key)) return tp_fail(err, TP_ERR_ARG, "safetensors: metadata key is not valid UTF-8");
    json_t *v = json_string(value);
    if (!v || json_object_set_new(w->meta, key, v)) return tp_fail(err, TP_ERR_NOMEM, "safetensors: out of memory");
    return TP_OK;
}

/* Builds the 8-byte length prefix plus the padded header, so that the data section starts on an
 * 8-byte boundary. */
static tp_status build_header(tp_st_writer *w, char **out, size_t *len, tp_err *err) {
    json_t *root = json_object();
    if (!root) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (json_object_update(root, w->tensors) ||
        (json_object_size(w->meta) && json_object_set(root, "__metadata__", w->meta))) {
        json_decref(root);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    char *s;
    size_t n;
    tp_status st = tp_json_dump(root, JSON_COMPACT | JSON_SORT_KEYS, &s, &n, err);
    json_decref(root);
    if (st) return st;
    size_t padded = (n + 7) & ~(size_t)7;
    if (padded > TP_ST_MAX_HEADER) {
        free(s);
        return tp_fail(err, TP_ERR_ARG, "safetensors: header of %zu bytes exceeds the limit of %u", padded,
                       TP_ST_MAX_HEADER);
    }
    char *h = tp_malloc(8 + padded, err);
    if (!h) {
        free(s);
        return TP_ERR_NOMEM;
    }
    for (int i = 0; i < 8; i++) h[i] = (char)(((uint64_t)padded >> (8 * i)) & 0xff);
    memcpy(h + 8, s, n);
    memset(h + 8 + n, ' ', padded - n);
    free(s);
    *out = h;
    *len = 8 + padded;
    return TP_OK;
}

tp_status tp_st_write_mem(tp_st_writer *w, uint8_t **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    char *h;
    size_t hl;
    tp_status st = build_header(w, &h, &hl, err);
    if (st) return st;
    if (w->total > SIZE_MAX - hl) {
        free(h);
        return tp_fail(err, TP_ERR_ARG, "safetensors: file too large");
    }
    uint8_t *buf = tp_malloc(hl + w->total, err);
    if (!buf) {
        free(h);
        return TP_ERR_NOMEM;
    }
    memcpy(buf, h, hl);
    free(h);
    size_t pos = hl;
    for (size_t i = 0; i < w->n; i++) {
        if (w->items[i].nbytes) memcpy(buf + pos, w->items[i].data, w->items[i].nbytes);
        pos += w->items[i].nbytes;
    }
    *out = buf;
    *len = pos;
    return TP_OK;
}

tp_status tp_st_write_file(tp_st_writer *w, const char *path, tp_err *err) {
    char *h;
    size_t hl;
    tp_status st = build_header(w, &h, &hl, err);
    if (st) return st;
    /* Streamed rather than assembled in memory: checkpoints can be as large as the model. */
    tp_atomic_file af;
    if ((st = tp_atomic_open(&af, path, err))) {
        free(h);
        return st;
    }
    st = tp_atomic_write(&af, h, hl, err);
    free(h);
    for (size_t i = 0; !st && i < w->n; i++) st = tp_atomic_write(&af, w->items[i].data, w->items[i].nbytes, err);
    if (st) {
        tp_atomic_abort(&af);
        return st;
    }
    return tp_atomic_commit(&af, err);
}
