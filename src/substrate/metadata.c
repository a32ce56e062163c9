#include "substrate/metadata.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"
#include "substrate/scale.h"

/* ---- arena: everything parsed lives in a few big blocks, freed together ---- */

typedef struct md_block {
    struct md_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} md_block;

/* What md->arena points to: the blocks, and the per-type facts computed once after parsing. */
typedef struct {
    md_block *head;
    size_t next_cap;
    uint8_t *empty; /* empty[ty]: the type encodes to no bytes */
} md_arena;

#define ALIGN alignof(max_align_t)

static md_block *block_new(size_t cap, tp_err *err) {
    if (cap > SIZE_MAX - sizeof(md_block)) {
        tp_fail(err, TP_ERR_NOMEM, "out of memory: block of %zu bytes", cap);
        return NULL;
    }
    md_block *b = tp_malloc(sizeof *b + cap, err);
    if (b) {
        b->next = NULL;
        b->used = 0;
        b->cap = cap;
    }
    return b;
}

static void *arena_alloc(md_arena *a, size_t n, tp_err *err) {
    if (n > SIZE_MAX - ALIGN) {
        tp_fail(err, TP_ERR_NOMEM, "out of memory: %zu bytes", n);
        return NULL;
    }
    n = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (a->head->cap - a->head->used < n) {
        size_t cap = n > a->next_cap ? n : a->next_cap;
        md_block *b = block_new(cap, err);
        if (!b) return NULL;
        b->next = a->head;
        a->head = b;
        if (a->next_cap < SIZE_MAX / 4) a->next_cap *= 2;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static void *arena_array(md_arena *a, size_t count, size_t size, tp_err *err) {
    if (size && count > SIZE_MAX / size) {
        tp_fail(err, TP_ERR_NOMEM, "out of memory: %zu elements of %zu bytes", count, size);
        return NULL;
    }
    return arena_alloc(a, count * size, err);
}

/* The arena lives in its own first block. */
static md_arena *arena_new(size_t first_cap, tp_err *err) {
    md_block *b = block_new(first_cap + sizeof(md_arena) + ALIGN, err);
    if (!b) return NULL;
    md_arena *a = (md_arena *)b->data;
    b->used = (sizeof *a + ALIGN - 1) & ~(ALIGN - 1);
    a->head = b;
    a->next_cap = first_cap;
    a->empty = NULL;
    return a;
}

static void arena_free(md_arena *a) {
    md_block *b = a ? a->head : NULL;
    while (b) {
        md_block *next = b->next;
        free(b);
        b = next;
    }
}

/* ---- parser state and primitives ---- */

typedef struct {
    tp_scale_reader r;
    md_arena *a;
    tp_metadata *md;
    tp_err *err;
} parser;

#define MAX_COUNT UINT32_MAX

/* A count of elements of at least min_size bytes each. */
static tp_status get_count(parser *P, size_t min_size, uint32_t *n, const char *what) {
    size_t x;
    tp_status st = tp_scale_get_len(&P->r, min_size, MAX_COUNT, &x, what, P->err);
    if (!st) *n = (uint32_t)x;
    return st;
}

static tp_status get_u8(parser *P, uint8_t *v, const char *what) { return tp_scale_get_u8(&P->r, v, what, P->err); }

static tp_status get_option(parser *P, bool *present, const char *what) {
    uint8_t tag;
    tp_status st = get_u8(P, &tag, what);
    if (st) return st;
    if (tag > 1) return tp_fail(P->err, TP_ERR_FORMAT, "%s: option tag is %u, not 0 or 1", what, tag);
    *present = tag;
    return TP_OK;
}

static tp_status get_type_id(parser *P, uint32_t *ty, const char *what) {
    uint64_t x;
    tp_status st = tp_scale_get_compact(&P->r, &x, what, P->err);
    if (st) return st;
    if (x >= P->md->n_types)
        return tp_fail(P->err, TP_ERR_FORMAT, "%s: type id %llu is out of range (%u types)", what,
                       (unsigned long long)x, P->md->n_types);
    *ty = (uint32_t)x;
    return TP_OK;
}

/* A string kept as a NUL-terminated copy: valid UTF-8 without NUL bytes (names become JSON keys). */
static tp_status get_str(parser *P, const char **out, const char *what) {
    const uint8_t *p;
    size_t n;
    tp_status st = tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, &n, what, P->err);
    if (st) return st;
    if (memchr(p, 0, n)) return tp_fail(P->err, TP_ERR_FORMAT, "%s: string holds a NUL byte", what);
    char *s = arena_alloc(P->a, n + 1, P->err);
    if (!s) return TP_ERR_NOMEM;
    memcpy(s, p, n);
    s[n] = 0;
    if (!tp_utf8_valid(s)) return tp_fail(P->err, TP_ERR_FORMAT, "%s: string is not valid UTF-8", what);
    *out = s;
    return TP_OK;
}

static tp_status get_opt_str(parser *P, const char **out, const char *what) {
    bool present = false;
    tp_status st = get_option(P, &present, what);
    *out = NULL;
    return st || !present ? st : get_str(P, out, what);
}

/* A byte string kept as a copy (defaults, constant values). */
static tp_status get_blob(parser *P, const uint8_t **out, size_t *n, const char *what) {
    const uint8_t *p;
    tp_status st = tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, n, what, P->err);
    if (st) return st;
    uint8_t *copy = arena_alloc(P->a, *n, P->err);
    if (!copy) return TP_ERR_NOMEM;
    if (*n) memcpy(copy, p, *n);
    *out = copy;
    return TP_OK;
}

