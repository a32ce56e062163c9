/* frame-metadata v14/v15 on real Subtensor runtimes (spec 143 v14, spec 218 in v14 and v15): pallet
 * and call indices, call arguments, storage layouts, signed extensions; malformed metadata
 * (truncated at every point, corrupted, trailing bytes, bad magic or version, dangling type ids)
 * refused with a message and without a crash; allocation failures reported. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdlib.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "substrate/metadata.h"
#include "substrate/scale.h"
#include "substrate_test_util.h"

static const tp_md_type *ty(const tp_metadata *md, uint32_t id) {
    cr_assert_lt(id, md->n_types);
    return &md->types[id];
}

static void expect_prim(const tp_metadata *md, uint32_t id, tp_prim p, const char *what) {
    const tp_md_type *t = ty(md, tp_md_resolve(md, id));
    cr_expect(t->kind == TP_TY_PRIMITIVE && t->prim == p, "%s: kind %d prim %d, want primitive %d", what, t->kind,
              t->prim, p);
}

/* AccountId32: a newtype of [u8; 32]. */
static void expect_account(const tp_metadata *md, uint32_t id, const char *what) {
    cr_expect_str_eq(ty(md, id)->path, "sp_core::crypto::AccountId32", "%s", what);
    const tp_md_type *t = ty(md, tp_md_resolve(md, id));
    cr_expect(t->kind == TP_TY_ARRAY && t->len == 32, "%s: resolves to kind %d len %u", what, t->kind, t->len);
    expect_prim(md, t->elem, TP_PRIM_U8, what);
}

static const tp_md_variant *call(const tp_metadata *md, const char *pallet, const char *name) {
    const tp_md_pallet *p = tp_md_find_pallet(md, pallet);
    cr_assert_not_null(p, "no pallet %s", pallet);
    const tp_md_variant *v = tp_md_find_call(md, p, name);
    cr_assert_not_null(v, "no call %s.%s", pallet, name);
    return v;
}

static void check_subtensor_calls(const tp_metadata *md) {
    const tp_md_pallet *p = tp_md_find_pallet(md, "SubtensorModule");
    cr_assert_not_null(p);
    cr_expect_eq(p->index, 7);
    cr_expect_eq(tp_md_pallet_at(md, 7), p);
    cr_expect(p->has_calls && p->has_events && p->has_errors);

    const tp_md_variant *br = call(md, "SubtensorModule", "burned_register");
    cr_assert_eq(br->n_fields, 2);
    cr_expect_str_eq(br->fields[0].name, "netuid");
    expect_prim(md, br->fields[0].type, TP_PRIM_U16, "burned_register.netuid");
    cr_expect_str_eq(br->fields[1].name, "hotkey");
    expect_account(md, br->fields[1].type, "burned_register.hotkey");
    cr_expect_eq(tp_md_variant_tagged(md, p->calls_type, br->index), br);

    const tp_md_variant *sw = call(md, "SubtensorModule", "set_weights");
    static const char *const names[] = {"netuid", "dests", "weights", "version_key"};
    cr_assert_eq(sw->n_fields, 4);
    for (int i = 0; i < 4; i++) cr_expect_str_eq(sw->fields[i].name, names[i]);
    for (int i = 1; i <= 2; i++) {
        const tp_md_type *seq = ty(md, sw->fields[i].type);
        cr_expect_eq(seq->kind, TP_TY_SEQUENCE, "%s", names[i]);
        expect_prim(md, seq->elem, TP_PRIM_U16, names[i]);
    }
    expect_prim(md, sw->fields[3].type, TP_PRIM_U64, "version_key");
    cr_expect_null(tp_md_find_call(md, p, "no_such_call"));
    cr_expect_null(tp_md_find_pallet(md, "subtensormodule"), "lookups are case-sensitive");
}

