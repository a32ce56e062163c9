/* Storage keys: twox128 of well-known names, the keys of System.Account for //Alice and of
 * Timestamp.Now as published, every hasher and a table of real map keys against polkadot-js
 * (tests/substrate/value_ref.mjs), and refusals that name the entry and the key. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "substrate/storage_key.h"
#include "substrate_test_util.h"

#define ALICE_HEX "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
#define ALICE "\"0x" ALICE_HEX "\""
#define BOB "\"0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48\""

static void expect_hex(const uint8_t *p, size_t n, const char *want, const char *what) {
    char *got = malloc(2 * n + 1);
    tp_hex(p, n, got);
    cr_expect_str_eq(got, want, "%s: %s, want %s", what, got, want);
    free(got);
}

Test(substrate, storage_twox128_known_names) {
    static const char *const cases[][2] = {
        {"System", "26aa394eea5630e07c48ae0c9558cef7"},
        {"Account", "b99d880ec681799c0cf30e8886371da9"},
        {"Timestamp", "f0c365c3cf59d671eb72da0e7a4113c4"},
        {"Now", "9f1f0515f462cdcf84e0f1d6045dfcbb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t h[16];
        tp_twox128(cases[i][0], strlen(cases[i][0]), h);
        expect_hex(h, 16, cases[i][1], cases[i][0]);
    }
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_storage_prefix("System", "Account", &b);
    expect_hex(b.data, b.len, "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9", "prefix");
    tp_scale_buf_free(&b);
}

Test(substrate, storage_keys_published_values) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_err err;
    const tp_md_storage *entry = NULL;
    json_t *keys = sub_json("[" ALICE "]");
    cr_assert_eq(tp_storage_key(md, "System", "Account", keys, &b, &entry, &err), TP_OK, "%s", err.msg);
    /* BLAKE2b-128 of Alice's public key is de1e86a9…59f (hashlib.blake2b(digest_size=16)). */
    expect_hex(b.data, b.len,
               "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
               "de1e86a9a8c739864cf3cc5ec2bea59f" ALICE_HEX,
               "System.Account(//Alice)");
    cr_assert_not_null(entry);
    cr_expect_str_eq(entry->name, "Account");
    json_decref(keys);
    tp_scale_buf_free(&b);

    cr_assert_eq(tp_storage_key(md, "Timestamp", "Now", NULL, &b, NULL, &err), TP_OK, "%s", err.msg);
    expect_hex(b.data, b.len, "f0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb", "Timestamp.Now");
    tp_scale_buf_free(&b);
    keys = json_array();
    cr_assert_eq(tp_storage_key(md, "Timestamp", "Now", keys, &b, NULL, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(b.len, 32);
    json_decref(keys);
    tp_scale_buf_free(&b);
    tp_metadata_free(md);
}

Test(substrate, storage_hashers_match_polkadot_js, .timeout = 60) {
    static const char *const names[] = {"Blake2_128", "Blake2_256",   "Blake2_128Concat", "Twox128",
                                        "Twox256",    "Twox64Concat", "Identity"};
    static const size_t lens[] = {0, 1, 31, 32, 33, 100};
    uint8_t data[100];
    for (int i = 0; i < 100; i++) data[i] = (uint8_t)(i * 37 + 11);
    json_t *reqs = json_array(), *ours = json_array();
    for (int h = 0; h <= TP_HASH_IDENTITY; h++)
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
            tp_scale_buf b;
            tp_scale_buf_init(&b);
            tp_hash_key((tp_md_hasher)h, data, lens[l], &b);
            char *in = sub_hex0x(data, lens[l]), *out = sub_hex0x(b.data, b.len);
            json_array_append_new(reqs, json_pack("{s:s,s:s}", "hash", names[h], "data", in));
            json_array_append_new(ours, json_string(out));
            free(in);
            free(out);
            tp_scale_buf_free(&b);
        }
    json_t *ref = sub_polkadot("metadata-143-v14.bin", reqs);
    for (size_t i = 0; i < json_array_size(ours); i++)
        cr_expect_str_eq(json_string_value(json_array_get(ours, i)), json_string_value(json_array_get(ref, i)),
                         "%s of %zu bytes", names[i / 6], lens[i % 6]);
    json_decref(ref);
    json_decref(ours);
    json_decref(reqs);
}

typedef struct {
    const char *pallet, *entry, *keys;
} key_case;

