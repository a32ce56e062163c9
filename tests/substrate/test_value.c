/* JSON <-> SCALE by registry type. Real runtimes (spec 143 v14, spec 218 v14 and v15): our call
 * encodings against polkadot-js's (tests/substrate/value_ref.mjs, an independent implementation),
 * values decoded both ways, events and storage defaults. A hand-built registry covers each kind's
 * JSON shape, the Option rules, integer ranges and the decoder's refusals. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "core/hex.h"
#include "substrate/metadata.h"
#include "substrate/value.h"
#include "substrate_test_util.h"

#define ALICE "\"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d\""
#define BOB "\"0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48\""

static char *dump(const json_t *j) { return json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT); }

static size_t unhex(const char *s, uint8_t **out) {
    size_t n = strlen(s) / 2;
    *out = malloc(n ? n : 1);
    cr_assert_eq(tp_unhex(s, *out, n), 0, "bad hex in the test: %s", s);
    return n;
}

/* ---- calls against polkadot-js ---- */

typedef struct {
    const char *pallet, *call, *args;
} call_case;

static const call_case CALLS_143[] = {
    {"SubtensorModule", "burned_register", "{\"netuid\": 1, \"hotkey\": " ALICE "}"},
    {"SubtensorModule", "add_stake", "{\"hotkey\": " ALICE ", \"amount_staked\": 1000000000}"},
    {"SubtensorModule", "set_weights", "{\"netuid\": 3, \"dests\": [1, 2], \"weights\": [65535, 32768], \"version_key\": 0}"},
    {"SubtensorModule", "register_network", "{}"},
    {"SubtensorModule", "serve_axon",
     "{\"netuid\": 1, \"version\": 7, \"ip\": \"340282366920938463463374607431768211455\", \"port\": 8091, "
     "\"ip_type\": 4, \"protocol\": 0, \"placeholder1\": 0, \"placeholder2\": 255}"},
    {"Commitments", "set_commitment",
     "{\"netuid\": 1, \"info\": {\"fields\": [{\"Raw32\": "
     "\"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\"}]}}"},
    {"Sudo", "sudo",
     "{\"call\": {\"Utility\": {\"batch_all\": {\"calls\": ["
     "{\"AdminUtils\": {\"sudo_set_tempo\": {\"netuid\": 1, \"tempo\": 10}}},"
     "{\"AdminUtils\": {\"sudo_set_weights_set_rate_limit\": {\"netuid\": 1, \"weights_set_rate_limit\": 0}}},"
     "{\"SubtensorModule\": \"register_network\"}]}}}}"},
    {"Balances", "transfer_keep_alive", "{\"dest\": {\"Id\": " BOB "}, \"value\": \"18446744073709551615\"}"},
    {"System", "remark", "{\"remark\": \"0x68656c6c6f\"}"},
    {"Timestamp", "set", "{\"now\": 1700000000000}"},
};

static const call_case CALLS_218[] = {
    {"SubtensorModule", "burned_register", "{\"netuid\": 1, \"hotkey\": " ALICE "}"},
    {"SubtensorModule", "add_stake", "{\"hotkey\": " ALICE ", \"netuid\": 2, \"amount_staked\": 1000000000}"},
    {"SubtensorModule", "set_weights", "{\"netuid\": 3, \"dests\": [1, 2], \"weights\": [65535, 32768], \"version_key\": 0}"},
    {"SubtensorModule", "register_network", "{\"hotkey\": " ALICE ", \"mechid\": 1}"},
    {"SubtensorModule", "commit_weights",
     "{\"netuid\": 1, \"commit_hash\": \"0xffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\"}"},
    {"Commitments", "set_commitment",
     "{\"netuid\": 1, \"info\": {\"fields\": [{\"Raw32\": "
     "\"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\"}, \"None\", {\"Raw3\": \"0xabcdef\"}]}}"},
    {"Sudo", "sudo",
     "{\"call\": {\"Utility\": {\"batch_all\": {\"calls\": ["
     "{\"AdminUtils\": {\"sudo_set_tempo\": {\"netuid\": 1, \"tempo\": 10}}},"
     "{\"AdminUtils\": {\"sudo_set_commit_reveal_weights_enabled\": {\"netuid\": 1, \"enabled\": true}}},"
     "{\"SubtensorModule\": {\"register_network\": {\"hotkey\": " BOB ", \"mechid\": 0}}}]}}}}"},
    {"Balances", "transfer_keep_alive", "{\"dest\": {\"Id\": " BOB "}, \"value\": 5}"},
};

/* The registry's RuntimeCall: the type of Sudo.sudo's argument. */
static uint32_t runtime_call_type(const tp_metadata *md) {
    const tp_md_variant *sudo = tp_md_find_call(md, tp_md_find_pallet(md, "Sudo"), "sudo");
    cr_assert(sudo && sudo->n_fields == 1);
    return sudo->fields[0].type;
}

