/* A deliberately small XML scanner for S3 responses (untrusted input): it walks the element tree
 * once, keeping a bounded stack of names and the decoded text of the current element, and reports
 * element starts and ends to a callback. Nothing is allocated; every limit is checked. */
#include "net/s3_xml.h"

#include <string.h>

#include "net/store_internal.h"

#define XML_DEPTH 16
#define XML_NAME 64
#define XML_TEXT 4096

typedef struct {
    char name[XML_DEPTH][XML_NAME]; /* qualified names as written */
    int depth;
    char text[XML_TEXT + 1]; /* decoded text of the innermost element since its last tag */
    size_t tlen;
    int overflow; /* text was longer than XML_TEXT and was cut */
} xml_state;

/* Called after an element is pushed (end = 0) and before it is popped (end = 1). Nonzero stops. */
typedef int (*xml_event)(void *ctx, const xml_state *x, int end);

static const char *local_name(const char *q) {
    const char *c = strrchr(q, ':');
    return c ? c + 1 : q;
}

static int is_name_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
static int is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *find(const char *p, const char *end, const char *needle) {
    size_t n = strlen(needle);
    for (; (size_t)(end - p) >= n; p++)
        if (!memcmp(p, needle, n)) return p;
    return NULL;
}

static void text_add(xml_state *x, const char *p, size_t n) {
    size_t room = XML_TEXT - x->tlen;
    if (n > room) {
        n = room;
        x->overflow = 1;
    }
    memcpy(x->text + x->tlen, p, n);
    x->tlen += n;
    x->text[x->tlen] = 0;
}

static void text_reset(xml_state *x) {
    x->tlen = 0;
    x->overflow = 0;
    x->text[0] = 0;
}

/* Decodes the reference starting at '&'; returns bytes consumed, or 0 if invalid. */
static size_t decode_ref(const char *p, const char *end, xml_state *x) {
    const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
    if (!semi) return 0;
    size_t n = (size_t)(semi - p) - 1;
    const char *r = p + 1;
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (n == strlen(named[i].name) && !memcmp(r, named[i].name, n)) {
            text_add(x, &named[i].c, 1);
            return n + 2;
        }
    if (n < 2 || r[0] != '#') return 0;
    unsigned long cp = 0;
    int hex = r[1] == 'x';
    size_t i = hex ? 2 : 1;
    if (i >= n) return 0;
    for (; i < n; i++) {
        char c = r[i];
        int v = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return 0;
        cp = cp * (hex ? 16 : 10) + (unsigned long)v;
        if (cp > 0x10FFFF) return 0;
    }
    /* The characters XML 1.0 allows. */
    int ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
             (cp >= 0x10000 && cp <= 0x10FFFF);
    if (!ok) return 0;
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    text_add(x, u, k);
    return n + 2;
}

/* Parses a name at *pp into out; returns 0 on success. */
static int parse_name(const char **pp, const char *end, char out[XML_NAME]) {
    const char *p = *pp;
    if (p >= end || !is_name_start((unsigned char)*p)) return -1;
    size_t n = 0;
    while (p < end && is_name_char((unsigned char)*p)) {
        if (n + 1 >= XML_NAME) return -1;
        out[n++] = *p++;
    }
    out[n] = 0;
    *pp = p;
    return 0;
}

/* One walk's position and state, shared by its phases. Each phase returns 0, or -1 with a reason in
 * *why (left NULL when the callback stopped the walk). */
typedef struct {
    xml_state x;
    const char *p, *end;
    int root_seen;
    xml_event on;
    void *ctx;
    const char **why;
} xml_walker;

