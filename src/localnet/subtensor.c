/* A localnet on a real Subtensor runtime (chopsticks), and the end-of-run chain steps every localnet
 * takes (the final epoch, the snapshot the report reads). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "localnet/localnet.h"
#include "net/subtensor_admin.h"
#include "net/subtensor_clock.h"
#include "net/wallet.h"

#define OPERATOR "operator" /* wallet: the chain's sudo key and the coldkey of every node */
#define OPERATOR_TAO 1e6
#define HOTKEY_TAO 1000.0 /* fees for commitments and weights */

static tp_status start_chain(ln_net *net, tp_err *err) {
    char logs[LN_PATH_MAX + 8], log[LN_PATH_MAX + 32];
    snprintf(logs, sizeof logs, "%s/logs", net->dir);
    snprintf(log, sizeof log, "%s/chopsticks.log", logs);
    tp_chopsticks_opts o;
    tp_chopsticks_opts_default(&o);
    o.root = net->repo;
    o.spec = net->opt.subtensor;
    o.log_path = log;
    if (net->tb.chain) o.netns_fd = net->tb.chain->ns_fd;
    tp_status st = tp_mkdirs(logs, err);
    if (!st) st = tp_chopsticks_start(&o, &net->chopsticks, err);
    if (st) return tp_wrap(err, "starting Subtensor (chopsticks)");
    snprintf(net->chain_url, sizeof net->chain_url, "%s", net->chopsticks.url);
    /* On a testbed the chain is reached at its host's address, through the relay of its link. */
    if (net->tb.chain) {
        if ((st = ln_hosts_relay(net, net->tb.chain, net->chopsticks.port, &net->tb.chain_relay, err))) return st;
        snprintf(net->chain_url, sizeof net->chain_url, "http://%s:%d", net->tb.chain->addr, net->chopsticks.port);
    }
    printf("localnet: Subtensor spec %d under chopsticks at %s (log %s)\n", o.spec, net->chain_url, log);
    fflush(stdout);
    return TP_OK;
}

/* The operator's wallet, made like the nodes' (from the seed when there is one). */
/* The operator's coldkey (btcli's layout; unencrypted: a test network's), made like the nodes' keys. */
static tp_status operator_wallet(ln_net *net, tp_wallet *w, tp_err *err) {
    char path[LN_PATH_MAX];
    tp_err ignored;
    uint8_t seed[32];
    if (ln_wallet_path(net, path, sizeof path, err)) return err->code;
    if (!tp_wallet_load_coldkey(path, OPERATOR, w, &ignored)) return TP_OK;
    return tp_wallet_create_coldkey(path, OPERATOR, net->opt.key_type, ln_wallet_seed(net, OPERATOR, seed), NULL, w,
                                    err);
}

static tp_status fund_all(ln_net *net, tp_sub *c, const tp_keypair *op, tp_err *err) {
    tp_status st = tp_subtensor_dev_set_sudo(c, op->pub, err);
    if (!st) st = tp_subtensor_dev_fund(c, op->pub, OPERATOR_TAO, err);
    for (int i = 0; !st && i < net->n_nodes; i++) {
        uint8_t pk[32];
        if (tp_unhex(net->nodes[i].hotkey, pk, 32)) return tp_fail(err, TP_ERR_INTERNAL, "%s: bad hotkey", net->nodes[i].name);
        st = tp_subtensor_dev_fund(c, pk, HOTKEY_TAO, err);
    }
    return st;
}

/* Rate limits off, then the subnet: the localnet's tempo, registrations open, permits for the
 * validators only, weights without commit-reveal. */