/* Our encoding of each call (hex strings), checked to decode back to the same JSON. */
static json_t *our_calls(const tp_metadata *md, const call_case *cases, size_t n) {
    json_t *out = json_array();
    uint32_t rc = runtime_call_type(md);
    for (size_t i = 0; i < n; i++) {
        json_t *args = sub_json(cases[i].args);
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_err err;
        cr_assert_eq(tp_value_encode_call(md, cases[i].pallet, cases[i].call, args, &b, &err), TP_OK, "%s.%s: %s",
                     cases[i].pallet, cases[i].call, err.msg);
        char *hex = sub_hex0x(b.data, b.len);
        json_array_append_new(out, json_string(hex));
        free(hex);
        /* Decoding the bytes as a RuntimeCall gives {"Pallet": {"call": args}} ("call" when no args). */
        json_t *back;
        cr_assert_eq(tp_value_decode_all(md, rc, b.data, b.len, &back, &err), TP_OK, "%s", err.msg);
        json_t *want = json_pack("{s:o}", cases[i].pallet, json_object_size(args) ? json_pack("{s:O}", cases[i].call, args)
                                                                                  : json_string(cases[i].call));
        char *got_s = dump(back), *want_s = dump(want);
        cr_expect(json_equal(back, want), "%s.%s decodes to\n%s\nwant\n%s", cases[i].pallet, cases[i].call, got_s, want_s);
        free(got_s);
        free(want_s);
        json_decref(want);
        json_decref(back);
        json_decref(args);
        tp_scale_buf_free(&b);
    }
    return out;
}

static json_t *call_requests(const call_case *cases, size_t n) {
    json_t *reqs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(reqs, json_pack("{s:[s,s],s:o}", "call", cases[i].pallet, cases[i].call, "args",
                                              sub_json(cases[i].args)));
    return reqs;
}

static void expect_same_lines(const json_t *ours, const json_t *ref, const call_case *cases, const char *what) {
    for (size_t i = 0; i < json_array_size(ours); i++) {
        const char *a = json_string_value(json_array_get(ours, i)), *b = json_string_value(json_array_get(ref, i));
        cr_expect_str_eq(a, b, "%s %s.%s: ours %s, polkadot-js %s", what, cases[i].pallet, cases[i].call, a, b);
        cr_log_info("%s %s.%s = %.120s", what, cases[i].pallet, cases[i].call, a);
    }
}

Test(substrate, value_calls_match_polkadot_js, .timeout = 120) {
    size_t n143 = sizeof CALLS_143 / sizeof *CALLS_143, n218 = sizeof CALLS_218 / sizeof *CALLS_218;
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    json_t *ours = our_calls(md, CALLS_143, n143), *reqs = call_requests(CALLS_143, n143);
    json_t *ref = sub_polkadot("metadata-143-v14.bin", reqs);
    expect_same_lines(ours, ref, CALLS_143, "spec 143");
    json_decref(ours);
    json_decref(ref);
    json_decref(reqs);
    tp_metadata_free(md);

    /* Spec 218 in v14 and in v15: both agree with polkadot-js (and so with each other). */
    static const char *const files[] = {"metadata-218-v14.bin", "metadata-218-v15.bin"};
    reqs = call_requests(CALLS_218, n218);
    for (int f = 0; f < 2; f++) {
        md = sub_load_metadata(files[f]);
        ours = our_calls(md, CALLS_218, n218);
        ref = sub_polkadot(files[f], reqs);
        expect_same_lines(ours, ref, CALLS_218, files[f]);
        json_decref(ours);
        json_decref(ref);
        tp_metadata_free(md);
    }
    json_decref(reqs);
}

/* ---- values decoded both ways ---- */

static uint32_t storage_value_type(const tp_metadata *md, const char *pallet, const char *entry) {
    const tp_md_storage *s = tp_md_find_storage(tp_md_find_pallet(md, pallet), entry);
    cr_assert_not_null(s, "%s.%s", pallet, entry);
    return s->value_type;
}

Test(substrate, value_account_info_both_ways, .timeout = 60) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    uint32_t ty = storage_value_type(md, "System", "Account");
    /* nonce 5, consumers 1, providers 2, sufficients 0; free 123456789012, reserved 7, frozen 0 and 1. */
    const char *hex = "05000000" "01000000" "02000000" "00000000"
                      "141a99be1c000000" "0700000000000000" "0000000000000000" "0100000000000000";
    uint8_t *bytes;
    size_t n = unhex(hex, &bytes);
    json_t *ours;
    tp_err err;
    cr_assert_eq(tp_value_decode_all(md, ty, bytes, n, &ours, &err), TP_OK, "%s", err.msg);
    char *s = dump(ours);
    cr_log_info("AccountInfo: %s", s);
    cr_expect_str_eq(s, "{\"nonce\":5,\"consumers\":1,\"providers\":2,\"sufficients\":0,\"data\":{\"free\":123456789012,"
                        "\"reserved\":7,\"misc_frozen\":0,\"fee_frozen\":1}}");
    free(s);

    /* polkadot-js decodes the same bytes to the same numbers, and encodes our JSON to the same bytes. */
    char *want = sub_hex0x(bytes, n);
    json_t *reqs = json_pack("[{s:i,s:s},{s:i,s:O}]", "type", (json_int_t)ty, "decode", want, "type", (json_int_t)ty,
                             "value", ours);
    json_t *ref = sub_polkadot("metadata-143-v14.bin", reqs);
    json_t *theirs = sub_json(json_string_value(json_array_get(ref, 0)));
    cr_expect_eq(json_integer_value(json_object_get(theirs, "len")), (json_int_t)n);
    json_t *tj = json_object_get(theirs, "json"), *td = json_object_get(tj, "data"), *od = json_object_get(ours, "data");
    static const char *const counters[] = {"nonce", "consumers", "providers", "sufficients"};
    for (int i = 0; i < 4; i++)
        cr_expect(json_equal(json_object_get(tj, counters[i]), json_object_get(ours, counters[i])), "%s", counters[i]);
    /* AccountData's keys are camelCase in polkadot-js: compare by position. */
    void *it = json_object_iter(td);
    const char *key;
    json_t *v;
    json_object_foreach(od, key, v) {
        cr_assert_not_null(it);
        cr_expect(json_equal(v, json_object_iter_value(it)), "data.%s", key);
        it = json_object_iter_next(td, it);
    }
    cr_expect_str_eq(json_string_value(json_array_get(ref, 1)), want);
    free(want);
    json_decref(theirs);
    json_decref(ref);
    json_decref(reqs);
    json_decref(ours);
    free(bytes);
    tp_metadata_free(md);
}