/* Character data or a reference at w->p (anything but '<'). */
static int walk_text(xml_walker *w) {
    xml_state *x = &w->x;
    unsigned char c = (unsigned char)*w->p;
    if (c == '&') {
        if (!x->depth) return *w->why = "text outside the root element", -1;
        size_t used = decode_ref(w->p, w->end, x);
        if (!used) return *w->why = "invalid entity or character reference", -1;
        w->p += used;
        return 0;
    }
    if (c < 0x20 && !is_space(c)) return *w->why = "control character", -1;
    if (!x->depth) {
        if (!is_space(c)) return *w->why = "text outside the root element", -1;
        w->p++;
        return 0;
    }
    const char *q = w->p;
    while (q < w->end && *q != '<' && *q != '&' && ((unsigned char)*q >= 0x20 || is_space((unsigned char)*q))) q++;
    text_add(x, w->p, (size_t)(q - w->p));
    w->p = q;
    return 0;
}

/* Reports the end of the innermost element and pops it. */
static int end_element(xml_walker *w) {
    if (w->on(w->ctx, &w->x, 1)) return -1;
    w->x.depth--;
    text_reset(&w->x);
    return 0;
}

/* "</name>", which has to close the innermost element. */
static int walk_end_tag(xml_walker *w) {
    const xml_state *x = &w->x;
    char name[XML_NAME];
    w->p += 2;
    if (parse_name(&w->p, w->end, name)) return *w->why = "bad end tag name", -1;
    while (w->p < w->end && is_space((unsigned char)*w->p)) w->p++;
    if (w->p >= w->end || *w->p != '>') return *w->why = "unterminated end tag", -1;
    w->p++;
    if (!x->depth || strcmp(name, x->name[x->depth - 1])) return *w->why = "mismatched end tag", -1;
    return end_element(w);
}

/* Skips a start tag's attributes through its '>' or "/>" (then *self_close = 1). Attributes are
 * skipped, but their quoting still has to be well formed. */
static int skip_attributes(xml_walker *w, int *self_close) {
    const char *p = w->p, *end = w->end;
    *self_close = 0;
    for (;;) {
        if (p >= end) return *w->why = "unterminated start tag", -1;
        char a = *p;
        if (a == '>') {
            p++;
            break;
        }
        if (a == '/') {
            if (p + 1 >= end || p[1] != '>') return *w->why = "bad '/' in start tag", -1;
            p += 2;
            *self_close = 1;
            break;
        }
        if (a == '"' || a == '\'') {
            const char *q = memchr(p + 1, a, (size_t)(end - p - 1));
            if (!q) return *w->why = "unterminated attribute value", -1;
            if (memchr(p + 1, '<', (size_t)(q - p - 1))) return *w->why = "'<' in attribute value", -1;
            p = q + 1;
            continue;
        }
        if (a == '<') return *w->why = "'<' inside a start tag", -1;
        p++;
    }
    w->p = p;
    return 0;
}

/* "<name ...>" or "<name .../>": pushes the element and reports its start (and its end if it closes
 * itself). */
static int walk_start_tag(xml_walker *w) {
    xml_state *x = &w->x;
    if (!x->depth && w->root_seen) return *w->why = "more than one root element", -1;
    if (x->depth == XML_DEPTH) return *w->why = "elements nested too deeply", -1;
    w->p++;
    if (parse_name(&w->p, w->end, x->name[x->depth])) return *w->why = "bad element name", -1;
    int self_close;
    if (skip_attributes(w, &self_close)) return -1;
    x->depth++;
    w->root_seen = 1;
    text_reset(x);
    if (w->on(w->ctx, x, 0)) return -1;
    return self_close ? end_element(w) : 0;
}

/* Markup at w->p ('<'): a processing instruction, comment, CDATA section, end tag or start tag. */
static int walk_markup(xml_walker *w) {
    const char *p = w->p, *end = w->end;
    size_t left = (size_t)(end - p);
    if (left >= 2 && p[1] == '?') {
        const char *q = find(p + 2, end, "?>");
        if (!q) return *w->why = "unterminated processing instruction", -1;
        w->p = q + 2;
    } else if (left >= 4 && !memcmp(p, "<!--", 4)) {
        const char *q = find(p + 4, end, "-->");
        if (!q) return *w->why = "unterminated comment", -1;
        w->p = q + 3;
    } else if (left >= 9 && !memcmp(p, "<![CDATA[", 9)) {
        if (!w->x.depth) return *w->why = "CDATA outside the root element", -1;
        const char *q = find(p + 9, end, "]]>");
        if (!q) return *w->why = "unterminated CDATA section", -1;
        text_add(&w->x, p + 9, (size_t)(q - p - 9));
        w->p = q + 3;
    } else if (left >= 2 && p[1] == '!') {
        return *w->why = "DTDs and declarations are not accepted", -1;
    } else if (left >= 2 && p[1] == '/') {
        return walk_end_tag(w);
    } else {
        return walk_start_tag(w);
    }
    return 0;
}

