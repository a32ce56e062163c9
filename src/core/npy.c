#include "core/alloc.h"
#include "core/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

/* Data is read and written as raw host bytes, which are only "<" on a little-endian host. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

size_t tp_dtype_size(tp_dtype dt) {
    switch (dt) {
    case TP_DT_U8: return 1;
    case TP_DT_I32:
    case TP_DT_U32:
    case TP_DT_F32: return 4;
    case TP_DT_I64:
    case TP_DT_F64: return 8;
    case TP_DT_COUNT: break;
    }
    return 0;
}

const char *tp_dtype_npy(tp_dtype dt) {
    switch (dt) {
    case TP_DT_U8: return "|u1";
    case TP_DT_I32: return "<i4";
    case TP_DT_U32: return "<u4";
    case TP_DT_I64: return "<i8";
    case TP_DT_F32: return "<f4";
    case TP_DT_F64: return "<f8";
    case TP_DT_COUNT: break;
    }
    return "?";
}

/* Adds context to a message and returns st. */
static tp_status wrap(tp_err *err, tp_status st, const char *what) {
    tp_wrap(err, "%s", what);
    return st;
}

/* Product of dims times itemsize, refusing anything that does not fit an int64 element count and a
 * size_t byte count. */
static tp_status shape_bytes(int ndim, const int64_t *shape, size_t itemsize, int64_t *count, size_t *nbytes,
                             tp_status code, tp_err *err) {
    int64_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return tp_fail(err, code, "dimension %d is negative (%" PRId64 ")", i, shape[i]);
        if (shape[i] != 0 && c > INT64_MAX / shape[i])
            return tp_fail(err, code, "shape overflows: element count does not fit in 64 bits");
        c *= shape[i];
    }
    if ((uint64_t)c > SIZE_MAX / itemsize)
        return tp_fail(err, code, "shape overflows: %" PRId64 " elements of %zu bytes", c, itemsize);
    *count = c;
    *nbytes = (size_t)c * itemsize;
    return TP_OK;
}

/* ---- header dict parser ----
 * The header is a Python dict literal. numpy writes {'descr': '<u4', 'fortran_order': False,
 * 'shape': (3,), } and we accept exactly that grammar (either quote style, any whitespace, optional
 * trailing commas) and nothing else: no escapes, no other keys, no nested structures. */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes; returns its bounds. */
static int parse_str(cursor *c, const char **s, size_t *n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n') return 0;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return 1;
}

static int word_is(const char *s, size_t n, const char *w) { return strlen(w) == n && memcmp(s, w, n) == 0; }

static tp_status parse_descr(cursor *c, tp_dtype *dt, tp_err *err) {
    const char *s;
    size_t n;
    if (!parse_str(c, &s, &n)) return tp_fail(err, TP_ERR_FORMAT, "npy header: 'descr' is not a plain string");
    static const struct {
        const char *name;
        tp_dtype dt;
    } known[] = {{"|u1", TP_DT_U8}, {"<u1", TP_DT_U8}, {"<i4", TP_DT_I32}, {"<u4", TP_DT_U32},
                 {"<i8", TP_DT_I64}, {"<f4", TP_DT_F32}, {"<f8", TP_DT_F64}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (word_is(s, n, known[i].name)) {
            *dt = known[i].dt;
            return TP_OK;
        }
    return tp_fail(err, TP_ERR_FORMAT,
                   "npy header: dtype '%.*s' is not supported (only |u1 <i4 <u4 <i8 <f4 <f8, little-endian)",
                   (int)(n > 32 ? 32 : n), s);
}

static tp_status parse_fortran(cursor *c, tp_err *err) {
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        return TP_OK;
    }
    if (left >= 4 && memcmp(c->p, "True", 4) == 0)
        return tp_fail(err, TP_ERR_FORMAT, "npy header: fortran_order is True; only C-order arrays are supported");
    return tp_fail(err, TP_ERR_FORMAT, "npy header: 'fortran_order' is not True or False");
}