Test(substrate, metadata_143_pallets_and_calls) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    cr_expect_eq(md->version, 14);
    cr_expect_eq(md->extrinsic_version, 4);
    cr_expect_gt(md->n_types, 100);
    check_subtensor_calls(md);
    /* System.SS58Prefix is Bittensor's 42, a u16. */
    const tp_md_constant *c = tp_md_find_constant(tp_md_find_pallet(md, "System"), "SS58Prefix");
    cr_assert_not_null(c);
    cr_expect(c->value_len == 2 && c->value[0] == 42 && c->value[1] == 0);
    expect_prim(md, c->type, TP_PRIM_U16, "SS58Prefix");
    tp_metadata_free(md);
}

Test(substrate, metadata_storage_layouts) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    const tp_md_pallet *st = tp_md_find_pallet(md, "SubtensorModule");
    cr_expect_str_eq(st->storage_prefix, "SubtensorModule");
    const tp_md_storage *uids = tp_md_find_storage(st, "Uids");
    cr_assert_not_null(uids);
    cr_assert_eq(uids->n_hashers, 2);
    cr_expect_eq(uids->hashers[0], TP_HASH_IDENTITY);
    cr_expect_eq(uids->hashers[1], TP_HASH_BLAKE2_128_CONCAT);
    cr_expect_eq(uids->optional, 1);
    const tp_md_type *key = ty(md, uids->key_type);
    cr_assert(key->kind == TP_TY_TUPLE && key->n_tuple == 2);
    expect_prim(md, key->tuple[0], TP_PRIM_U16, "Uids key 0");
    expect_account(md, key->tuple[1], "Uids key 1");
    expect_prim(md, uids->value_type, TP_PRIM_U16, "Uids value");

    const tp_md_pallet *sys = tp_md_find_pallet(md, "System");
    const tp_md_storage *acc = tp_md_find_storage(sys, "Account");
    cr_assert_not_null(acc);
    cr_assert_eq(acc->n_hashers, 1);
    cr_expect_eq(acc->hashers[0], TP_HASH_BLAKE2_128_CONCAT);
    cr_expect_eq(acc->optional, 0);
    expect_account(md, acc->key_type, "System.Account key");
    cr_expect_str_eq(ty(md, acc->value_type)->path, "frame_system::AccountInfo");
    /* AccountInfo's default: four u32 counters and AccountData's four balances, all zero (Bittensor's
     * balances are u64). */
    const tp_md_type *info = ty(md, acc->value_type);
    cr_assert_eq(info->n_fields, 5);
    const tp_md_type *data = ty(md, info->fields[4].type);
    cr_expect_str_eq(data->path, "pallet_balances::AccountData");
    cr_assert_eq(data->n_fields, 4);
    for (int i = 0; i < 4; i++) expect_prim(md, data->fields[i].type, TP_PRIM_U64, data->fields[i].name);
    cr_assert_eq(acc->default_len, 4 * 4 + 4 * 8);
    for (size_t i = 0; i < acc->default_len; i++) cr_expect_eq(acc->default_value[i], 0);

    const tp_md_storage *now = tp_md_find_storage(tp_md_find_pallet(md, "Timestamp"), "Now");
    cr_assert_not_null(now);
    cr_expect(now->n_hashers == 0 && !now->optional && now->default_len == 8);
    expect_prim(md, now->value_type, TP_PRIM_U64, "Timestamp.Now");
    cr_expect_null(tp_md_find_storage(sys, "account"));
    tp_metadata_free(md);
}