static tp_status make_subnet(ln_net *net, tp_sub *c, const tp_keypair *op, int *netuid, tp_err *err) {
    const char *global[] = {"network_rate_limit", "tx_rate_limit"};
    int64_t zeros[] = {0, 0};
    uint8_t owner[32];
    tp_status st = tp_subtensor_sudo_set(c, op, -1, global, zeros, 2, err);
    if (!st && tp_unhex(net->nodes[0].hotkey, owner, 32)) st = tp_fail(err, TP_ERR_INTERNAL, "bad owner hotkey");
    if (!st) st = tp_subtensor_create_subnet(c, op, owner, netuid, err);
    if (st) return st;
    const char *names[9] = {"tempo", "weights_set_rate_limit", "max_registrations_per_block",
                            "target_registrations_per_interval", "network_registration_allowed",
                            "min_allowed_weights", "activity_cutoff", "max_allowed_validators",
                            "commit_reveal_weights_enabled"};
    int64_t values[9] = {2 * net->opt.blocks_per_window, 0, net->n_nodes, net->n_nodes, 1, 1, 5000,
                         net->opt.validators, 0};
    int n = tp_subtensor_has_param(c, names[8]) ? 9 : 8; /* commit-reveal: dTAO runtimes only */
    return tp_subtensor_sudo_set(c, op, *netuid, names, values, n, err);
}

/* Every node registered in uid order by the operator's coldkey, the validators staked. */
static tp_status register_nodes(ln_net *net, const char *uri, const tp_wallet *op, tp_err *err) {
    tp_chain *ch;
    tp_status st = tp_chain_open(uri, &ch, err);
    if (st) return st;
    if (!(st = tp_chain_set_keys(ch, NULL, op, err))) st = ln_register_nodes(net, ch, err);
    tp_chain_close(ch);
    return st;
}

/* Runtimes before dTAO pay a subnet by root weights: the leader votes all of its root weight to it. */
static tp_status root_vote(ln_net *net, tp_sub *c, const tp_keypair *op, int netuid, tp_err *err) {
    const char *root[] = {"tempo", "weights_set_rate_limit"};
    int64_t values[] = {2 * net->opt.blocks_per_window, 0};
    char path[LN_PATH_MAX];
    tp_wallet w;
    tp_status st = ln_wallet_path(net, path, sizeof path, err);
    if (!st) st = tp_subtensor_sudo_set(c, op, 0, root, values, 2, err);
    if (!st) st = tp_wallet_load(path, net->nodes[net->leader].name, NULL, &w, err);
    if (st) return st;
    st = tp_subtensor_root_vote(c, op, &w.key, netuid, err);
    tp_wallet_clear(&w);
    return st;
}

/* Builds blocks until an epoch runs after everything already in a block (Subtensor runs it at the
 * start of a block, before that block's extrinsics). */
static tp_status advance_to_epoch(const char *uri, tp_err *err) {
    tp_chain *ch;
    tp_chain_info in;
    tp_status st = tp_chain_open(uri, &ch, err);
    if (st) return st;
    int64_t after = -1;
    while (!(st = tp_chain_info_get(ch, &in, err)) && (after < 0 || in.last_epoch_block <= after)) {
        if (after < 0) after = in.block;
        if ((st = tp_chain_advance(ch, 1, NULL, err))) break;
    }
    tp_chain_close(ch);
    return st;
}

static tp_status setup_on_chain(ln_net *net, tp_sub *c, const tp_wallet *opw, tp_err *err) {
    const tp_keypair *op = &opw->key;
    int netuid = -1;
    /* A first empty block: one that chopsticks fails right after genesis would drop our calls. */
    tp_status st = tp_subtensor_build_block(c, err);
    if (!st) st = fund_all(net, c, op, err);
    if (!st) st = make_subnet(net, c, op, &netuid, err);
    /* Setup builds the blocks its calls wait for (clock=lockstep); the neurons' URI says who builds
     * them during the run: the driver, once every neuron waits (lockstep) or every block time (wall). */
    char setup_uri[TP_CHAIN_URI_MAX];
    snprintf(setup_uri, sizeof setup_uri, "subtensor+%s?netuid=%d&blocks_per_window=%" PRId64 "&clock=lockstep",
             net->chain_url, netuid, net->opt.blocks_per_window);
    if (net->opt.wall)
        snprintf(net->chain_uri, sizeof net->chain_uri,
                 "subtensor+%s?netuid=%d&blocks_per_window=%" PRId64 "&block_time_ms=%" PRId64, net->chain_url,
                 netuid, net->opt.blocks_per_window, net->opt.block_time_ms);
    else
        snprintf(net->chain_uri, sizeof net->chain_uri, "%s", setup_uri);
    if (!st) st = register_nodes(net, setup_uri, opw, err);
    if (!st && tp_subtensor_is_legacy(c)) st = root_vote(net, c, op, netuid, err);
    if (!st) st = advance_to_epoch(setup_uri, err); /* the validators' permits */
    if (!st) printf("localnet: subnet %d on Subtensor: %d uids registered and staked\n", netuid, net->n_nodes);
    return st;
}