Test(substrate, value_storage_defaults_round_trip) {
    static const char *const files[] = {"metadata-143-v14.bin", "metadata-218-v14.bin", "metadata-218-v15.bin"};
    for (int f = 0; f < 3; f++) {
        tp_metadata *md = sub_load_metadata(files[f]);
        int decoded = 0;
        /* Every storage default and every constant decodes, and re-encodes to the same bytes. */
        for (uint32_t p = 0; p < md->n_pallets; p++) {
            const tp_md_pallet *pl = &md->pallets[p];
            for (uint32_t i = 0; i < pl->n_storage + pl->n_constants; i++) {
                int is_storage = i < pl->n_storage;
                const tp_md_storage *s = is_storage ? &pl->storage[i] : NULL;
                const tp_md_constant *c = is_storage ? NULL : &pl->constants[i - pl->n_storage];
                const char *name = is_storage ? s->name : c->name;
                uint32_t ty = is_storage ? s->value_type : c->type;
                const uint8_t *b = is_storage ? s->default_value : c->value;
                size_t n = is_storage ? s->default_len : c->value_len;
                if (is_storage && s->optional) continue; /* an Option default is None: not the value type */
                json_t *j;
                tp_err err;
                cr_assert_eq(tp_value_decode_all(md, ty, b, n, &j, &err), TP_OK, "%s %s.%s: %s", files[f], pl->name,
                             name, err.msg);
                tp_scale_buf out;
                tp_scale_buf_init(&out);
                cr_assert_eq(tp_value_encode(md, ty, j, &out, &err), TP_OK, "%s.%s: %s", pl->name, name, err.msg);
                cr_assert(out.len == n && (!n || !memcmp(out.data, b, n)), "%s.%s does not round-trip", pl->name, name);
                tp_scale_buf_free(&out);
                json_decref(j);
                decoded++;
            }
        }
        cr_log_info("%s: %d defaults and constants round-trip", files[f], decoded);
        cr_expect_gt(decoded, 100);
        tp_metadata_free(md);
    }
}

Test(substrate, value_events_both_ways, .timeout = 60) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    uint32_t ty = storage_value_type(md, "System", "Events");
    const tp_md_storage *ev = tp_md_find_storage(tp_md_find_pallet(md, "System"), "Events");
    json_t *j;
    tp_err err;
    cr_assert_eq(tp_value_decode_all(md, ty, ev->default_value, ev->default_len, &j, &err), TP_OK, "%s", err.msg);
    cr_expect(json_is_array(j) && json_array_size(j) == 0, "System.Events' default is no events");
    json_decref(j);

    const char *events =
        "[{\"phase\": {\"ApplyExtrinsic\": 1}, \"event\": {\"System\": {\"ExtrinsicSuccess\": {\"dispatch_info\": "
        "{\"weight\": {\"ref_time\": 123456789, \"proof_size\": 0}, \"class\": \"Normal\", \"pays_fee\": \"Yes\"}}}}, "
        "\"topics\": []},"
        " {\"phase\": \"Finalization\", \"event\": {\"SubtensorModule\": {\"WeightsSet\": [1, 2]}}, "
        "\"topics\": [\"0x1111111111111111111111111111111111111111111111111111111111111111\"]}]";
    json_t *in = sub_json(events);
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    cr_assert_eq(tp_value_encode(md, ty, in, &b, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_value_decode_all(md, ty, b.data, b.len, &j, &err), TP_OK, "%s", err.msg);
    cr_expect(json_equal(j, in), "events do not round-trip");
    json_decref(j);

    /* polkadot-js reads our bytes as the same two events, using all of them. */
    char *hex = sub_hex0x(b.data, b.len);
    json_t *reqs = json_pack("[{s:i,s:s}]", "type", (json_int_t)ty, "decode", hex);
    json_t *ref = sub_polkadot("metadata-143-v14.bin", reqs);
    const char *line = json_string_value(json_array_get(ref, 0));
    cr_log_info("polkadot-js reads our events as %.400s", line);
    json_t *theirs = sub_json(line);
    cr_expect_eq(json_integer_value(json_object_get(theirs, "len")), (json_int_t)b.len);
    json_t *list = json_object_get(theirs, "json");
    cr_assert_eq(json_array_size(list), 2);
    json_t *e0 = json_object_get(json_array_get(list, 0), "event"), *e1 = json_object_get(json_array_get(list, 1), "event");
    cr_expect_str_eq(json_string_value(json_object_get(e0, "index")), "0x0000"); /* System, event 0 */
    json_t *ws = json_object_get(e1, "data"), *want_ws = json_pack("[i,i]", 1, 2);
    cr_expect(json_equal(ws, want_ws), "WeightsSet data");
    json_decref(want_ws);
    char idx[8];
    const tp_md_pallet *st = tp_md_find_pallet(md, "SubtensorModule");
    snprintf(idx, sizeof idx, "0x%02x%02x", st->index, tp_md_variant_named(md, st->events_type, "WeightsSet")->index);
    cr_expect_str_eq(json_string_value(json_object_get(e1, "index")), idx);
    free(hex);
    json_decref(theirs);
    json_decref(ref);
    json_decref(reqs);
    json_decref(in);
    tp_scale_buf_free(&b);
    tp_metadata_free(md);
}

