/* The Subtensor backend against the real runtime under chopsticks (spec 143: the real Yuma epoch;
 * spec 218: dTAO call shapes and metadata v15): a subnet made, neurons registered, staked,
 * committed, weights set, epochs run, all with templar's own codec and signatures; what templar
 * reads back is compared with polkadot-js reading the same chain state (subtensor_oracle.mjs). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "localnet/chopsticks.h"
#include "net/chain.h"
#include "net/subtensor_admin.h"
#include "net/subtensor_clock.h"
#include "net/wallet.h"
#include "substrate/storage_key.h"
#include "substrate/value.h"

enum { OP, VCOLD, VHOT, M1COLD, M1HOT, M2COLD, M2HOT, POOR, N_KEYS };
static const char *key_names[N_KEYS] = {"op", "vcold", "vhot", "m1cold", "m1hot", "m2cold", "m2hot", "poor"};

typedef struct {
    char dir[256], home[300];
    tp_chopsticks chain;
    tp_wallet w[N_KEYS];
    tp_keypair s[N_KEYS];
    tp_sub *sub;
    int netuid;
    char uri[256];
} net;

static void start(net *n, int spec) {
    memset(n, 0, sizeof *n);
    cli_tmpdir(n->dir, sizeof n->dir);
    snprintf(n->home, sizeof n->home, "%s/home", n->dir);
    setenv("TEMPLAR_HOME", n->home, 1);
    tp_chopsticks_opts o;
    tp_chopsticks_opts_default(&o);
    o.root = getenv("TEMPLAR_ROOT");
    o.spec = spec;
    char log[400];
    snprintf(log, sizeof log, "%s/chopsticks.log", n->dir);
    o.log_path = log;
    tp_err err = {0};
    cr_assert_eq(tp_chopsticks_start(&o, &n->chain, &err), TP_OK, "%s", err.msg);
    for (int i = 0; i < N_KEYS; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), (uint8_t)spec};
        /* Both kinds of key the runtime's MultiSignature takes, sr25519 (Bittensor's) and ed25519. */
        tp_key_type t = i % 2 ? TP_KEY_ED25519 : TP_KEY_SR25519;
        cr_assert_eq(tp_wallet_create(NULL, key_names[i], NULL, t, seed, &n->w[i], &err), TP_OK, "%s", err.msg);
        n->s[i] = n->w[i].key;
    }
    char url[300];
    snprintf(url, sizeof url, "subtensor+%s?clock=lockstep", n->chain.url);
    int netuid;
    cr_assert_eq(tp_subtensor_connect(url, &n->sub, &netuid, &err), TP_OK, "%s", err.msg);
    /* A first empty block: chopsticks may fail the first block after genesis (a slot mismatch on
     * spec 218), and a transaction in a block that fails is dropped. */
    cr_assert_eq(tp_subtensor_build_block(n->sub, &err), TP_OK, "%s", err.msg);
}

static void stop(net *n) {
    tp_sub_close(n->sub);
    tp_chopsticks_stop(&n->chain);
    for (int i = 0; i < N_KEYS; i++) {
        tp_keypair_clear(&n->s[i]);
        tp_wallet_clear(&n->w[i]);
    }
    tp_err err;
    tp_remove_tree(n->dir, &err);
}

/* The operator's part: sudo key and balances written directly, rate limits off, a subnet with a
 * short tempo. */