Test(substrate, metadata_143_signed_extensions) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    static const char *const want[] = {"CheckNonZeroSender", "CheckSpecVersion",     "CheckTxVersion",
                                       "CheckGenesis",       "CheckMortality",       "CheckNonce",
                                       "CheckWeight",        "ChargeTransactionPayment", "SubtensorSignedExtension",
                                       "CommitmentsSignedExtension"};
    for (uint32_t i = 0; i < md->n_signed_exts; i++) {
        const tp_md_signed_ext *e = &md->signed_exts[i];
        cr_log_info("spec 143 signed extension %u: %s (extra type %u %s, additional type %u)", i, e->identifier,
                    e->extra_type, ty(md, e->extra_type)->path, e->additional_type);
    }
    cr_assert_eq(md->n_signed_exts, sizeof want / sizeof *want);
    for (uint32_t i = 0; i < md->n_signed_exts; i++) cr_expect_str_eq(md->signed_exts[i].identifier, want[i]);
    /* CheckNonce sends Compact<u32> (through a newtype); CheckGenesis signs the genesis hash. */
    const tp_md_type *nonce = ty(md, tp_md_resolve(md, md->signed_exts[5].extra_type));
    cr_expect_eq(nonce->kind, TP_TY_COMPACT);
    cr_expect(tp_md_is_empty(md, md->signed_exts[3].extra_type), "CheckGenesis sends nothing");
    cr_expect(!tp_md_is_empty(md, md->signed_exts[3].additional_type), "CheckGenesis signs a hash");
    cr_expect_str_eq(ty(md, md->signed_exts[3].additional_type)->path, "primitive_types::H256");
    tp_metadata_free(md);
}

/* Two metadata of the same runtime have different type ids: compare types by structure. */
static void expect_same_type(const tp_metadata *a, uint32_t ta, const tp_metadata *b, uint32_t tb, int depth,
                             const char *what) {
    if (depth > 6) return;
    const tp_md_type *x = ty(a, ta), *y = ty(b, tb);
    cr_assert(x->kind == y->kind && !strcmp(x->path, y->path), "%s: kind %d '%s' vs %d '%s'", what, x->kind, x->path,
              y->kind, y->path);
    switch (x->kind) {
    case TP_TY_COMPOSITE:
        cr_assert_eq(x->n_fields, y->n_fields, "%s", what);
        for (uint32_t i = 0; i < x->n_fields; i++)
            expect_same_type(a, x->fields[i].type, b, y->fields[i].type, depth + 1, what);
        break;
    case TP_TY_VARIANT: cr_assert_eq(x->n_variants, y->n_variants, "%s", what); break;
    case TP_TY_SEQUENCE:
    case TP_TY_COMPACT: expect_same_type(a, x->elem, b, y->elem, depth + 1, what); break;
    case TP_TY_ARRAY:
        cr_assert_eq(x->len, y->len, "%s", what);
        expect_same_type(a, x->elem, b, y->elem, depth + 1, what);
        break;
    case TP_TY_TUPLE:
        cr_assert_eq(x->n_tuple, y->n_tuple, "%s", what);
        for (uint32_t i = 0; i < x->n_tuple; i++) expect_same_type(a, x->tuple[i], b, y->tuple[i], depth + 1, what);
        break;
    case TP_TY_PRIMITIVE: cr_assert_eq(x->prim, y->prim, "%s", what); break;
    case TP_TY_BITSEQ: break;
    }
}

static void expect_same_pallet(const tp_metadata *a, const tp_md_pallet *p, const tp_metadata *b,
                               const tp_md_pallet *q) {
    cr_assert_str_eq(p->name, q->name);
    cr_expect_eq(p->index, q->index, "%s", p->name);
    cr_assert_eq(p->has_calls, q->has_calls, "%s", p->name);
    if (p->has_calls) {
        const tp_md_type *c = ty(a, p->calls_type), *d = ty(b, q->calls_type);
        cr_assert_eq(c->n_variants, d->n_variants, "%s calls", p->name);
        for (uint32_t i = 0; i < c->n_variants; i++) {
            const tp_md_variant *x = &c->variants[i], *y = &d->variants[i];
            cr_expect(!strcmp(x->name, y->name) && x->index == y->index, "%s.%s", p->name, x->name);
            cr_assert_eq(x->n_fields, y->n_fields, "%s.%s", p->name, x->name);
            for (uint32_t j = 0; j < x->n_fields; j++) {
                cr_expect_str_eq(x->fields[j].name, y->fields[j].name);
                expect_same_type(a, x->fields[j].type, b, y->fields[j].type, 0, x->name);
            }
        }
    }
    cr_assert_eq(p->n_storage, q->n_storage, "%s storage", p->name);
    for (uint32_t i = 0; i < p->n_storage; i++) {
        const tp_md_storage *s = &p->storage[i], *t = &q->storage[i];
        cr_expect_str_eq(s->name, t->name);
        cr_expect(s->n_hashers == t->n_hashers && s->optional == t->optional && s->default_len == t->default_len &&
                      (!s->n_hashers || !memcmp(s->hashers, t->hashers, s->n_hashers * sizeof *s->hashers)) &&
                      !memcmp(s->default_value, t->default_value, s->default_len),
                  "%s.%s", p->name, s->name);
        expect_same_type(a, s->value_type, b, t->value_type, 0, s->name);
    }
    cr_assert_eq(p->n_constants, q->n_constants, "%s constants", p->name);
    for (uint32_t i = 0; i < p->n_constants; i++)
        cr_expect(!strcmp(p->constants[i].name, q->constants[i].name) &&
                      p->constants[i].value_len == q->constants[i].value_len &&
                      !memcmp(p->constants[i].value, q->constants[i].value, p->constants[i].value_len),
                  "%s.%s", p->name, p->constants[i].name);
}