static tp_status skip_str(parser *P, const char *what) {
    const uint8_t *p;
    size_t n;
    return tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, &n, what, P->err);
}

static tp_status skip_docs(parser *P) {
    uint32_t n;
    tp_status st = get_count(P, 1, &n, "docs");
    for (uint32_t i = 0; !st && i < n; i++) st = skip_str(P, "doc line");
    return st;
}

/* Wraps an error with "<what> <i>" or "<what> <i> (<name>)". */
static tp_status wrap_at(parser *P, const char *what, uint32_t i, const char *name) {
    if (name) return tp_wrap(P->err, "%s %u (%.80s)", what, i, name);
    return tp_wrap(P->err, "%s %u", what, i);
}

/* ---- the type registry (scale-info PortableRegistry) ---- */

/* Path segments joined with "::", in one copy: the first pass measures, the second copies. */
static tp_status get_path(parser *P, const char **out) {
    uint32_t n;
    tp_status st = get_count(P, 1, &n, "path");
    if (st) return st;
    size_t start = P->r.pos, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        if ((st = tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, &len, "path segment", P->err))) return st;
        if (memchr(p, 0, len)) return tp_fail(P->err, TP_ERR_FORMAT, "path segment %u holds a NUL byte", i);
        total += len + 2;
    }
    char *s = arena_alloc(P->a, total + 1, P->err);
    if (!s) return TP_ERR_NOMEM;
    size_t at = 0;
    P->r.pos = start;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        if ((st = tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, &len, "path segment", P->err))) return st;
        if (i) {
            memcpy(s + at, "::", 2);
            at += 2;
        }
        memcpy(s + at, p, len);
        at += len;
    }
    s[at] = 0;
    if (!tp_utf8_valid(s)) return tp_fail(P->err, TP_ERR_FORMAT, "path is not valid UTF-8");
    *out = s;
    return TP_OK;
}

static tp_status get_type_params(parser *P) {
    uint32_t n;
    tp_status st = get_count(P, 2, &n, "type parameters");
    for (uint32_t i = 0; !st && i < n; i++) {
        bool present = false;
        uint32_t ty;
        if ((st = skip_str(P, "type parameter name"))) break;
        if ((st = get_option(P, &present, "type parameter type"))) break;
        if (present) st = get_type_id(P, &ty, "type parameter type");
    }
    return st;
}

static tp_status get_fields(parser *P, uint32_t *n_out, const tp_md_field **out) {
    uint32_t n;
    tp_status st = get_count(P, 4, &n, "fields");
    if (st) return st;
    tp_md_field *f = arena_array(P->a, n, sizeof *f, P->err);
    if (!f) return TP_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if ((st = get_opt_str(P, &f[i].name, "field name")) || (st = get_type_id(P, &f[i].type, "field type")) ||
            (st = get_opt_str(P, &f[i].type_name, "field type name")) || (st = skip_docs(P)))
            return wrap_at(P, "field", i, f[i].name);
    }
    *n_out = n;
    *out = f;
    return TP_OK;
}