/* ---- errors on real calls name the path ---- */

static void expect_call_error(const tp_metadata *md, const char *pallet, const char *call, const char *args,
                              const char *msg) {
    json_t *a = sub_json(args);
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_err err;
    cr_expect_eq(tp_value_encode_call(md, pallet, call, a, &b, &err), TP_ERR_ARG, "%s accepted", args);
    cr_expect_str_eq(err.msg, msg);
    tp_scale_buf_free(&b);
    json_decref(a);
}

Test(substrate, value_call_errors_name_the_path) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    expect_call_error(md, "SubtensorModule", "set_weights",
                      "{\"netuid\": 1, \"dests\": [1, 70000], \"weights\": [1, 1], \"version_key\": 0}",
                      "SubtensorModule.set_weights.dests[1]: 70000 is out of range for u16");
    expect_call_error(md, "SubtensorModule", "set_weights", "{\"netuid\": 1, \"dests\": [], \"version_key\": 0}",
                      "SubtensorModule.set_weights: missing field 'weights'");
    expect_call_error(md, "SubtensorModule", "set_weights",
                      "{\"netuid\": 1, \"dests\": [], \"weights\": [], \"version_key\": 0, \"uids\": []}",
                      "SubtensorModule.set_weights: unexpected field 'uids'");
    expect_call_error(md, "SubtensorModule", "burned_register", "{\"netuid\": -1, \"hotkey\": " ALICE "}",
                      "SubtensorModule.burned_register.netuid: -1 is out of range for u16");
    expect_call_error(md, "SubtensorModule", "burned_register", "{\"netuid\": 1, \"hotkey\": \"0x00ff\"}",
                      "SubtensorModule.burned_register.hotkey: expected 32 bytes, got 2");
    expect_call_error(md, "SubtensorModule", "burned_register", "{\"netuid\": 1.5, \"hotkey\": " ALICE "}",
                      "SubtensorModule.burned_register.netuid: expected an integer (u16) or a decimal string");
    expect_call_error(md, "SubtensorModule", "add_stake", "{\"hotkey\": " ALICE ", \"amount_staked\": \"1e9\"}",
                      "SubtensorModule.add_stake.amount_staked: \"1e9\" is not a decimal integer");
    expect_call_error(md, "SubtensorModule", "add_stake",
                      "{\"hotkey\": " ALICE ", \"amount_staked\": \"18446744073709551616\"}",
                      "SubtensorModule.add_stake.amount_staked: 18446744073709551616 is out of range for u64");
    expect_call_error(md, "Commitments", "set_commitment", "{\"netuid\": 1, \"info\": {\"fields\": [{\"Raw200\": \"0x\"}]}}",
                      "Commitments.set_commitment.info.fields[0]: pallet_commitments::types::Data has no variant 'Raw200'");
    expect_call_error(md, "Sudo", "sudo", "{\"call\": {\"SubtensorModule\": \"burned_register\"}}",
                      "Sudo.sudo.call.SubtensorModule: variant 'burned_register' has fields: write {\"burned_register\": …}");
    expect_call_error(md, "Nope", "x", "{}", "the runtime has no pallet 'Nope'");
    expect_call_error(md, "System", "nope", "{}", "pallet System has no call 'nope'");
    expect_call_error(md, "System", "remark", "[]", "System.remark: the arguments are not a JSON object");
    tp_metadata_free(md);
}

/* ---- a hand-built registry: every kind and rule ---- */

static void put_str(tp_scale_buf *b, const char *s) { tp_scale_put_vec(b, s, strlen(s)); }

/* One type: id, a one-segment path ("" for none), no parameters; the caller writes the definition. */
static void begin(tp_scale_buf *b, uint32_t id, const char *path) {
    tp_scale_put_compact(b, id);
    tp_scale_put_compact(b, *path ? 1 : 0);
    if (*path) put_str(b, path);
    tp_scale_put_compact(b, 0);
}
static void end(tp_scale_buf *b) { tp_scale_put_compact(b, 0); } /* docs */

static void prim(tp_scale_buf *b, uint32_t id, tp_prim p) {
    begin(b, id, "");
    tp_scale_put_u8(b, TP_TY_PRIMITIVE);
    tp_scale_put_u8(b, (uint8_t)p);
    end(b);
}

/* A field list: names NULL for unnamed. */
static void fields(tp_scale_buf *b, int n, const char *const *names, const uint32_t *types) {
    tp_scale_put_compact(b, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        tp_scale_put_u8(b, names && names[i] ? 1 : 0);
        if (names && names[i]) put_str(b, names[i]);
        tp_scale_put_compact(b, types[i]);
        tp_scale_put_u8(b, 0); /* type name */
        tp_scale_put_compact(b, 0);
    }
}