Test(substrate, metadata_218_v14_and_v15_agree) {
    tp_metadata *a = sub_load_metadata("metadata-218-v14.bin"), *b = sub_load_metadata("metadata-218-v15.bin");
    cr_expect_eq(a->version, 14);
    cr_expect_eq(b->version, 15);
    cr_assert_eq(a->n_pallets, b->n_pallets);
    cr_expect_geq(a->n_pallets, 20);
    for (uint32_t i = 0; i < a->n_pallets; i++) expect_same_pallet(a, &a->pallets[i], b, &b->pallets[i]);
    cr_assert_eq(a->n_signed_exts, b->n_signed_exts);
    for (uint32_t i = 0; i < a->n_signed_exts; i++)
        cr_expect_str_eq(a->signed_exts[i].identifier, b->signed_exts[i].identifier);
    cr_expect_str_eq(a->signed_exts[a->n_signed_exts - 1].identifier, "CheckMetadataHash");
    check_subtensor_calls(a);
    check_subtensor_calls(b);
    tp_metadata_free(a);
    tp_metadata_free(b);
}

static tp_status parse(const uint8_t *b, size_t n, tp_err *err) {
    tp_metadata *md = NULL;
    tp_status st = tp_metadata_parse(b, n, &md, err);
    if (!st) tp_metadata_free(md);
    else cr_assert_null(md);
    return st;
}

