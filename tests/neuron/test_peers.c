#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "neuron/peers.h"

Test(peers, build_and_round_trip) {
    int64_t ranked[] = {7, 3}, fill[] = {1, 2, 4};
    tp_peer_list pl, back;
    tp_peers_build(9, ranked, 2, fill, 3, 3, 1, &pl);
    cr_assert_eq(pl.n_gather, 3);
    cr_assert(pl.gather[0] == 7 && pl.gather[1] == 3 && pl.gather[2] == 1);
    cr_assert(pl.n_reserve == 1 && pl.reserve[0] == 2);
    char *js;
    tp_err err;
    cr_assert_eq(tp_peers_to_json(&pl, &js, &err), TP_OK);
    cr_assert_eq(tp_peers_parse(js, strlen(js), 16, &back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(&pl, &back, sizeof pl), 0);
    free(js);
}

Test(peers, malformed) {
    static const char *bad[] = {
        "", "[]", "{\"window\":1,\"gather\":[1]}",                          /* missing reserve */
        "{\"window\":1,\"gather\":[1],\"reserve\":[],\"x\":0}",             /* extra field */
        "{\"window\":-1,\"gather\":[1],\"reserve\":[]}",
        "{\"window\":1,\"gather\":[1,1],\"reserve\":[]}",                   /* twice */
        "{\"window\":1,\"gather\":[1],\"reserve\":[1]}",                    /* in both lists */
        "{\"window\":1,\"gather\":[16],\"reserve\":[]}",                    /* beyond the uids */
        "{\"window\":1,\"gather\":[\"1\"],\"reserve\":[]}",
        "{\"window\":1,\"gather\":[1.5],\"reserve\":[]}",
        "{\"window\":1,\"gather\":{},\"reserve\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tp_peer_list pl;
        tp_err err;
        cr_assert_eq(tp_peers_parse(bad[i], strlen(bad[i]), 16, &pl, &err), TP_ERR_FORMAT, "accepted #%zu", i);
        cr_assert_eq(pl.n_gather + pl.n_reserve, 0);
    }
}