static tp_status get_variants(parser *P, tp_md_type *t) {
    uint32_t n;
    tp_status st = get_count(P, 4, &n, "variants");
    if (st) return st;
    tp_md_variant *v = arena_array(P->a, n, sizeof *v, P->err);
    if (!v) return TP_ERR_NOMEM;
    uint8_t seen[32] = {0};
    for (uint32_t i = 0; i < n; i++) {
        if ((st = get_str(P, &v[i].name, "variant name")) || (st = get_fields(P, &v[i].n_fields, &v[i].fields)) ||
            (st = get_u8(P, &v[i].index, "variant index")) || (st = skip_docs(P)))
            return wrap_at(P, "variant", i, v[i].name);
        uint8_t tag = v[i].index;
        if (seen[tag / 8] & (1u << (tag % 8)))
            return tp_fail(P->err, TP_ERR_FORMAT, "variant %u (%.80s): index %u is used twice", i, v[i].name, tag);
        seen[tag / 8] |= (uint8_t)(1u << (tag % 8));
    }
    t->n_variants = n;
    t->variants = v;
    return TP_OK;
}

static tp_status get_tuple(parser *P, tp_md_type *t) {
    tp_status st = get_count(P, 1, &t->n_tuple, "tuple");
    if (st) return st;
    uint32_t *ids = arena_array(P->a, t->n_tuple, sizeof *ids, P->err);
    if (!ids) return TP_ERR_NOMEM;
    for (uint32_t i = 0; !st && i < t->n_tuple; i++) st = get_type_id(P, &ids[i], "tuple element");
    t->tuple = ids;
    return st;
}

static tp_status get_type_def(parser *P, tp_md_type *t) {
    uint8_t tag, prim;
    tp_status st = get_u8(P, &tag, "type definition tag");
    if (st) return st;
    switch (tag) {
    case TP_TY_COMPOSITE: st = get_fields(P, &t->n_fields, &t->fields); break;
    case TP_TY_VARIANT: st = get_variants(P, t); break;
    case TP_TY_SEQUENCE: st = get_type_id(P, &t->elem, "sequence element"); break;
    case TP_TY_ARRAY:
        if (!(st = tp_scale_get_u32(&P->r, &t->len, "array length", P->err)))
            st = get_type_id(P, &t->elem, "array element");
        break;
    case TP_TY_TUPLE: st = get_tuple(P, t); break;
    case TP_TY_PRIMITIVE:
        if ((st = get_u8(P, &prim, "primitive"))) break;
        if (prim > TP_PRIM_I256) return tp_fail(P->err, TP_ERR_FORMAT, "unknown primitive tag %u", prim);
        t->prim = (tp_prim)prim;
        break;
    case TP_TY_COMPACT: st = get_type_id(P, &t->elem, "compact element"); break;
    case TP_TY_BITSEQ:
        if (!(st = get_type_id(P, &t->elem, "bit store type"))) st = get_type_id(P, &t->bit_order, "bit order type");
        break;
    default: return tp_fail(P->err, TP_ERR_FORMAT, "unknown type definition tag %u", tag);
    }
    t->kind = (tp_ty_kind)tag;
    return st;
}

static tp_status get_types(parser *P) {
    uint32_t n;
    tp_status st = get_count(P, 6, &n, "types");
    if (st) return tp_wrap(P->err, "types");
    tp_md_type *types = arena_array(P->a, n, sizeof *types, P->err);
    if (!types) return TP_ERR_NOMEM;
    P->md->n_types = n; /* known before the first type, so references ahead are checked too */
    P->md->types = types;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id;
        if ((st = tp_scale_get_compact(&P->r, &id, "type id", P->err))) return wrap_at(P, "type", i, NULL);
        if (id != i)
            return tp_fail(P->err, TP_ERR_FORMAT, "type %u: has id %llu (ids must be 0, 1, 2, ... in order)", i,
                           (unsigned long long)id);
        if ((st = get_path(P, &types[i].path)) || (st = get_type_params(P)) || (st = get_type_def(P, &types[i])) ||
            (st = skip_docs(P)))
            return wrap_at(P, "type", i, types[i].path && *types[i].path ? types[i].path : NULL);
    }
    return TP_OK;
}

/* ---- pallets ---- */