static void composite(tp_scale_buf *b, uint32_t id, int n, const char *const *names, const uint32_t *types) {
    begin(b, id, "");
    tp_scale_put_u8(b, TP_TY_COMPOSITE);
    fields(b, n, names, types);
    end(b);
}

static void option(tp_scale_buf *b, uint32_t id, uint32_t inner) {
    begin(b, id, "Option");
    tp_scale_put_u8(b, TP_TY_VARIANT);
    tp_scale_put_compact(b, 2);
    put_str(b, "None");
    fields(b, 0, NULL, NULL);
    tp_scale_put_u8(b, 0);
    tp_scale_put_compact(b, 0);
    put_str(b, "Some");
    fields(b, 1, NULL, &inner);
    tp_scale_put_u8(b, 1);
    tp_scale_put_compact(b, 0);
    end(b);
}

static void one_elem(tp_scale_buf *b, uint32_t id, tp_ty_kind kind, uint32_t elem) {
    begin(b, id, "");
    tp_scale_put_u8(b, (uint8_t)kind);
    tp_scale_put_compact(b, elem);
    end(b);
}

static void foo_variant(tp_scale_buf *b, uint32_t id) {
    begin(b, id, "Foo");
    tp_scale_put_u8(b, TP_TY_VARIANT);
    tp_scale_put_compact(b, 4);
    static const char *const xy[] = {"x", "y"};
    static const uint32_t u8s[] = {0, 0};
    put_str(b, "A");
    fields(b, 0, NULL, NULL);
    tp_scale_put_u8(b, 0);
    tp_scale_put_compact(b, 0);
    put_str(b, "B");
    fields(b, 1, NULL, u8s);
    tp_scale_put_u8(b, 1);
    tp_scale_put_compact(b, 0);
    put_str(b, "C");
    fields(b, 2, xy, u8s);
    tp_scale_put_u8(b, 2);
    tp_scale_put_compact(b, 0);
    put_str(b, "D");
    fields(b, 2, NULL, u8s);
    tp_scale_put_u8(b, 5);
    tp_scale_put_compact(b, 0);
    end(b);
}

enum {
    T_U8, T_I8, T_I64, T_I128, T_U128, T_CHAR, T_STR, T_BOOL, T_OPT_U8, T_OPT_OPT_U8, T_UNIT, T_OPT_UNIT,
    T_COMPACT_U128, T_VEC_U8, T_ARR_U8_4, T_TUPLE, T_NAMED, T_NEWTYPE, T_VEC_UNIT, T_EMPTY, T_FOO, T_COMPACT_U8,
    T_BITSEQ, T_VEC_NEWTYPE, T_U256, T_DUP, T_ONE_NAMED, T_OPT3, T_LIST, T_OPT_LIST, T_COMPACT_UNIT, T_COUNT
};