tp_status ln_subtensor_setup(ln_net *net, tp_err *err) {
    tp_status st = start_chain(net, err);
    tp_wallet opw;
    if (!st) st = operator_wallet(net, &opw, err);
    if (st) return st;
    char url[TP_CHAIN_URI_MAX];
    snprintf(url, sizeof url, "subtensor+%s?clock=lockstep", net->chain_url);
    tp_sub *c = NULL;
    int ignored;
    st = tp_subtensor_connect(url, &c, &ignored, err);
    if (!st) st = setup_on_chain(net, c, &opw, err);
    tp_sub_close(c);
    tp_wallet_clear(&opw);
    return st ? tp_wrap(err, "setting up the subnet on Subtensor") : TP_OK;
}

void ln_subtensor_stop(ln_net *net) { tp_chopsticks_stop(&net->chopsticks); }

tp_status ln_final_epoch(ln_net *net, tp_err *err) {
    if (net->opt.subtensor) return advance_to_epoch(net->chain_uri, err);
    tp_chain *c;
    tp_status st = tp_chain_open(net->chain_uri, &c, err);
    if (!st) st = tp_chain_epoch(c, err);
    tp_chain_close(c);
    return st;
}

static json_t *neuron_json(tp_chain *c, const tp_neuron *n, tp_err *err) {
    json_t *rows = json_array();
    tp_weights w = {0};
    if (rows && n->stake > 0 && tp_chain_weights(c, n->uid, &w, err)) {
        json_decref(rows);
        return NULL;
    }
    for (int64_t j = 0; rows && j < w.n; j++) json_array_append_new(rows, json_pack("[I, f]", (json_int_t)w.uids[j], w.weights[j]));
    tp_weights_free(&w);
    return rows ? json_pack("{s:I, s:f, s:f, s:f, s:f, s:o}", "uid", (json_int_t)n->uid, "stake", n->stake,
                            "incentive", n->incentive, "dividends", n->dividends, "emission", n->emission, "weights",
                            rows)
                : NULL;
}

tp_status ln_chain_snapshot(ln_net *net, tp_err *err) {
    tp_chain *c;
    tp_metagraph m = {0};
    tp_status st = tp_chain_open_read_only(net->chain_uri, &c, err);
    if (st) return st;
    json_t *list = json_array();
    if (!(st = tp_chain_metagraph(c, &m, err)))
        for (int64_t u = 0; !st && u < m.n; u++) {
            json_t *nj = neuron_json(c, &m.neurons[u], err);
            if (!nj || json_array_append_new(list, nj)) st = err->code ? err->code : tp_fail(err, TP_ERR_NOMEM, "out of memory");
        }
    json_t *root = st ? NULL : json_pack("{s:s, s:I, s:O}", "chain", net->chain_uri, "block", (json_int_t)m.block,
                                         "neurons", list);
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    char path[LN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/chain-final.json", net->dir);
    if (!st && !text) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_write_file_atomic(path, text, strlen(text), err);
    free(text);
    json_decref(root);
    json_decref(list);
    tp_metagraph_free(&m);
    tp_chain_close(c);
    return st;
}