static tp_status get_storage_type(parser *P, tp_md_storage *s) {
    uint8_t tag;
    tp_status st = get_u8(P, &tag, "storage entry type");
    if (st) return st;
    if (tag == 0) return get_type_id(P, &s->value_type, "storage value type");
    if (tag != 1) return tp_fail(P->err, TP_ERR_FORMAT, "unknown storage entry type tag %u", tag);
    if ((st = get_count(P, 1, &s->n_hashers, "hashers"))) return st;
    if (!s->n_hashers) return tp_fail(P->err, TP_ERR_FORMAT, "map has no hashers");
    tp_md_hasher *h = arena_array(P->a, s->n_hashers, sizeof *h, P->err);
    if (!h) return TP_ERR_NOMEM;
    for (uint32_t i = 0; i < s->n_hashers; i++) {
        uint8_t x;
        if ((st = get_u8(P, &x, "hasher"))) return st;
        if (x > TP_HASH_IDENTITY) return tp_fail(P->err, TP_ERR_FORMAT, "unknown hasher tag %u", x);
        h[i] = (tp_md_hasher)x;
    }
    s->hashers = h;
    if ((st = get_type_id(P, &s->key_type, "storage key type"))) return st;
    const tp_md_type *k = &P->md->types[s->key_type];
    if (s->n_hashers > 1 && (k->kind != TP_TY_TUPLE || k->n_tuple != s->n_hashers))
        return tp_fail(P->err, TP_ERR_FORMAT, "map has %u hashers but its key type %u is not a tuple of %u",
                       s->n_hashers, s->key_type, s->n_hashers);
    return get_type_id(P, &s->value_type, "storage value type");
}

static tp_status get_storage_entry(parser *P, tp_md_storage *s) {
    uint8_t modifier;
    tp_status st = get_str(P, &s->name, "storage entry name");
    if (!st) st = get_u8(P, &modifier, "storage modifier");
    if (st) return st;
    if (modifier > 1) return tp_fail(P->err, TP_ERR_FORMAT, "unknown storage modifier %u", modifier);
    s->optional = modifier == 0;
    if ((st = get_storage_type(P, s)) || (st = get_blob(P, &s->default_value, &s->default_len, "storage default")))
        return st;
    return skip_docs(P);
}

static tp_status get_storage(parser *P, tp_md_pallet *p) {
    bool present = false;
    tp_status st = get_option(P, &present, "storage");
    if (st || !present) return st;
    if ((st = get_str(P, &p->storage_prefix, "storage prefix")) ||
        (st = get_count(P, 6, &p->n_storage, "storage entries")))
        return st;
    tp_md_storage *s = arena_array(P->a, p->n_storage, sizeof *s, P->err);
    if (!s) return TP_ERR_NOMEM;
    for (uint32_t i = 0; i < p->n_storage; i++)
        if ((st = get_storage_entry(P, &s[i]))) return wrap_at(P, "storage entry", i, s[i].name);
    p->storage = s;
    return TP_OK;
}

/* An optional {ty} that must be a variant type (calls, events, errors). */
static tp_status get_enum_ref(parser *P, int *has, uint32_t *ty, const char *what) {
    bool present = false;
    tp_status st = get_option(P, &present, what);
    if (st || !present) return st;
    if ((st = get_type_id(P, ty, what))) return st;
    if (P->md->types[*ty].kind != TP_TY_VARIANT)
        return tp_fail(P->err, TP_ERR_FORMAT, "%s type %u is not a variant type", what, *ty);
    *has = 1;
    return TP_OK;
}

static tp_status get_constants(parser *P, tp_md_pallet *p) {
    tp_status st = get_count(P, 4, &p->n_constants, "constants");
    if (st) return st;
    tp_md_constant *c = arena_array(P->a, p->n_constants, sizeof *c, P->err);
    if (!c) return TP_ERR_NOMEM;
    for (uint32_t i = 0; i < p->n_constants; i++) {
        if ((st = get_str(P, &c[i].name, "constant name")) || (st = get_type_id(P, &c[i].type, "constant type")) ||
            (st = get_blob(P, &c[i].value, &c[i].value_len, "constant value")) || (st = skip_docs(P)))
            return wrap_at(P, "constant", i, c[i].name);
    }
    p->constants = c;
    return TP_OK;
}

static tp_status get_pallet(parser *P, tp_md_pallet *p) {
    tp_status st;
    if ((st = get_str(P, &p->name, "pallet name")) || (st = get_storage(P, p)) ||
        (st = get_enum_ref(P, &p->has_calls, &p->calls_type, "calls")) ||
        (st = get_enum_ref(P, &p->has_events, &p->events_type, "events")) || (st = get_constants(P, p)) ||
        (st = get_enum_ref(P, &p->has_errors, &p->errors_type, "errors")) ||
        (st = get_u8(P, &p->index, "pallet index")))
        return st;
    return P->md->version >= 15 ? skip_docs(P) : TP_OK;
}