Test(substrate, metadata_refuses_bad_header_and_trailing_bytes) {
    size_t len;
    uint8_t *b = sub_read_fixture("metadata-143-v14.bin", &len);
    tp_err err;
    uint8_t *more = malloc(len + 1);
    memcpy(more, b, len);
    more[len] = 0;
    cr_expect_eq(parse(more, len + 1, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: 1 trailing bytes after the v14 metadata");
    more[4] = 13;
    cr_expect_eq(parse(more, len, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: version 13 is not supported (only 14 and 15)");
    more[4] = 15; /* a v14 body read as v15 must not parse */
    cr_expect_eq(parse(more, len, &err), TP_ERR_FORMAT);
    cr_log_info("v14 body as v15: %s", err.msg);
    more[4] = 14;
    more[0] = 'M';
    cr_expect_eq(parse(more, len, &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "magic"), "%s", err.msg);
    cr_expect_eq(parse((const uint8_t *)"meta", 4, &err), TP_ERR_FORMAT);
    cr_expect_eq(parse((const uint8_t *)"", 0, &err), TP_ERR_FORMAT);
    free(more);
    free(b);
}

Test(substrate, metadata_every_truncation_refused) {
    static const char *const files[] = {"metadata-143-v14.bin", "metadata-218-v15.bin"};
    for (int f = 0; f < 2; f++) {
        size_t len;
        uint8_t *b = sub_read_fixture(files[f], &len);
        size_t tried = 0;
        for (size_t n = 0; n < len; n += n < 512 || len - n < 512 ? 1 : 257) {
            /* A copy of exactly n bytes, so that reading past it is an ASan error. */
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, b, n);
            tp_err err = {0};
            tp_status st = parse(cut, n, &err);
            cr_assert_eq(st, TP_ERR_FORMAT, "%s cut at %zu: status %d (%s)", files[f], n, st, err.msg);
            cr_assert(!strncmp(err.msg, "metadata: ", 10), "%s", err.msg);
            if (n == len / 2) cr_log_info("%s cut at %zu: %s", files[f], n, err.msg);
            free(cut);
            tried++;
        }
        cr_log_info("%s: %zu truncations refused", files[f], tried);
        free(b);
    }
}

Test(substrate, metadata_corruptions_never_crash) {
    size_t len;
    uint8_t *b = sub_read_fixture("metadata-143-v14.bin", &len);
    uint64_t x = 12345;
    int ok = 0, refused = 0;
    for (int i = 0; i < 600; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = 5 + (size_t)(x >> 33) % (len - 5);
        uint8_t old = b[at];
        b[at] ^= (uint8_t)(1u << ((x >> 20) % 8));
        tp_err err = {0};
        tp_status st = parse(b, len, &err);
        cr_assert(st == TP_OK || st == TP_ERR_FORMAT, "flip at %zu: status %d (%s)", at, st, err.msg);
        st ? refused++ : ok++;
        b[at] = old;
    }
    cr_log_info("600 single-bit flips: %d still parse (docs, names), %d refused", ok, refused);
    cr_expect_gt(refused, 0);
    free(b);
}

/* ---- hand-built metadata: the checks a real file never trips ---- */

static void put_str(tp_scale_buf *b, const char *s) { tp_scale_put_vec(b, s, strlen(s)); }

/* "meta", v14, one type (u8, id `id`), the pallets written by `pallets`, extrinsic type `ext_ty`. */
static void build(tp_scale_buf *b, uint32_t id, uint32_t ext_ty, void (*pallets)(tp_scale_buf *)) {
    tp_scale_buf_init(b);
    tp_scale_put_bytes(b, "meta", 4);
    tp_scale_put_u8(b, 14);
    tp_scale_put_compact(b, 1);                              /* one type */
    tp_scale_put_compact(b, id);                             /* its id */
    tp_scale_put_compact(b, 0);                              /* path */
    tp_scale_put_compact(b, 0);                              /* params */
    tp_scale_put_u8(b, TP_TY_PRIMITIVE);
    tp_scale_put_u8(b, TP_PRIM_U8);
    tp_scale_put_compact(b, 0);                              /* docs */
    if (pallets) pallets(b);
    else tp_scale_put_compact(b, 0);
    tp_scale_put_compact(b, ext_ty);                         /* extrinsic type */
    tp_scale_put_u8(b, 4);                                   /* version */
    tp_scale_put_compact(b, 0);                              /* signed extensions */
    tp_scale_put_compact(b, 0);                              /* runtime type */
}

static void one_pallet(tp_scale_buf *b, uint8_t index) {
    put_str(b, "P");
    tp_scale_put_u8(b, 0);      /* storage: None */
    tp_scale_put_u8(b, 0);      /* calls */
    tp_scale_put_u8(b, 0);      /* events */
    tp_scale_put_compact(b, 0); /* constants */
    tp_scale_put_u8(b, 0);      /* errors */
    tp_scale_put_u8(b, index);
}

static void two_same_index(tp_scale_buf *b) {
    tp_scale_put_compact(b, 2);
    one_pallet(b, 3);
    one_pallet(b, 3);
}

static void calls_not_variant(tp_scale_buf *b) {
    tp_scale_put_compact(b, 1);
    put_str(b, "P");
    tp_scale_put_u8(b, 0);
    tp_scale_put_u8(b, 1); /* calls: Some(type 0), a u8 */
    tp_scale_put_compact(b, 0);
    tp_scale_put_u8(b, 0);
    tp_scale_put_compact(b, 0);
    tp_scale_put_u8(b, 0);
    tp_scale_put_u8(b, 0);
}

Test(substrate, metadata_hand_built_checks) {
    tp_scale_buf b;
    tp_err err;
    build(&b, 0, 0, NULL);
    cr_assert_eq(parse(b.data, b.len, &err), TP_OK, "%s", err.msg);
    tp_scale_buf_free(&b);

    build(&b, 1, 0, NULL);
    cr_expect_eq(parse(b.data, b.len, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: type 0: has id 1 (ids must be 0, 1, 2, ... in order)");
    tp_scale_buf_free(&b);

    build(&b, 0, 5, NULL);
    cr_expect_eq(parse(b.data, b.len, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: extrinsic: extrinsic type: type id 5 is out of range (1 types)");
    tp_scale_buf_free(&b);

    build(&b, 0, 0, two_same_index);
    cr_expect_eq(parse(b.data, b.len, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: pallet 1 (P): index 3 is also pallet 0's (P)");
    tp_scale_buf_free(&b);

    build(&b, 0, 0, calls_not_variant);
    cr_expect_eq(parse(b.data, b.len, &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "metadata: pallet 0 (P): calls type 0 is not a variant type");
    tp_scale_buf_free(&b);

    /* A hostile count: 2^30 types in a few bytes is refused before any allocation. */
    uint8_t hostile[] = {'m', 'e', 't', 'a', 14, 0x03, 0, 0, 0, 0x40, 0, 0};
    cr_expect_eq(parse(hostile, sizeof hostile, &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "types") && strstr(err.msg, "needs at least"), "%s", err.msg);
}

Test(substrate, metadata_empty_types) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    int units = 0, seen_empty_composite = 0;
    for (uint32_t i = 0; i < md->n_types; i++) {
        const tp_md_type *t = &md->types[i];
        if (t->kind == TP_TY_TUPLE && !t->n_tuple) {
            cr_expect(tp_md_is_empty(md, i), "unit tuple %u", i);
            units++;
        }
        if (t->kind == TP_TY_COMPOSITE && t->n_fields && tp_md_is_empty(md, i)) seen_empty_composite++;
        if (t->kind == TP_TY_PRIMITIVE || t->kind == TP_TY_VARIANT || t->kind == TP_TY_SEQUENCE)
            cr_expect(!tp_md_is_empty(md, i), "type %u (kind %d) is never empty", i, t->kind);
    }
    cr_expect_gt(units, 0);
    cr_log_info("%d unit tuples, %d non-trivial composites that encode to nothing", units, seen_empty_composite);
    cr_expect_eq(tp_md_is_empty(md, md->n_types), 0, "an out-of-range id is not empty");
    tp_metadata_free(md);
}

typedef struct {
    uint8_t *bytes;
    size_t len;
} af_ctx;

static tp_status af_unit(void *ctx, tp_err *err) {
    af_ctx *c = ctx;
    tp_metadata *md = NULL;
    tp_status st = tp_metadata_parse(c->bytes, c->len, &md, err);
    if (!st) {
        cr_assert_not_null(tp_md_find_call(md, tp_md_find_pallet(md, "SubtensorModule"), "set_weights"));
        tp_metadata_free(md);
    } else {
        cr_assert_null(md);
    }
    return st;
}

static void af_check(void *ctx, tp_status st, const tp_err *err, int fired) {
    (void)ctx;
    (void)fired;
    cr_assert(st == TP_OK || (st == TP_ERR_NOMEM && strstr(err->msg, "metadata")), "%d %s", st, err->msg);
}

Test(substrate, metadata_allocation_failures) {
    af_ctx c;
    c.bytes = sub_read_fixture("metadata-218-v15.bin", &c.len);
    long n = af_run_all(af_unit, af_check, &c, 1, AF_OURS);
    cr_log_info("parsing spec 218 v15 takes %ld allocations", n);
    free(c.bytes);
}