static tp_status parse_shape(cursor *c, int *ndim, int64_t *shape, tp_err *err) {
    if (!eat(c, '(')) return tp_fail(err, TP_ERR_FORMAT, "npy header: 'shape' is not a tuple");
    int n = 0, last_comma = 0;
    while (!eat(c, ')')) {
        skip_ws(c);
        if (c->p < c->end && *c->p == '-')
            return tp_fail(err, TP_ERR_FORMAT, "npy header: shape has a negative dimension");
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return tp_fail(err, TP_ERR_FORMAT, "npy header: shape entry %d is not a non-negative integer", n);
        if (n == TP_NPY_MAX_DIMS)
            return tp_fail(err, TP_ERR_FORMAT, "npy header: shape has more than %d dimensions", TP_NPY_MAX_DIMS);
        const char *start = c->p;
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            int d = *c->p - '0';
            if (v > (INT64_MAX - d) / 10)
                return tp_fail(err, TP_ERR_FORMAT, "npy header: shape entry %d does not fit in 64 bits", n);
            v = v * 10 + d;
            c->p++;
        }
        /* Python 3 rejects integer literals with leading zeros, so numpy never writes them. */
        if (c->p - start > 1 && *start == '0')
            return tp_fail(err, TP_ERR_FORMAT, "npy header: shape entry %d has a leading zero", n);
        shape[n++] = v;
        last_comma = eat(c, ',');
        skip_ws(c);
        if (!last_comma && (c->p >= c->end || *c->p != ')'))
            return tp_fail(err, TP_ERR_FORMAT, "npy header: shape tuple is malformed");
    }
    /* "(3)" is an int in Python, not a tuple. */
    if (n == 1 && !last_comma)
        return tp_fail(err, TP_ERR_FORMAT, "npy header: shape (n) needs a trailing comma to be a tuple");
    *ndim = n;
    return TP_OK;
}

static tp_status parse_dict(const char *s, size_t len, tp_npy *out, tp_err *err) {
    cursor c = {s, s + len};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    tp_status st;
    if (!eat(&c, '{')) return tp_fail(err, TP_ERR_FORMAT, "npy header is not a dict");
    for (;;) {
        if (eat(&c, '}')) break;
        const char *k;
        size_t kn;
        if (!parse_str(&c, &k, &kn)) return tp_fail(err, TP_ERR_FORMAT, "npy header: expected a quoted key");
        if (!eat(&c, ':')) return tp_fail(err, TP_ERR_FORMAT, "npy header: expected ':' after a key");
        if (word_is(k, kn, "descr")) {
            if (seen_descr++) return tp_fail(err, TP_ERR_FORMAT, "npy header: duplicate key 'descr'");
            if ((st = parse_descr(&c, &out->dtype, err))) return st;
        } else if (word_is(k, kn, "fortran_order")) {
            if (seen_fortran++) return tp_fail(err, TP_ERR_FORMAT, "npy header: duplicate key 'fortran_order'");
            if ((st = parse_fortran(&c, err))) return st;
        } else if (word_is(k, kn, "shape")) {
            if (seen_shape++) return tp_fail(err, TP_ERR_FORMAT, "npy header: duplicate key 'shape'");
            if ((st = parse_shape(&c, &out->ndim, out->shape, err))) return st;
        } else {
            return tp_fail(err, TP_ERR_FORMAT, "npy header: unexpected key '%.*s'", (int)(kn > 32 ? 32 : kn), k);
        }
        if (eat(&c, ',')) continue;
        if (eat(&c, '}')) break;
        return tp_fail(err, TP_ERR_FORMAT, "npy header: expected ',' or '}'");
    }
    skip_ws(&c);
    if (c.p != c.end) return tp_fail(err, TP_ERR_FORMAT, "npy header: unexpected bytes after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return tp_fail(err, TP_ERR_FORMAT, "npy header: missing key '%s'",
                       !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    return TP_OK;
}

tp_status tp_npy_parse(const uint8_t *buf, size_t len, tp_npy *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    if (len < 10) return tp_fail(err, TP_ERR_FORMAT, "npy: file is %zu bytes, too short for a header", len);
    if (memcmp(buf, MAGIC, sizeof MAGIC) != 0) return tp_fail(err, TP_ERR_FORMAT, "npy: bad magic (not a .npy file)");
    uint8_t major = buf[6], minor = buf[7];
    size_t prefix, hlen;
    if (major == 1 && minor == 0) {
        prefix = 10;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12) return tp_fail(err, TP_ERR_FORMAT, "npy: file is %zu bytes, too short for a v%u header", len, major);
        prefix = 12;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    } else {
        return tp_fail(err, TP_ERR_FORMAT, "npy: unsupported format version %u.%u", major, minor);
    }
    if (hlen > len - prefix)
        return tp_fail(err, TP_ERR_FORMAT, "npy: header length %zu runs past the end of the %zu-byte file", hlen, len);
    tp_status st = parse_dict((const char *)buf + prefix, hlen, out, err);
    if (st) return st;
    size_t nbytes = 0;
    if ((st = shape_bytes(out->ndim, out->shape, tp_dtype_size(out->dtype), &out->count, &nbytes, TP_ERR_FORMAT, err)))
        return wrap(err, st, "npy");
    size_t have = len - prefix - hlen;
    if (have < nbytes)
        return tp_fail(err, TP_ERR_FORMAT, "npy: data is truncated: %zu bytes present, %zu expected (%" PRId64 " x %s)",
                       have, nbytes, out->count, tp_dtype_npy(out->dtype));
    if (have > nbytes)
        return tp_fail(err, TP_ERR_FORMAT, "npy: %zu extra bytes after the data (%zu expected, %zu present)",
                       have - nbytes, nbytes, have);
    out->header_len = prefix + hlen;
    out->data = buf + out->header_len;
    return TP_OK;
}

