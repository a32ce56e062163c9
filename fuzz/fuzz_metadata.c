/* libFuzzer target for the metadata parser (frame-metadata v14/v15 from an RPC endpoint): any input
 * is parsed or refused with TP_ERR_FORMAT (TP_ERR_NOMEM aside), and accepted metadata holds only
 * type ids inside the registry, pallets found by their names and indices, and walkable types. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const tp_metadata *md, uint32_t ty) {
    if (ty >= md->n_types) abort();
}

static void check_fields(const tp_metadata *md, const tp_md_field *f, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        check_id(md, f[i].type);
        if ((f[i].name && strlen(f[i].name) > 1u << 26) || (f[i].type_name && strlen(f[i].type_name) > 1u << 26)) abort();
    }
}

static void check_type(const tp_metadata *md, uint32_t id) {
    const tp_md_type *t = &md->types[id];
    if (!t->path) abort();
    switch (t->kind) {
    case TP_TY_COMPOSITE: check_fields(md, t->fields, t->n_fields); break;
    case TP_TY_VARIANT:
        for (uint32_t i = 0; i < t->n_variants; i++) {
            check_fields(md, t->variants[i].fields, t->variants[i].n_fields);
            if (tp_md_variant_tagged(md, id, t->variants[i].index) != &t->variants[i]) abort(); /* tags unique */
        }
        break;
    case TP_TY_SEQUENCE:
    case TP_TY_ARRAY:
    case TP_TY_COMPACT: check_id(md, t->elem); break;
    case TP_TY_TUPLE:
        for (uint32_t i = 0; i < t->n_tuple; i++) check_id(md, t->tuple[i]);
        break;
    case TP_TY_PRIMITIVE:
        if (t->prim > TP_PRIM_I256) abort();
        break;
    case TP_TY_BITSEQ:
        check_id(md, t->elem);
        check_id(md, t->bit_order);
        break;
    default: abort();
    }
    check_id(md, tp_md_resolve(md, id));
    (void)tp_md_is_empty(md, id);
}

static void check_pallet(const tp_metadata *md, const tp_md_pallet *p) {
    if (tp_md_find_pallet(md, p->name) != p || tp_md_pallet_at(md, p->index) != p) abort();
    for (uint32_t i = 0; i < p->n_storage; i++) {
        const tp_md_storage *s = &p->storage[i];
        if (!p->storage_prefix || (s->n_hashers && !s->hashers)) abort();
        check_id(md, s->value_type);
        if (s->n_hashers) check_id(md, s->key_type);
        for (uint32_t h = 0; h < s->n_hashers; h++)
            if (s->hashers[h] > TP_HASH_IDENTITY) abort();
        const tp_md_type *k = s->n_hashers > 1 ? &md->types[s->key_type] : NULL;
        if (k && (k->kind != TP_TY_TUPLE || k->n_tuple != s->n_hashers)) abort();
        volatile uint8_t sink = s->default_len ? s->default_value[s->default_len - 1] : 0;
        (void)sink;
    }
    for (uint32_t i = 0; i < p->n_constants; i++) check_id(md, p->constants[i].type);
    if (p->has_calls && md->types[p->calls_type].kind != TP_TY_VARIANT) abort();
    if (p->has_events && md->types[p->events_type].kind != TP_TY_VARIANT) abort();
    if (p->has_errors && md->types[p->errors_type].kind != TP_TY_VARIANT) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* exactly size bytes, so an over-read is caught */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    tp_metadata *md = NULL;
    tp_err err;
    if (tp_metadata_parse(buf, size, &md, &err) == TP_OK) {
        free(buf); /* the parsed metadata must not point into the input */
        buf = NULL;
        if (md->version != 14 && md->version != 15) abort();
        for (uint32_t i = 0; i < md->n_types; i++) check_type(md, i);
        for (uint32_t i = 0; i < md->n_pallets; i++) check_pallet(md, &md->pallets[i]);
        for (uint32_t i = 0; i < md->n_signed_exts; i++) {
            check_id(md, md->signed_exts[i].extra_type);
            check_id(md, md->signed_exts[i].additional_type);
        }
        tp_metadata_free(md);
    } else if (md || (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM)) {
        abort();
    }
    free(buf);
    return 0;
}