/* Walks the document. Returns 0, or -1 with a reason in *why. The callback's own failures stop the
 * walk with *why = NULL. */
static int xml_walk(const char *doc, size_t len, xml_event on, void *ctx, const char **why) {
    xml_walker w;
    w.x.depth = 0;
    text_reset(&w.x);
    w.p = doc;
    w.end = doc + len;
    w.root_seen = 0;
    w.on = on;
    w.ctx = ctx;
    w.why = why;
    *why = NULL;
    if (len >= 3 && !memcmp(w.p, "\xEF\xBB\xBF", 3)) w.p += 3;
    while (w.p < w.end)
        if (*w.p == '<' ? walk_markup(&w) : walk_text(&w)) return -1;
    if (w.x.depth) return *why = "document ends inside an element", -1;
    if (!w.root_seen) return *why = "no root element", -1;
    return 0;
}

/* ---- ISO 8601 ---- */

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int tp_s3_parse_iso_time(const char *s, size_t n, double *out) {
    int Y, M, D, h, m, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return -1;
    if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &m) || digits(s + 17, 2, &sec))
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) return -1;
    size_t i = 19;
    double frac = 0, scale = 0.1;
    if (s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 9) {
            frac += (s[i] - '0') * scale;
            scale *= 0.1;
            i++;
        }
        if (i == start) return -1;
    }
    if (i + 1 != n || (s[i] != 'Z' && s[i] != 'z')) return -1;
    *out = (double)days_from_civil(Y, M, D) * 86400.0 + h * 3600.0 + m * 60.0 + sec + frac;
    return 0;
}

/* ---- ListObjectsV2 ---- */

typedef struct {
    tp_store_list *out;
    int truncated, have_truncated, have_token;
    char *token;
    int have_key, have_size, have_time;
    char key[TP_STORE_KEY_MAX + 1];
    size_t key_len;
    uint64_t size;
    double mtime;
    tp_err *err;
    tp_status st;
} list_ctx;

static int list_fail(list_ctx *c, const char *what) {
    c->st = tp_fail(c->err, TP_ERR_FORMAT, "malformed ListObjectsV2 response: %s", what);
    return 1;
}