static void keys_match(const char *file, const key_case *cases, size_t n) {
    tp_metadata *md = sub_load_metadata(file);
    json_t *reqs = json_array(), *ours = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *keys = sub_json(cases[i].keys);
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_err err;
        cr_assert_eq(tp_storage_key(md, cases[i].pallet, cases[i].entry, keys, &b, NULL, &err), TP_OK, "%s", err.msg);
        char *hex = sub_hex0x(b.data, b.len);
        json_array_append_new(ours, json_string(hex));
        json_array_append_new(reqs, json_pack("{s:[s,s],s:o}", "storage", cases[i].pallet, cases[i].entry, "keys", keys));
        free(hex);
        tp_scale_buf_free(&b);
    }
    json_t *ref = sub_polkadot(file, reqs);
    for (size_t i = 0; i < n; i++) {
        const char *a = json_string_value(json_array_get(ours, i)), *b = json_string_value(json_array_get(ref, i));
        cr_expect_str_eq(a, b, "%s %s.%s%s: ours %s, polkadot-js %s", file, cases[i].pallet, cases[i].entry,
                         cases[i].keys, a, b);
    }
    cr_log_info("%s: %zu storage keys agree with polkadot-js", file, n);
    json_decref(ref);
    json_decref(ours);
    json_decref(reqs);
    tp_metadata_free(md);
}

Test(substrate, storage_keys_match_polkadot_js, .timeout = 60) {
    /* One of each hasher in use, single and double maps, plain values. */
    static const key_case c143[] = {
        {"System", "Account", "[" ALICE "]"},                       /* Blake2_128Concat */
        {"System", "BlockHash", "[7]"},                             /* Twox64Concat, u32 */
        {"System", "EventTopics", "[\"0x" ALICE_HEX "\"]"},         /* H256 */
        {"SubtensorModule", "Uids", "[1, " ALICE "]"},              /* Identity, Blake2_128Concat */
        {"SubtensorModule", "Stake", "[" ALICE ", " BOB "]"},       /* Blake2_128Concat, Identity */
        {"SubtensorModule", "Axons", "[65535, " BOB "]"},
        {"Commitments", "CommitmentOf", "[3, " BOB "]"},            /* Identity, Twox64Concat */
        {"Multisig", "Multisigs", "[" ALICE ", \"0x" ALICE_HEX "\"]"}, /* Twox64Concat, Blake2_128Concat */
        {"Timestamp", "Now", "[]"},
        {"SubtensorModule", "TotalStake", "[]"},
    };
    keys_match("metadata-143-v14.bin", c143, sizeof c143 / sizeof *c143);
    static const key_case c218[] = {
        {"System", "Account", "[" BOB "]"},
        {"SubtensorModule", "Uids", "[2, " ALICE "]"},
        {"SubtensorModule", "Keys", "[2, 5]"},
        {"Commitments", "CommitmentOf", "[2, " ALICE "]"},
    };
    keys_match("metadata-218-v15.bin", c218, sizeof c218 / sizeof *c218);
}

static void expect_key_error(const tp_metadata *md, const char *pallet, const char *entry, const char *keys,
                             const char *msg) {
    json_t *k = keys ? sub_json(keys) : NULL;
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_err err;
    cr_expect_eq(tp_storage_key(md, pallet, entry, k, &b, NULL, &err), TP_ERR_ARG, "%s.%s %s accepted", pallet, entry,
                 keys ? keys : "NULL");
    cr_expect_str_eq(err.msg, msg);
    json_decref(k);
    tp_scale_buf_free(&b);
}

Test(substrate, storage_key_refusals) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    expect_key_error(md, "Nope", "Account", "[]", "storage: the runtime has no pallet 'Nope'");
    expect_key_error(md, "System", "Nope", "[]", "storage: pallet System has no storage entry 'Nope'");
    expect_key_error(md, "Sudo", "Key", "[1]", "storage Sudo.Key: takes 0 keys, got 1");
    expect_key_error(md, "System", "Account", NULL, "storage System.Account: takes 1 key, got 0");
    expect_key_error(md, "SubtensorModule", "Uids", "[1]", "storage SubtensorModule.Uids: takes 2 keys, got 1");
    expect_key_error(md, "SubtensorModule", "Uids", "{}", "storage SubtensorModule.Uids: the keys are not a JSON array");
    expect_key_error(md, "SubtensorModule", "Uids", "[70000, " ALICE "]",
                     "storage SubtensorModule.Uids: key 0: 70000 is out of range for u16");
    expect_key_error(md, "SubtensorModule", "Uids", "[1, \"0x01\"]",
                     "storage SubtensorModule.Uids: key 1: expected 32 bytes, got 1");
    tp_metadata_free(md);
}