static tp_metadata *hand_built(void) {
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_scale_put_bytes(&b, "meta", 4);
    tp_scale_put_u8(&b, 14);
    tp_scale_put_compact(&b, T_COUNT);
    prim(&b, T_U8, TP_PRIM_U8);
    prim(&b, T_I8, TP_PRIM_I8);
    prim(&b, T_I64, TP_PRIM_I64);
    prim(&b, T_I128, TP_PRIM_I128);
    prim(&b, T_U128, TP_PRIM_U128);
    prim(&b, T_CHAR, TP_PRIM_CHAR);
    prim(&b, T_STR, TP_PRIM_STR);
    prim(&b, T_BOOL, TP_PRIM_BOOL);
    option(&b, T_OPT_U8, T_U8);
    option(&b, T_OPT_OPT_U8, T_OPT_U8);
    begin(&b, T_UNIT, "");
    tp_scale_put_u8(&b, TP_TY_TUPLE);
    tp_scale_put_compact(&b, 0);
    end(&b);
    option(&b, T_OPT_UNIT, T_UNIT);
    one_elem(&b, T_COMPACT_U128, TP_TY_COMPACT, T_U128);
    one_elem(&b, T_VEC_U8, TP_TY_SEQUENCE, T_U8);
    begin(&b, T_ARR_U8_4, "");
    tp_scale_put_u8(&b, TP_TY_ARRAY);
    tp_scale_put_u32(&b, 4);
    tp_scale_put_compact(&b, T_U8);
    end(&b);
    begin(&b, T_TUPLE, "");
    tp_scale_put_u8(&b, TP_TY_TUPLE);
    tp_scale_put_compact(&b, 2);
    tp_scale_put_compact(&b, T_U8);
    tp_scale_put_compact(&b, T_STR);
    end(&b);
    static const char *const ab[] = {"a", "b"}, *const aa[] = {"a", "a"}, *const x[] = {"x"};
    static const char *const vn[] = {"v", "next"};
    composite(&b, T_NAMED, 2, ab, (const uint32_t[]){T_U8, T_OPT_U8});
    composite(&b, T_NEWTYPE, 1, NULL, (const uint32_t[]){T_U8});
    one_elem(&b, T_VEC_UNIT, TP_TY_SEQUENCE, T_UNIT);
    composite(&b, T_EMPTY, 0, NULL, NULL);
    foo_variant(&b, T_FOO);
    one_elem(&b, T_COMPACT_U8, TP_TY_COMPACT, T_U8);
    begin(&b, T_BITSEQ, "");
    tp_scale_put_u8(&b, TP_TY_BITSEQ);
    tp_scale_put_compact(&b, T_U8);
    tp_scale_put_compact(&b, T_UNIT);
    end(&b);
    one_elem(&b, T_VEC_NEWTYPE, TP_TY_SEQUENCE, T_NEWTYPE);
    prim(&b, T_U256, TP_PRIM_U256);
    composite(&b, T_DUP, 2, aa, (const uint32_t[]){T_U8, T_U8});
    composite(&b, T_ONE_NAMED, 1, x, (const uint32_t[]){T_U8});
    option(&b, T_OPT3, T_OPT_OPT_U8);
    composite(&b, T_LIST, 2, vn, (const uint32_t[]){T_U8, T_OPT_LIST}); /* a linked list: recursive */
    option(&b, T_OPT_LIST, T_LIST);
    one_elem(&b, T_COMPACT_UNIT, TP_TY_COMPACT, T_UNIT); /* encodes to nothing */
    tp_scale_put_compact(&b, 0); /* pallets */
    tp_scale_put_compact(&b, 0); /* extrinsic type */
    tp_scale_put_u8(&b, 4);
    tp_scale_put_compact(&b, 0);
    tp_scale_put_compact(&b, 0); /* runtime type */
    tp_metadata *md;
    tp_err err;
    cr_assert_eq(tp_scale_buf_check(&b, &err), TP_OK);
    cr_assert_eq(tp_metadata_parse(b.data, b.len, &md, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(md->n_types, T_COUNT);
    tp_scale_buf_free(&b);
    return md;
}

typedef struct {
    uint32_t ty;
    const char *json, *hex;
} shape_case;

/* Each JSON is the form decoding writes; encoding it gives hex, and decoding hex gives it back. */
static const shape_case SHAPES[] = {
    {T_U8, "0", "00"},
    {T_U8, "255", "ff"},
    {T_I8, "-1", "ff"},
    {T_I8, "-128", "80"},
    {T_I8, "127", "7f"},
    {T_I64, "-9223372036854775808", "0000000000000080"},
    {T_I128, "-1", "ffffffffffffffffffffffffffffffff"},
    {T_I128, "\"-170141183460469231731687303715884105728\"", "00000000000000000000000000000080"},
    {T_I128, "\"170141183460469231731687303715884105727\"", "ffffffffffffffffffffffffffffff7f"},
    {T_I128, "\"-9223372036854775809\"", "ffffffffffffff7fffffffffffffffff"},
    {T_U128, "9223372036854775807", "ffffffffffffff7f0000000000000000"},
    {T_U128, "\"9223372036854775808\"", "00000000000000800000000000000000"},
    {T_U128, "\"340282366920938463463374607431768211455\"", "ffffffffffffffffffffffffffffffff"},
    {T_CHAR, "\"a\"", "61000000"},
    {T_CHAR, "\"\\u00e9\"", "e9000000"},
    {T_CHAR, "\"\\ud83d\\ude00\"", "00f60100"}, /* U+1F600 */
    {T_STR, "\"h\\u00e9\"", "0c68c3a9"},
    {T_STR, "\"a\\u0000b\"", "0c610062"},
    {T_STR, "\"\"", "00"},
    {T_BOOL, "true", "01"},
    {T_BOOL, "false", "00"},
    {T_OPT_U8, "null", "00"},
    {T_OPT_U8, "5", "0105"},
    /* Option<Option<u8>>: the inner option can be null, so the outer is written as a variant. */
    {T_OPT_OPT_U8, "\"None\"", "00"},
    {T_OPT_OPT_U8, "{\"Some\": null}", "0100"},
    {T_OPT_OPT_U8, "{\"Some\": 5}", "010105"},
    {T_OPT3, "null", "00"},
    {T_OPT3, "\"None\"", "0100"},
    {T_OPT3, "{\"Some\": 7}", "01010107"},
    {T_UNIT, "null", ""},
    {T_OPT_UNIT, "\"None\"", "00"},
    {T_OPT_UNIT, "{\"Some\": null}", "01"},
    {T_COMPACT_U128, "0", "00"},
    {T_COMPACT_U128, "\"18446744073709551616\"", "170000000000000000" "01"},
    {T_COMPACT_U8, "255", "fd03"},
    {T_COMPACT_UNIT, "null", ""},
    {T_VEC_U8, "\"0xdeadbeef\"", "10deadbeef"},
    {T_VEC_U8, "\"0x\"", "00"},
    {T_ARR_U8_4, "\"0x01020304\"", "01020304"},
    {T_TUPLE, "[7, \"a\"]", "070461"},
    {T_NAMED, "{\"a\": 1, \"b\": null}", "0100"},
    {T_NAMED, "{\"a\": 1, \"b\": 2}", "010102"},
    {T_NEWTYPE, "9", "09"},
    {T_ONE_NAMED, "{\"x\": 9}", "09"},
    {T_VEC_UNIT, "[null, null, null]", "0c"},
    {T_EMPTY, "null", ""},
    {T_FOO, "\"A\"", "00"},
    {T_FOO, "{\"B\": 5}", "0105"},
    {T_FOO, "{\"C\": {\"x\": 1, \"y\": 2}}", "020102"},
    {T_FOO, "{\"D\": [1, 2]}", "050102"},
    {T_VEC_NEWTYPE, "\"0x0102\"", "080102"},
    {T_LIST, "{\"v\": 1, \"next\": {\"v\": 2, \"next\": null}}", "01010200"},
};

Test(substrate, value_shapes_round_trip) {
    tp_metadata *md = hand_built();
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        const shape_case *c = &SHAPES[i];
        json_t *in = sub_json(c->json);
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_err err;
        cr_assert_eq(tp_value_encode(md, c->ty, in, &b, &err), TP_OK, "case %zu %s: %s", i, c->json, err.msg);
        char *hex = malloc(2 * b.len + 1);
        tp_hex(b.data, b.len, hex);
        cr_expect_str_eq(hex, c->hex, "case %zu: %s encodes to %s, want %s", i, c->json, hex, c->hex);
        json_t *out;
        cr_assert_eq(tp_value_decode_all(md, c->ty, b.data, b.len, &out, &err), TP_OK, "case %zu: %s", i, err.msg);
        char *s = dump(out);
        cr_expect(json_equal(in, out), "case %zu: %s decodes to %s", i, c->json, s);
        free(s);
        free(hex);
        json_decref(out);
        json_decref(in);
        tp_scale_buf_free(&b);
    }
    tp_metadata_free(md);
}

/* Forms encoding also accepts (decoding writes the canonical one). */
Test(substrate, value_lenient_encode_forms) {
    static const shape_case cases[] = {
        {T_U8, "\"200\"", "c8"},
        {T_U128, "5", "05000000000000000000000000000000"},
        {T_I8, "\"-5\"", "fb"},
        {T_VEC_U8, "[1, 2]", "080102"},
        {T_VEC_U8, "\"0xABcd\"", "08abcd"},
        {T_ARR_U8_4, "[1, 2, 3, 4]", "01020304"},
        {T_EMPTY, "{}", ""},
        {T_UNIT, "[]", ""},
        {T_FOO, "{\"A\": null}", "00"},
    };
    tp_metadata *md = hand_built();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *in = sub_json(cases[i].json);
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_err err;
        cr_assert_eq(tp_value_encode(md, cases[i].ty, in, &b, &err), TP_OK, "%s: %s", cases[i].json, err.msg);
        char hex[64];
        tp_hex(b.data, b.len, hex);
        cr_expect_str_eq(hex, cases[i].hex, "%s", cases[i].json);
        json_decref(in);
        tp_scale_buf_free(&b);
    }
    tp_metadata_free(md);
}