tp_status tp_npy_map_open(const char *path, tp_npy_map *m, tp_err *err) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tp_fail(err, TP_ERR_IO, "%s is not a regular file", path);
    }
    /* mmap of length 0 fails with EINVAL; report the real problem instead. */
    if (sb.st_size < 10) {
        close(fd);
        return tp_fail(err, TP_ERR_FORMAT, "%s: file is %lld bytes, too short to be a .npy file", path,
                       (long long)sb.st_size);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return tp_fail(err, TP_ERR_IO, "%s is too large to map", path);
    }
    size_t n = (size_t)sb.st_size;
    void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED) return tp_fail(err, TP_ERR_IO, "cannot map %s: %s", path, strerror(saved));
    tp_status st = tp_npy_parse(map, n, &m->npy, err);
    if (st) {
        munmap(map, n);
        memset(m, 0, sizeof *m);
        return wrap(err, st, path);
    }
    m->map = map;
    m->map_len = n;
    return TP_OK;
}

void tp_npy_map_close(tp_npy_map *m) {
    if (!m) return;
    if (m->map) munmap(m->map, m->map_len);
    memset(m, 0, sizeof *m);
}

/* Writes a v1.0 header whose total length (prefix included) is exactly `total` bytes: the dict,
 * space padding, then '\n', as numpy does. Returns 0 if it does not fit. */
static size_t format_header(uint8_t *out, size_t total, tp_dtype dt, int ndim, const int64_t *shape) {
    char dict[512];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                tp_dtype_npy(dt));
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%" PRId64 "%s", shape[i],
                              ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    n += (size_t)snprintf(dict + n, sizeof dict - n, "), }");
    if (n >= sizeof dict || total < 10 + n + 1 || total - 10 > 0xffff) return 0;
    size_t hlen = total - 10;
    memcpy(out, MAGIC, sizeof MAGIC);
    out[6] = 1;
    out[7] = 0;
    out[8] = (uint8_t)(hlen & 0xff);
    out[9] = (uint8_t)(hlen >> 8);
    memcpy(out + 10, dict, n);
    memset(out + 10 + n, ' ', hlen - n - 1);
    out[total - 1] = '\n';
    return total;
}

static tp_status check_dtype(tp_dtype dt, tp_err *err) {
    if ((unsigned)dt >= TP_DT_COUNT) return tp_fail(err, TP_ERR_ARG, "npy: invalid dtype %d", (int)dt);
    return TP_OK;
}