/* Pallets are found by name and by index: both must be unique. */
static tp_status check_pallet_unique(parser *P, uint32_t i) {
    const tp_md_pallet *ps = P->md->pallets;
    for (uint32_t j = 0; j < i; j++) {
        if (ps[j].index == ps[i].index)
            return tp_fail(P->err, TP_ERR_FORMAT, "index %u is also pallet %u's (%.80s)", ps[i].index, j, ps[j].name);
        if (!strcmp(ps[j].name, ps[i].name))
            return tp_fail(P->err, TP_ERR_FORMAT, "name is also pallet %u's", j);
    }
    return TP_OK;
}

static tp_status get_pallets(parser *P) {
    uint32_t n;
    tp_status st = get_count(P, 7, &n, "pallets");
    if (st) return tp_wrap(P->err, "pallets");
    if (n > 256) return tp_fail(P->err, TP_ERR_FORMAT, "%u pallets, more than 256 distinct indices allow", n);
    tp_md_pallet *ps = arena_array(P->a, n, sizeof *ps, P->err);
    if (!ps) return TP_ERR_NOMEM;
    P->md->pallets = ps;
    for (uint32_t i = 0; i < n; i++) {
        P->md->n_pallets = i + 1;
        if ((st = get_pallet(P, &ps[i])) || (st = check_pallet_unique(P, i))) return wrap_at(P, "pallet", i, ps[i].name);
    }
    return TP_OK;
}

/* ---- extrinsic and the v15 tail ---- */

static tp_status get_signed_exts(parser *P) {
    tp_metadata *md = P->md;
    tp_status st = get_count(P, 3, &md->n_signed_exts, "signed extensions");
    if (st) return st;
    tp_md_signed_ext *e = arena_array(P->a, md->n_signed_exts, sizeof *e, P->err);
    if (!e) return TP_ERR_NOMEM;
    for (uint32_t i = 0; i < md->n_signed_exts; i++) {
        if ((st = get_str(P, &e[i].identifier, "identifier")) || (st = get_type_id(P, &e[i].extra_type, "type")) ||
            (st = get_type_id(P, &e[i].additional_type, "additional signed type")))
            return wrap_at(P, "signed extension", i, e[i].identifier);
    }
    md->signed_exts = e;
    return TP_OK;
}

static tp_status get_extrinsic(parser *P) {
    uint32_t ty;
    tp_status st;
    if (P->md->version == 14) {
        if ((st = get_type_id(P, &ty, "extrinsic type")) ||
            (st = get_u8(P, &P->md->extrinsic_version, "extrinsic version")))
            return st;
    } else {
        if ((st = get_u8(P, &P->md->extrinsic_version, "extrinsic version"))) return st;
        static const char *const what[] = {"address type", "call type", "signature type", "extra type"};
        for (int i = 0; i < 4; i++)
            if ((st = get_type_id(P, &ty, what[i]))) return st;
    }
    return get_signed_exts(P);
}

static tp_status get_api_method(parser *P) {
    uint32_t n, ty;
    tp_status st;
    if ((st = skip_str(P, "method name")) || (st = get_count(P, 2, &n, "method inputs"))) return st;
    for (uint32_t i = 0; i < n; i++)
        if ((st = skip_str(P, "input name")) || (st = get_type_id(P, &ty, "input type"))) return st;
    if ((st = get_type_id(P, &ty, "method output"))) return st;
    return skip_docs(P);
}

static tp_status get_apis(parser *P) {
    uint32_t n;
    tp_status st = get_count(P, 3, &n, "runtime APIs");
    for (uint32_t i = 0; !st && i < n; i++) {
        uint32_t m;
        if ((st = skip_str(P, "API name")) || (st = get_count(P, 4, &m, "API methods"))) break;
        for (uint32_t j = 0; !st && j < m; j++)
            if ((st = get_api_method(P))) st = wrap_at(P, "method", j, NULL);
        if (!st) st = skip_docs(P);
        if (st) st = wrap_at(P, "runtime API", i, NULL);
    }
    return st;
}