typedef struct {
    uint32_t ty;
    const char *input, *msg; /* encode: input is JSON; decode: hex. msg: the whole message */
} error_case;

Test(substrate, value_encode_refusals) {
    static const error_case cases[] = {
        {T_U8, "256", "256 is out of range for u8"},
        {T_U8, "-1", "-1 is out of range for u8"},
        {T_I8, "-129", "-129 is out of range for i8"},
        {T_I128, "\"170141183460469231731687303715884105728\"",
         "170141183460469231731687303715884105728 is out of range for i128"},
        {T_U128, "\"340282366920938463463374607431768211456\"",
         "340282366920938463463374607431768211456 is out of range for u128"},
        {T_U8, "\" 1\"", "\" 1\" is not a decimal integer"},
        {T_U8, "true", "expected an integer (u8) or a decimal string"},
        {T_CHAR, "\"ab\"", "expected a string of one character"},
        {T_CHAR, "\"\"", "expected a string of one character"},
        {T_BOOL, "1", "expected true or false"},
        {T_STR, "1", "expected a string"},
        {T_U256, "1", "u256 values are not supported"},
        {T_BITSEQ, "[]", "bit sequences are not supported"},
        {T_VEC_U8, "\"0x123\"", "expected \"0x\" and an even number of hex digits"},
        {T_VEC_U8, "\"0x12zz\"", "not a hex digit at offset 4"},
        {T_ARR_U8_4, "[1, 2, 3]", "expected 4 elements, got 3"},
        {T_TUPLE, "[1]", "expected an array of 2 elements"},
        {T_TUPLE, "[1, 2]", "[1]: expected a string"},
        {T_NAMED, "[1, 2]", "expected an object with fields 'a', …"},
        {T_NAMED, "{\"a\": 1, \"b\": 300}", "b: 300 is out of range for u8"},
        {T_OPT_OPT_U8, "5", "expected a variant of Option: \"Name\" or {\"Name\": fields}"},
        {T_FOO, "\"E\"", "Foo has no variant 'E'"},
        {T_FOO, "{\"A\": 1, \"B\": 2}", "expected a variant of Foo: \"Name\" or {\"Name\": fields}"},
        {T_FOO, "{\"C\": {\"x\": 1}}", "C: missing field 'y'"},
        {T_FOO, "{\"A\": 5}", "A: expected null (a value without fields)"},
        {T_COMPACT_U8, "256", "256 is out of range for u8"},
        {T_EMPTY, "0", "expected null (a value without fields)"},
    };
    tp_metadata *md = hand_built();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *in = sub_json(cases[i].input);
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_err err;
        cr_expect_eq(tp_value_encode(md, cases[i].ty, in, &b, &err), TP_ERR_ARG, "%s accepted", cases[i].input);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu", i);
        json_decref(in);
        tp_scale_buf_free(&b);
    }
    /* The depth bound: a list nested deeper than TP_MD_MAX_DEPTH (each node is two levels). */
    json_t *deep = json_null();
    for (int i = 0; i < TP_MD_MAX_DEPTH; i++) deep = json_pack("{s:i,s:o}", "v", i, "next", deep);
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_err err;
    cr_expect_eq(tp_value_encode(md, T_LIST, deep, &b, &err), TP_ERR_ARG);
    cr_expect(strstr(err.msg, "nested deeper than 64"), "%s", err.msg);
    cr_expect_eq(tp_value_encode(md, T_COUNT, deep, &b, &err), TP_ERR_ARG);
    cr_expect_str_eq(err.msg, "type id 31 is out of range (31 types)");
    tp_scale_buf_free(&b);
    json_decref(deep);
    tp_metadata_free(md);
}