static void make_subnet(net *n) {
    tp_err err = {0};
    cr_assert_eq(tp_subtensor_dev_set_sudo(n->sub, n->w[OP].key.pub, &err), TP_OK, "%s", err.msg);
    for (int i = 0; i < N_KEYS; i++)
        if (i != POOR) cr_assert_eq(tp_subtensor_dev_fund(n->sub, n->w[i].key.pub, 10000, &err), TP_OK, "%s", err.msg);
    const char *global[] = {"network_rate_limit", "tx_rate_limit"};
    int64_t zero[] = {0, 0};
    cr_assert_eq(tp_subtensor_sudo_set(n->sub, &n->s[OP], -1, global, zero, 2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_subtensor_create_subnet(n->sub, &n->s[VCOLD], n->w[VHOT].key.pub, &n->netuid, &err), TP_OK, "%s",
                 err.msg);
    const char *names[] = {"tempo", "weights_set_rate_limit", "max_registrations_per_block",
                           "target_registrations_per_interval", "network_registration_allowed", "min_allowed_weights",
                           "activity_cutoff"};
    int64_t values[] = {10, 0, 16, 16, 1, 1, 5000};
    cr_assert_eq(tp_subtensor_sudo_set(n->sub, &n->s[OP], n->netuid, names, values, 7, &err), TP_OK, "%s", err.msg);
    snprintf(n->uri, sizeof n->uri, "subtensor+%s?netuid=%d&clock=lockstep", n->chain.url, n->netuid);
}

static tp_chain *open_as(net *n, int hot, int cold) {
    tp_chain *c = NULL;
    tp_err err = {0};
    cr_assert_eq(tp_chain_open(n->uri, &c, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_chain_set_keys(c, hot >= 0 ? &n->w[hot] : NULL, cold >= 0 ? &n->w[cold] : NULL, &err), TP_OK);
    return c;
}

static int64_t register_as(net *n, int hot, int cold) {
    tp_chain *c = open_as(n, -1, cold);
    int64_t uid = -1;
    int is_new = 0;
    tp_err err = {0};
    cr_assert_eq(tp_chain_register(c, n->w[hot].pk_hex, &uid, &is_new, &err), TP_OK, "%s", err.msg);
    cr_assert(is_new);
    tp_chain_close(c);
    return uid;
}

/* Blocks up to and including the next block where the subnet's epoch runs (at its start, before
 * that block's extrinsics). */
static void run_to_epoch(net *n, tp_chain *c) {
    tp_chain_info in;
    tp_err err = {0};
    cr_assert_eq(tp_chain_info_get(c, &in, &err), TP_OK, "%s", err.msg);
    int64_t b = in.block + 1;
    while ((b + n->netuid + 2) % (in.cfg.tempo + 1)) b++;
    cr_assert_eq(tp_chain_advance(c, b - in.block, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_chain_info_get(c, &in, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(in.last_epoch_block, b, "the epoch ran at block %lld, not %lld", (long long)in.last_epoch_block,
                 (long long)b);
}

static json_t *oracle(const net *n) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node '%s/tests/net/subtensor_oracle.mjs' '%s' %d", getenv("TEMPLAR_ROOT"), n->chain.url,
             n->netuid);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    int rc = pclose(p);
    cr_assert(rc == 0 && j, "the polkadot-js oracle failed (exit %d; run scripts/install-deps): %s", rc, je.text);
    return j;
}

/* Everything templar reads from the chain equals what polkadot-js reads. */
static void compare_with_oracle(const net *n, tp_chain *c) {
    json_t *o = oracle(n);
    tp_metagraph m;
    tp_err err = {0};
    cr_assert_eq(tp_chain_metagraph(c, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.n, json_integer_value(json_object_get(o, "n")));
    for (int64_t u = 0; u < m.n; u++) {
        const tp_neuron *nd = &m.neurons[u];
        json_t *ou = json_array_get(json_object_get(o, "uids"), (size_t)u);
        char hk[TP_HOTKEY_MAX + 3];
        snprintf(hk, sizeof hk, "0x%s", nd->hotkey);
        cr_assert_str_eq(hk, json_string_value(json_object_get(ou, "hotkey")));
        double stake = strtod(json_string_value(json_object_get(ou, "stake")), NULL) / 1e9;
        cr_assert_float_eq(nd->stake, stake, 1e-9, "uid %lld stake %g vs %g", (long long)u, nd->stake, stake);
        cr_assert_eq((long)(nd->incentive * 65535 + 0.5),
                     (long)json_integer_value(json_array_get(json_object_get(o, "incentive"), (size_t)u)));
        cr_assert_eq((long)(nd->dividends * 65535 + 0.5),
                     (long)json_integer_value(json_array_get(json_object_get(o, "dividends"), (size_t)u)));
        double em = strtod(json_string_value(json_array_get(json_object_get(o, "emission"), (size_t)u)), NULL) / 1e9;
        cr_assert_float_eq(nd->emission, em, 1e-9);
        cr_assert_eq(nd->last_update, json_integer_value(json_array_get(json_object_get(o, "lastUpdate"), (size_t)u)));
        cr_assert_eq(nd->validator_permit,
                     json_is_true(json_array_get(json_object_get(o, "validatorPermit"), (size_t)u)));
        const char *oc = json_string_value(json_object_get(ou, "commitment"));
        tp_commitment cm;
        int found = 0;
        cr_assert_eq(tp_chain_commitment(c, u, &cm, &found, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(found, oc != NULL);
        if (found) {
            char text[3 * sizeof cm.uri], hex[6 * sizeof cm.uri + 3] = "0x"; /* the documented encoding */
            const char *kt = tp_key_type_name(cm.key_type);
            if (cm.access_key_id[0])
                snprintf(text, sizeof text, "%s\n%s\n%s\n%s", cm.uri, cm.access_key_id, cm.secret_access_key, kt);
            else snprintf(text, sizeof text, "%s\n%s", cm.uri, kt);
            tp_hex((const uint8_t *)text, strlen(text), hex + 2);
            cr_assert_str_eq(hex, oc);
            cr_assert_str_eq(nd->store, cm.uri);
        }
    }
    tp_metagraph_free(&m);
    json_decref(o);
}

/* Live state decoded by the runtime's metadata and encoded again gives the same bytes. */
static void roundtrip_live(net *n, const char *pallet, const char *entry, json_t *keys) {
    tp_scale_buf key, again;
    tp_scale_buf_init(&key);
    tp_scale_buf_init(&again);
    const tp_md_storage *e = NULL;
    const tp_metadata *md = tp_sub_metadata(n->sub);
    tp_err err = {0};
    cr_assert_eq(tp_storage_key(md, pallet, entry, keys, &key, &e, &err), TP_OK, "%s", err.msg);
    uint8_t *raw = NULL;
    size_t len = 0;
    int found = 0;
    cr_assert_eq(tp_sub_storage_raw(n->sub, key.data, key.len, NULL, &raw, &len, &found, &err), TP_OK, "%s", err.msg);
    cr_assert(found && len > 0, "%s.%s is empty", pallet, entry);
    json_t *v = NULL;
    cr_assert_eq(tp_value_decode_all(md, e->value_type, raw, len, &v, &err), TP_OK, "%s.%s: %s", pallet, entry,
                 err.msg);
    cr_assert_eq(tp_value_encode(md, e->value_type, v, &again, &err), TP_OK, "%s", err.msg);
    cr_assert(again.len == len && !memcmp(again.data, raw, len), "%s.%s does not re-encode to its bytes", pallet, entry);
    json_decref(v);
    json_decref(keys);
    free(raw);
    tp_scale_buf_free(&key);
    tp_scale_buf_free(&again);
}

/* What a user sees: `templar chain metagraph --chain subtensor+…` prints the subnet. */
static void cli_metagraph(net *n, int64_t m1) {
    char *out;
    int rc = cli_run(&out, "chain metagraph --chain '%s' --json", n->uri);
    cr_assert_eq(rc, 0, "%s", out);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert(json_array_size(j) >= 3, "%s", out);
    json_t *e = json_array_get(j, (size_t)m1);
    cr_assert_str_eq(json_string_value(json_object_get(e, "hotkey")), n->w[M1HOT].pk_hex);
    cr_assert(json_number_value(json_object_get(e, "incentive")) > 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "store")), "s3+http://127.0.0.1:9000/m1-bucket");
    json_decref(j);
    free(out);
    rc = cli_run(&out, "wallet show m1hot --chain '%s'", n->uri);
    char want[120];
    snprintf(want, sizeof want, "hotkey %s (sr25519)", n->w[M1HOT].ss58);
    cr_assert(rc == 0 && strstr(out, "uid 1") && strstr(out, want), "%s", out);
    free(out);
}

static void roundtrip_all(net *n) {
    char acct[70];
    snprintf(acct, sizeof acct, "0x%s", n->w[VCOLD].pk_hex);
    roundtrip_live(n, "System", "Account", json_pack("[s]", acct));
    roundtrip_live(n, "System", "Events", NULL);
    roundtrip_live(n, "SubtensorModule", "Keys", json_pack("[i, i]", n->netuid, 0));
    roundtrip_live(n, "SubtensorModule", "Weights", json_pack("[i, i]", n->netuid, 0));
}

/* A dispatch error is named from the metadata; a transaction the node refuses (fees) is reported
 * with the node's reason; neither is retryable. */
static void refusals(net *n) {
    tp_chain *c = open_as(n, -1, M2COLD);
    tp_err err = {0};
    cr_assert_neq(tp_chain_set_stake(c, n->w[M2HOT].pk_hex, 1e9, &err), TP_OK);
    cr_assert(strstr(err.msg, "SubtensorModule.NotEnoughBalanceToStake"), "%s", err.msg);
    cr_assert(!err.retryable);
    tp_chain_close(c);
    /* An account with no balance cannot pay for a remark: the node refuses it before any block. */
    json_t *args = json_pack("{s:s}", "remark", "0x01");
    memset(&err, 0, sizeof err);
    cr_assert_neq(tp_sub_call(n->sub, &n->s[POOR], "System", "remark", args, NULL, &err), TP_OK);
    cr_assert(strstr(err.msg, "refused") && strstr(err.msg, "pay"), "%s", err.msg); /* chopsticks: invalid payment */
    cr_assert(!err.retryable);
    json_decref(args);
}

Test(subtensor, whole_flow_on_spec_143_matches_polkadot_js, .timeout = 600) {
    net n;
    start(&n, 143);
    make_subnet(&n);
    int64_t v = register_as(&n, VHOT, VCOLD), m1 = register_as(&n, M1HOT, M1COLD), m2 = register_as(&n, M2HOT, M2COLD);
    cr_assert(v >= 0 && m1 > v && m2 > m1);
    tp_err err = {0};
    tp_chain *cv = open_as(&n, VHOT, VCOLD);
    cr_assert_eq(tp_chain_set_stake(cv, n.w[VHOT].pk_hex, 100, &err), TP_OK, "%s", err.msg);
    tp_chain *c1 = open_as(&n, M1HOT, -1);
    tp_commitment cm = {.uri = "s3+http://127.0.0.1:9000/m1-bucket", .key_type = TP_KEY_SR25519};
    cr_assert_eq(tp_chain_commit(c1, n.w[M1HOT].pk_hex, &cm, &err), TP_OK, "%s", err.msg);
    run_to_epoch(&n, cv); /* the validator's permit comes with an epoch */
    int64_t uids[] = {m1, m2};
    double w[] = {1.0, 0.5};
    cr_assert_eq(tp_chain_set_weights(cv, n.w[VHOT].pk_hex, uids, 2, w, 2, &err), TP_OK, "%s", err.msg);
    const char *root[] = {"tempo", "weights_set_rate_limit"};
    int64_t rootv[] = {10, 0};
    cr_assert_eq(tp_subtensor_sudo_set(n.sub, &n.s[OP], 0, root, rootv, 2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_subtensor_root_vote(n.sub, &n.s[VCOLD], &n.s[VHOT], n.netuid, &err), TP_OK, "%s", err.msg);
    run_to_epoch(&n, cv);
    run_to_epoch(&n, cv);
    tp_metagraph m;
    cr_assert_eq(tp_chain_metagraph(cv, &m, &err), TP_OK, "%s", err.msg);
    /* Yuma on the real runtime: the miners share incentive 2:1 by weight, the validator takes the
     * dividends, and the subnet is paid. */
    cr_assert(m.neurons[m1].incentive > 0 && m.neurons[m2].incentive > 0);
    cr_assert_float_eq(m.neurons[m1].incentive / m.neurons[m2].incentive, 2.0, 1e-3);
    cr_assert_float_eq(m.neurons[v].dividends, 1.0, 1e-9);
    cr_assert(m.neurons[m1].emission > 0);
    tp_metagraph_free(&m);
    tp_weights row;
    cr_assert_eq(tp_chain_weights(cv, v, &row, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(row.n, 2);
    cr_assert_float_eq(row.weights[0], 2.0 / 3.0, 1e-4);
    tp_weights_free(&row);
    compare_with_oracle(&n, cv);
    cli_metagraph(&n, m1);
    roundtrip_all(&n);
    refusals(&n);
    tp_chain_close(c1);
    tp_chain_close(cv);
    stop(&n);
}

Test(subtensor, dtao_shapes_and_metadata_v15_on_spec_218, .timeout = 600) {
    net n;
    start(&n, 218);
    cr_assert_eq(tp_sub_metadata(n.sub)->version, 15, "spec 218 offers metadata v15");
    cr_assert(!tp_subtensor_is_legacy(n.sub));
    make_subnet(&n);
    tp_err err = {0};
    const char *cr[] = {"commit_reveal_weights_enabled"};
    int64_t off[] = {0};
    cr_assert_eq(tp_subtensor_sudo_set(n.sub, &n.s[OP], n.netuid, cr, off, 1, &err), TP_OK, "%s", err.msg);
    /* dTAO: the owner's hotkey holds uid 0 from register_network on. */
    tp_chain *cv = open_as(&n, VHOT, VCOLD);
    int64_t v = -1;
    cr_assert_eq(tp_chain_uid(cv, n.w[VHOT].pk_hex, &v, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(v, 0);
    int64_t m1 = register_as(&n, M1HOT, M1COLD);
    cr_assert_eq(tp_chain_set_stake(cv, n.w[VHOT].pk_hex, 100, &err), TP_OK, "%s", err.msg);
    tp_chain *c1 = open_as(&n, M1HOT, -1);
    tp_commitment cm = {.uri = "s3://m1-bucket", .access_key_id = "READKEY", .secret_access_key = "read/secret+1",
                        .key_type = TP_KEY_SR25519};
    cr_assert_eq(tp_chain_commit(c1, n.w[M1HOT].pk_hex, &cm, &err), TP_OK, "%s", err.msg);
    tp_commitment back;
    int found = 0;
    cr_assert_eq(tp_chain_commitment(cv, m1, &back, &found, &err), TP_OK, "%s", err.msg);
    cr_assert(found);
    cr_assert_str_eq(back.uri, cm.uri);
    cr_assert_str_eq(back.access_key_id, cm.access_key_id);
    cr_assert_eq(back.key_type, TP_KEY_SR25519);
    cr_assert_str_eq(back.secret_access_key, cm.secret_access_key);
    run_to_epoch(&n, cv);
    int64_t uids[] = {m1};
    double w[] = {1.0};
    cr_assert_eq(tp_chain_set_weights(cv, n.w[VHOT].pk_hex, uids, 1, w, 1, &err), TP_OK, "%s", err.msg);
    run_to_epoch(&n, cv);
    compare_with_oracle(&n, cv);
    roundtrip_all(&n);
    tp_chain_close(c1);
    tp_chain_close(cv);
    stop(&n);
}