static int parse_u64(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 19) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int on_list(void *vc, const xml_state *x, int end) {
    list_ctx *c = vc;
    const char *name = local_name(x->name[x->depth - 1]);
    if (x->depth == 1) {
        if (!end && strcmp(name, "ListBucketResult")) return list_fail(c, "the root element is not ListBucketResult");
        return 0;
    }
    const char *parent = local_name(x->name[x->depth - 2]);
    if (x->depth == 2 && !strcmp(name, "Contents")) {
        if (!end) {
            c->have_key = c->have_size = c->have_time = 0;
            return 0;
        }
        if (!c->have_key || !c->have_size || !c->have_time) return list_fail(c, "an entry without Key, Size or LastModified");
        if (tp_store_list_add(c->out, c->key, c->key_len, c->size, c->mtime, c->err)) {
            c->st = c->err->code;
            return 1;
        }
        return 0;
    }
    if (!end) return 0;
    if (x->depth == 2 && !strcmp(name, "IsTruncated")) {
        if (!strcmp(x->text, "true")) c->truncated = 1;
        else if (!strcmp(x->text, "false")) c->truncated = 0;
        else return list_fail(c, "IsTruncated is neither true nor false");
        c->have_truncated = 1;
    } else if (x->depth == 2 && !strcmp(name, "NextContinuationToken")) {
        if (x->overflow || x->tlen == 0 || x->tlen >= TP_S3_TOKEN_MAX) return list_fail(c, "bad NextContinuationToken length");
        for (size_t i = 0; i < x->tlen; i++)
            if ((unsigned char)x->text[i] < 0x20 || x->text[i] == 0x7f) return list_fail(c, "control character in NextContinuationToken");
        memcpy(c->token, x->text, x->tlen + 1);
        c->have_token = 1;
    } else if (x->depth == 3 && !strcmp(parent, "Contents")) {
        if (!strcmp(name, "Key")) {
            if (x->overflow || x->tlen == 0 || x->tlen > TP_STORE_KEY_MAX) return list_fail(c, "a Key that is empty or too long");
            if (memchr(x->text, 0, x->tlen)) return list_fail(c, "a Key with a NUL byte");
            memcpy(c->key, x->text, x->tlen + 1);
            c->key_len = x->tlen;
            c->have_key = 1;
        } else if (!strcmp(name, "Size")) {
            if (parse_u64(x->text, x->tlen, &c->size)) return list_fail(c, "a Size that is not a decimal number");
            c->have_size = 1;
        } else if (!strcmp(name, "LastModified")) {
            if (tp_s3_parse_iso_time(x->text, x->tlen, &c->mtime)) return list_fail(c, "a LastModified that is not an ISO 8601 time");
            c->have_time = 1;
        }
    }
    return 0;
}

tp_status tp_s3_parse_list(const char *xml, size_t len, tp_store_list *out, int *truncated,
                           char token[TP_S3_TOKEN_MAX], tp_err *err) {
    list_ctx c;
    memset(&c, 0, sizeof c);
    c.out = out;
    c.token = token;
    c.err = err;
    token[0] = 0;
    *truncated = 0;
    const char *why;
    if (xml_walk(xml, len, on_list, &c, &why)) {
        if (why) return tp_fail(err, TP_ERR_FORMAT, "malformed ListObjectsV2 response: %s", why);
        return c.st;
    }
    if (!c.have_truncated) return tp_fail(err, TP_ERR_FORMAT, "malformed ListObjectsV2 response: no IsTruncated");
    if (c.truncated && !c.have_token)
        return tp_fail(err, TP_ERR_FORMAT, "malformed ListObjectsV2 response: truncated without NextContinuationToken");
    *truncated = c.truncated;
    return TP_OK;
}

/* ---- Error ---- */

typedef struct {
    char *code, *msg;
    size_t code_n, msg_n;
    int is_error, have_code;
} error_ctx;

static void printable_copy(char *dst, size_t n, const char *src, size_t len) {
    if (!n) return;
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[k] = 0;
}

static int on_error(void *vc, const xml_state *x, int end) {
    error_ctx *c = vc;
    const char *name = local_name(x->name[x->depth - 1]);
    if (x->depth == 1 && !end) c->is_error = !strcmp(name, "Error");
    if (x->depth != 2 || !end || !c->is_error) return 0;
    if (!strcmp(name, "Code")) {
        printable_copy(c->code, c->code_n, x->text, x->tlen);
        c->have_code = x->tlen > 0;
    } else if (!strcmp(name, "Message")) {
        printable_copy(c->msg, c->msg_n, x->text, x->tlen);
    }
    return 0;
}

tp_status tp_s3_parse_error(const char *xml, size_t len, char *code, size_t code_n, char *msg, size_t msg_n) {
    if (code_n) code[0] = 0;
    if (msg_n) msg[0] = 0;
    error_ctx c = {code, msg, code_n, msg_n, 0, 0};
    const char *why;
    if (xml_walk(xml, len, on_error, &c, &why) || !c.is_error || !c.have_code) {
        if (code_n) code[0] = 0;
        if (msg_n) msg[0] = 0;
        return TP_ERR_FORMAT;
    }
    return TP_OK;
}