Test(substrate, value_decode_refusals) {
    static const error_case cases[] = {
        {T_BOOL, "02", "SCALE: bool: bool byte is 0x02, not 0 or 1"},
        {T_OPT_U8, "02", "Option has no variant with index 2"},
        {T_FOO, "03", "Foo has no variant with index 3"},
        {T_COMPACT_U8, "0104", "compact value is out of range for u8"},
        {T_COMPACT_U128, "0100", "SCALE: compact: compact integer 0 is not in its shortest form"},
        {T_CHAR, "00d80000", "char 0xd800 is not a Unicode scalar value"},
        {T_CHAR, "00001100", "char 0x110000 is not a Unicode scalar value"},
        {T_STR, "08fffe", "string is not valid UTF-8"},
        {T_STR, "08c328", "string is not valid UTF-8"},
        {T_STR, "0c61", "SCALE: string: length 3 needs at least 3 bytes, 1 left"},
        {T_VEC_U8, "1001", "SCALE: sequence length: length 4 needs at least 4 bytes, 1 left"},
        {T_VEC_UNIT, "a11f", "SCALE: sequence length: length 2024 exceeds the limit of 1024"},
        {T_DUP, "0102", "field name 'a' appears twice in the type"},
        {T_U256, "00", "u256 values are not supported"},
        {T_BITSEQ, "00", "bit sequences are not supported"},
        {T_I64, "01020304", "SCALE: truncated reading i64: need 8 bytes, 4 left"},
        {T_NAMED, "0102", "b: Option has no variant with index 2"},
        {T_TUPLE, "07", "[1]: SCALE: truncated reading string: need 1 bytes, 0 left"},
        {T_U8, "0102", "1 trailing bytes after a value of (unnamed type)"},
    };
    tp_metadata *md = hand_built();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *bytes;
        size_t n = unhex(cases[i].input, &bytes);
        json_t *out = (json_t *)1;
        tp_err err;
        cr_expect_eq(tp_value_decode_all(md, cases[i].ty, bytes, n, &out, &err), TP_ERR_FORMAT, "%s accepted",
                     cases[i].input);
        cr_expect_null(out);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu", i);
        free(bytes);
    }
    /* 40 list nodes (80 levels) in 81 bytes. */
    uint8_t deep[81];
    for (int i = 0; i < 40; i++) deep[2 * i] = 7, deep[2 * i + 1] = 1;
    deep[80] = 0;
    json_t *out;
    tp_err err;
    cr_expect_eq(tp_value_decode_all(md, T_LIST, deep, sizeof deep, &out, &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "nested deeper than 64") && strstr(err.msg, "next.next."), "%s", err.msg);
    tp_metadata_free(md);
}

/* ---- allocation failures ---- */

typedef struct {
    const tp_metadata *md;
    uint32_t ty;
    json_t *value;
    tp_scale_buf bytes;
} af_ctx;

static tp_status af_encode(void *ctx, tp_err *err) {
    af_ctx *c = ctx;
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_status st = tp_value_encode(c->md, c->ty, c->value, &b, err);
    if (!st) cr_assert(b.len == c->bytes.len && !memcmp(b.data, c->bytes.data, b.len));
    tp_scale_buf_free(&b);
    return st;
}

static tp_status af_decode(void *ctx, tp_err *err) {
    af_ctx *c = ctx;
    json_t *out;
    tp_status st = tp_value_decode_all(c->md, c->ty, c->bytes.data, c->bytes.len, &out, err);
    if (!st) {
        cr_assert(json_equal(out, c->value), "a run that succeeded decoded something else");
        json_decref(out);
    }
    return st;
}

static void af_check(void *ctx, tp_status st, const tp_err *err, int fired) {
    (void)ctx;
    (void)fired;
    cr_assert(st == TP_OK || st == TP_ERR_NOMEM, "%d %s", st, err->msg);
}

Test(substrate, value_allocation_failures) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    af_ctx c = {.md = md, .ty = runtime_call_type(md), .value = sub_json(
        "{\"Sudo\": {\"sudo\": {\"call\": {\"Utility\": {\"batch_all\": {\"calls\": ["
        "{\"SubtensorModule\": {\"set_weights\": {\"netuid\": 1, \"dests\": [1, 2, 3], \"weights\": [4, 5, 6], "
        "\"version_key\": 7}}}, {\"System\": {\"remark\": {\"remark\": \"0x0102\"}}}]}}}}}}")};
    tp_scale_buf_init(&c.bytes);
    tp_err err;
    cr_assert_eq(tp_value_encode(md, c.ty, c.value, &c.bytes, &err), TP_OK, "%s", err.msg);
    af_run_all(af_encode, af_check, &c, 1, AF_OURS);
    af_run_all(af_decode, af_check, &c, 1, AF_WITH_JANSSON);
    tp_scale_buf_free(&c.bytes);
    json_decref(c.value);
    tp_metadata_free(md);
}
