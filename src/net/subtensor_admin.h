/* Operator commands for a Subtensor test network: make a subnet, set its hyperparameters through
 * Sudo, vote the subnet emission on the root network (runtimes before dTAO), and on a development
 * chain (chopsticks) write balances and the sudo key directly. None of this is needed to mine or
 * validate on an existing subnet. Call shapes come from the runtime's metadata. */
#ifndef TP_NET_SUBTENSOR_ADMIN_H
#define TP_NET_SUBTENSOR_ADMIN_H

#include "substrate/client.h"

/* Connects to the endpoint of a subtensor+http(s):// chain URI (or a plain http(s):// URL);
 * *netuid gets the URI's netuid, or -1 when it names none. *out: tp_sub_close. */
tp_status tp_subtensor_connect(const char *uri, tp_sub **out, int *netuid, tp_err *err);

/* Dev chain only: sets the free balance of account (TAO) and the sudo key. */
tp_status tp_subtensor_dev_fund(tp_sub *c, const uint8_t account[32], double tao, tp_err *err);
tp_status tp_subtensor_dev_set_sudo(tp_sub *c, const uint8_t account[32], tp_err *err);

/* register_network signed by coldkey (owner_hotkey: the subnet owner's hotkey, used where the
 * runtime asks for one); *netuid gets the new subnet. */
tp_status tp_subtensor_create_subnet(tp_sub *c, const tp_keypair *coldkey, const uint8_t owner_hotkey[32],
                                     int *netuid, tp_err *err);

/* One Sudo batch of AdminUtils.sudo_set_<name>(netuid, value) calls: names such as "tempo",
 * "weights_set_rate_limit", "network_rate_limit" (global ones take no netuid), values integers
 * (0/1 for flags). An unknown name is refused listing the ones the runtime has. */
tp_status tp_subtensor_sudo_set(tp_sub *c, const tp_keypair *sudo, int netuid, const char *const *names,
                                const int64_t *values, int n, tp_err *err);

/* 1 when the runtime has the hyperparameter (an AdminUtils.sudo_set_<name> call). */
int tp_subtensor_has_param(const tp_sub *c, const char *name);

/* Runtimes before dTAO pay a subnet only what the root network's weights give it: registers hotkey
 * on root (signed by coldkey) and sets root weights all to netuid (signed by hotkey). */
tp_status tp_subtensor_root_vote(tp_sub *c, const tp_keypair *coldkey, const tp_keypair *hotkey, int netuid,
                                 tp_err *err);
/* 1 when the runtime predates dTAO (stake per hotkey, emission through root weights). */
int tp_subtensor_is_legacy(const tp_sub *c);

#endif