static tp_status get_v15_tail(parser *P) {
    uint32_t ty, n;
    tp_status st = get_apis(P);
    if (st) return st;
    static const char *const outer[] = {"outer call enum", "outer event enum", "outer error enum"};
    for (int i = 0; i < 3; i++)
        if ((st = get_type_id(P, &ty, outer[i]))) return st;
    if ((st = get_count(P, 3, &n, "custom metadata"))) return st;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        if ((st = skip_str(P, "custom key")) || (st = get_type_id(P, &ty, "custom type")) ||
            (st = tp_scale_get_vec(&P->r, TP_MD_MAX_BYTES, &p, &len, "custom value", P->err)))
            return wrap_at(P, "custom entry", i, NULL);
    }
    return TP_OK;
}

/* ---- after parsing: which types encode to nothing ---- */

/* The type's children whose emptiness decides its own (none for kinds that always take bytes). A
 * compact of an empty type (Compact<()>) encodes to nothing, as parity-scale-codec does. */
static uint32_t n_children(const tp_md_type *t) {
    if (t->kind == TP_TY_COMPOSITE) return t->n_fields;
    if (t->kind == TP_TY_TUPLE) return t->n_tuple;
    return (t->kind == TP_TY_ARRAY && t->len) || t->kind == TP_TY_COMPACT ? 1 : 0;
}

static uint32_t child(const tp_md_type *t, uint32_t i) {
    return t->kind == TP_TY_COMPOSITE ? t->fields[i].type : t->kind == TP_TY_TUPLE ? t->tuple[i] : t->elem;
}

static bool may_be_empty(const tp_md_type *t) {
    return t->kind == TP_TY_COMPOSITE || t->kind == TP_TY_TUPLE || t->kind == TP_TY_ARRAY || t->kind == TP_TY_COMPACT;
}

/* A type is empty when it may be and all its children are: the least fixed point, found with a
 * work list over the reverse edges (no recursion, so deep or cyclic registries cost O(types +
 * edges); a cycle never becomes empty). */
static tp_status settle_all_empty(parser *P) {
    const tp_metadata *md = P->md;
    uint32_t n = md->n_types;
    size_t edges = 0;
    for (uint32_t i = 0; i < n; i++) edges += n_children(&md->types[i]);
    uint8_t *empty = arena_alloc(P->a, n, P->err);
    /* Work space in one allocation: pending[n], start[n + 1], queue[n], parents[edges]. */
    uint32_t *pending = empty ? tp_calloc(3 * (size_t)n + 1 + edges, sizeof *pending, P->err) : NULL;
    if (!pending) return TP_ERR_NOMEM;
    uint32_t *start = pending + n, *queue = start + n + 1, *parents = queue + n, qn = 0;
    for (uint32_t i = 0; i < n; i++) {
        const tp_md_type *t = &md->types[i];
        pending[i] = n_children(t);
        for (uint32_t j = 0; j < pending[i]; j++) start[child(t, j) + 1]++;
        if (may_be_empty(t) && !pending[i]) queue[qn++] = i;
    }
    for (uint32_t i = 0; i < n; i++) start[i + 1] += start[i];
    for (uint32_t i = 0; i < n; i++) /* fill, then shift start back */
        for (uint32_t j = 0; j < n_children(&md->types[i]); j++) parents[start[child(&md->types[i], j)]++] = i;
    for (uint32_t i = n; i > 0; i--) start[i] = start[i - 1];
    start[0] = 0;
    for (uint32_t q = 0; q < qn; q++) {
        uint32_t c = queue[q];
        empty[c] = 1;
        for (uint32_t e = start[c]; e < start[c + 1]; e++)
            if (--pending[parents[e]] == 0) queue[qn++] = parents[e];
    }
    free(pending);
    P->a->empty = empty;
    return TP_OK;
}

/* ---- entry points ---- */

static tp_status parse_body(parser *P) {
    tp_status st;
    uint32_t ty;
    if ((st = get_types(P)) || (st = get_pallets(P))) return st;
    if ((st = get_extrinsic(P))) return tp_wrap(P->err, "extrinsic");
    if ((st = get_type_id(P, &ty, "runtime type"))) return st;
    if (P->md->version >= 15 && (st = get_v15_tail(P))) return st;
    if (tp_scale_left(&P->r))
        return tp_fail(P->err, TP_ERR_FORMAT, "%zu trailing bytes after the v%u metadata", tp_scale_left(&P->r),
                       P->md->version);
    return settle_all_empty(P);
}