tp_status tp_npy_write(const char *path, tp_dtype dt, int ndim, const int64_t *shape, const void *data,
                       tp_err *err) {
    tp_status st;
    if ((st = check_dtype(dt, err))) return st;
    if (ndim < 0 || ndim > TP_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return tp_fail(err, TP_ERR_ARG, "npy: invalid number of dimensions %d", ndim);
    int64_t count;
    size_t nbytes = 0;
    if ((st = shape_bytes(ndim, shape, tp_dtype_size(dt), &count, &nbytes, TP_ERR_ARG, err))) return wrap(err, st, "npy");
    if (nbytes && !data) return tp_fail(err, TP_ERR_ARG, "npy: no data for a non-empty array");
    /* numpy pads the header so the data starts on a 64-byte boundary. */
    uint8_t header[512];
    size_t total = 0;
    for (size_t t = 64; t <= sizeof header && !total; t += 64) total = format_header(header, t, dt, ndim, shape);
    if (!total) return tp_fail(err, TP_ERR_INTERNAL, "npy: header does not fit");
    tp_atomic_file af;
    if ((st = tp_atomic_open(&af, path, err))) return st;
    if ((st = tp_atomic_write(&af, header, total, err)) || (st = tp_atomic_write(&af, data, nbytes, err))) {
        tp_atomic_abort(&af);
        return st;
    }
    return tp_atomic_commit(&af, err);
}

/* ---- streaming writer ---- */

/* Big enough for the dict with a 19-digit length; a multiple of 64 so the data stays aligned. */
#define STREAM_HEADER 128
#define STREAM_BUF (1u << 20)

struct tp_npy_stream {
    tp_atomic_file af;
    tp_dtype dt;
    int64_t count;
    tp_status failed; /* sticky: once a write fails, close refuses to commit */
    char *iobuf;
};

static void stream_free(tp_npy_stream *s) {
    free(s->iobuf);
    free(s);
}

tp_status tp_npy_stream_open(const char *path, tp_dtype dt, tp_npy_stream **out, tp_err *err) {
    *out = NULL;
    tp_status st;
    if ((st = check_dtype(dt, err))) return st;
    tp_npy_stream *s = tp_calloc(1, sizeof *s, err);
    if (!s) return TP_ERR_NOMEM;
    s->dt = dt;
    s->iobuf = tp_malloc(STREAM_BUF, err);
    if (!s->iobuf) {
        free(s);
        return TP_ERR_NOMEM;
    }
    if ((st = tp_atomic_open(&s->af, path, err))) {
        stream_free(s);
        return st;
    }
    /* A larger stdio buffer turns many small appends into few large writes. */
    setvbuf(s->af.f, s->iobuf, _IOFBF, STREAM_BUF);
    uint8_t header[STREAM_HEADER];
    int64_t zero = 0;
    format_header(header, sizeof header, dt, 1, &zero);
    if ((st = tp_atomic_write(&s->af, header, sizeof header, err))) {
        tp_atomic_abort(&s->af);
        stream_free(s);
        return st;
    }
    *out = s;
    return TP_OK;
}

tp_status tp_npy_stream_append(tp_npy_stream *s, const void *data, size_t count, tp_err *err) {
    if (s->failed) return tp_fail(err, s->failed, "npy stream %s: an earlier write failed", s->af.path);
    size_t isz = tp_dtype_size(s->dt);
    if (count == 0) return TP_OK;
    if (!data) return tp_fail(err, TP_ERR_ARG, "npy stream: no data");
    if (count > SIZE_MAX / isz || count > (uint64_t)(INT64_MAX - s->count) ||
        (uint64_t)(s->count + (int64_t)count) > SIZE_MAX / isz)
        return s->failed = tp_fail(err, TP_ERR_ARG, "npy stream %s: too many elements", s->af.path);
    tp_status st = tp_atomic_write(&s->af, data, count * isz, err);
    if (st) return s->failed = st;
    s->count += (int64_t)count;
    return TP_OK;
}

int64_t tp_npy_stream_count(const tp_npy_stream *s) { return s->count; }

tp_status tp_npy_stream_close(tp_npy_stream *s, tp_err *err) {
    tp_status st = s->failed;
    if (st) {
        tp_fail(err, st, "npy stream %s: an earlier write failed; nothing was committed", s->af.path);
        tp_npy_stream_abort(s);
        return st;
    }
    uint8_t header[STREAM_HEADER];
    if (!format_header(header, sizeof header, s->dt, 1, &s->count)) {
        tp_npy_stream_abort(s);
        return tp_fail(err, TP_ERR_INTERNAL, "npy stream: header does not fit");
    }
    /* Patch the placeholder in place: same length, only the shape digits and padding change. */
    if (fflush(s->af.f) != 0 || fseek(s->af.f, 0, SEEK_SET) != 0 ||
        fwrite(header, 1, sizeof header, s->af.f) != sizeof header) {
        int saved = errno;
        tp_fail(err, TP_ERR_IO, "writing %s: %s", s->af.tmp, strerror(saved));
        tp_npy_stream_abort(s);
        return TP_ERR_IO;
    }
    st = tp_atomic_commit(&s->af, err); /* closes the FILE before its buffer is freed */
    stream_free(s);
    return st;
}

void tp_npy_stream_abort(tp_npy_stream *s) {
    if (!s) return;
    tp_atomic_abort(&s->af);
    stream_free(s);
}