tp_status tp_metadata_parse(const uint8_t *bytes, size_t len, tp_metadata **out, tp_err *err) {
    *out = NULL;
    if (len > TP_MD_MAX_BYTES)
        return tp_fail(err, TP_ERR_FORMAT, "metadata: %zu bytes, more than the limit of %u", len, TP_MD_MAX_BYTES);
    if (len < 5 || memcmp(bytes, "meta", 4))
        return tp_fail(err, TP_ERR_FORMAT, "metadata: does not start with the magic \"meta\" and a version byte");
    if (bytes[4] != 14 && bytes[4] != 15)
        return tp_fail(err, TP_ERR_FORMAT, "metadata: version %u is not supported (only 14 and 15)", bytes[4]);
    /* Parsed metadata takes about as much memory as its bytes: start with one block of that size. */
    md_arena *a = arena_new(len + 4096, err);
    if (!a) return tp_wrap(err, "metadata");
    parser P = {.a = a, .err = err};
    tp_scale_reader_init(&P.r, bytes + 5, len - 5);
    P.md = arena_alloc(a, sizeof *P.md, err);
    if (!P.md) {
        arena_free(a);
        return tp_wrap(err, "metadata");
    }
    P.md->version = bytes[4];
    P.md->arena = a;
    tp_status st = parse_body(&P);
    if (st) {
        arena_free(a);
        return tp_wrap(err, "metadata");
    }
    *out = P.md;
    return TP_OK;
}

void tp_metadata_free(tp_metadata *md) {
    if (md) arena_free(md->arena);
}

/* ---- lookups ---- */

const tp_md_pallet *tp_md_find_pallet(const tp_metadata *md, const char *name) {
    for (uint32_t i = 0; i < md->n_pallets; i++)
        if (!strcmp(md->pallets[i].name, name)) return &md->pallets[i];
    return NULL;
}

const tp_md_pallet *tp_md_pallet_at(const tp_metadata *md, uint8_t index) {
    for (uint32_t i = 0; i < md->n_pallets; i++)
        if (md->pallets[i].index == index) return &md->pallets[i];
    return NULL;
}

const tp_md_storage *tp_md_find_storage(const tp_md_pallet *p, const char *name) {
    for (uint32_t i = 0; i < p->n_storage; i++)
        if (!strcmp(p->storage[i].name, name)) return &p->storage[i];
    return NULL;
}

const tp_md_constant *tp_md_find_constant(const tp_md_pallet *p, const char *name) {
    for (uint32_t i = 0; i < p->n_constants; i++)
        if (!strcmp(p->constants[i].name, name)) return &p->constants[i];
    return NULL;
}

const tp_md_variant *tp_md_variant_named(const tp_metadata *md, uint32_t ty, const char *name) {
    if (ty >= md->n_types || md->types[ty].kind != TP_TY_VARIANT) return NULL;
    const tp_md_type *t = &md->types[ty];
    for (uint32_t i = 0; i < t->n_variants; i++)
        if (!strcmp(t->variants[i].name, name)) return &t->variants[i];
    return NULL;
}

const tp_md_variant *tp_md_variant_tagged(const tp_metadata *md, uint32_t ty, uint8_t index) {
    if (ty >= md->n_types || md->types[ty].kind != TP_TY_VARIANT) return NULL;
    const tp_md_type *t = &md->types[ty];
    for (uint32_t i = 0; i < t->n_variants; i++)
        if (t->variants[i].index == index) return &t->variants[i];
    return NULL;
}

const tp_md_variant *tp_md_find_call(const tp_metadata *md, const tp_md_pallet *p, const char *name) {
    if (!p || !p->has_calls) return NULL;
    return tp_md_variant_named(md, p->calls_type, name);
}

uint32_t tp_md_resolve(const tp_metadata *md, uint32_t ty) {
    for (int i = 0; i < TP_MD_MAX_DEPTH && ty < md->n_types; i++) {
        const tp_md_type *t = &md->types[ty];
        if (t->kind != TP_TY_COMPOSITE || t->n_fields != 1) break;
        ty = t->fields[0].type;
    }
    return ty;
}

int tp_md_is_empty(const tp_metadata *md, uint32_t ty) {
    const md_arena *a = md->arena;
    return ty < md->n_types && a->empty && a->empty[ty];
}
