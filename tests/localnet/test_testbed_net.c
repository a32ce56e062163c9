/* `templar testbed`: 3 miners and a validator, each on a host of its own (network namespaces), with
 * the chain (Subtensor under chopsticks) and the store (s3rver) on two more, over 40 ms links of
 * 100 Mbit/s (one miner on 20 Mbit/s). A miner's and then the validator's link go down for two
 * windows each. Needs root, as CI runs. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "localnet_test_util.h"

#define WINDOWS 22
#define MINER_CUT 4     /* partition:miner-1@4:6 */
#define MINER_BACK 6
#define VALIDATOR_CUT 12 /* partition:validator-0@12:14 */
#define VALIDATOR_BACK 14
#define SLOW_UID "4"     /* miner-2, on 20 Mbit/s */
#define CUT_UID "3"      /* miner-1 */

/* Each neuron host's measured link does what it was told: the round trip is at least both ends'
 * delays (the relays add them; 40 + 40 ms), and the rate is the configured one: never above it (the
 * token bucket), and not far below it on an idle link. */
static void assert_links_measured(const char *dir) {
    json_t *links = ln_load_json(dir, "links.json"), *h;
    size_t i;
    cr_assert_eq(json_array_size(json_object_get(links, "hosts")), 4);
    json_array_foreach(json_object_get(links, "hosts"), i, h) {
        const char *name = json_string_value(json_object_get(h, "host"));
        double want = strcmp(name, "miner-2") ? 100 : 20;
        cr_assert_float_eq(ln_num(h, "rate_mbit"), want, 1e-9, "%s: configured rate", name);
        cr_assert(ln_num(h, "rtt_ms") >= 80, "%s: round trip %.1f ms, below the links' 80 ms", name, ln_num(h, "rtt_ms"));
        for (int d = 0; d < 2; d++) {
            double got = ln_num(h, d ? "down_mbit" : "up_mbit");
            cr_assert(got <= want * 1.02 && got >= want * 0.5, "%s: %s %.1f Mbit/s on a %.0f Mbit/s link", name,
                      d ? "down" : "up", got, want);
        }
    }
    cr_assert(ln_num(links, "put_window_blocks") >= 2);
    json_decref(links);
}

/* Whether a cut may cost window k's gather an update: uploads of k are made as k + 1 begins. */
static int upload_cut(int k) {
    return (k + 1 >= MINER_CUT && k + 1 < MINER_BACK) || (k + 1 >= VALIDATOR_CUT && k + 1 < VALIDATOR_BACK);
}

Test(testbed_net, hosts_over_40ms_links_with_partitions, .timeout = LN_TIME_LIMIT(1800)) {
    if (geteuid() != 0) cr_skip_test("a testbed makes network namespaces, which needs root (CI runs as root)");
    char dir[4200], args[512];
    snprintf(args, sizeof args,
             "--miners 3 --validators 1 --windows %d --link delay=40ms,rate=100mbit --host-link miner-2:rate=20mbit "
             "--fault partition:miner-1@%d:%d --fault partition:validator-0@%d:%d",
             WINDOWS, MINER_CUT, MINER_BACK, VALIDATOR_CUT, VALIDATOR_BACK);
    json_t *r = ln_run_cli(dir, sizeof dir, "testbed", args);
    json_t *ws = json_object_get(r, "windows");
    cr_assert_str_eq(json_string_value(json_object_get(r, "outcome")), "completed");
    cr_assert_eq(json_array_size(ws), WINDOWS);
    assert_links_measured(dir);
    /* Bit-identical wherever recorded, loss falls. */
    ln_assert_in_sync(r);
    double first = ln_num(json_array_get(ws, 0), "heldout_loss"), last = ln_num(json_array_get(ws, WINDOWS - 1), "heldout_loss");
    cr_assert(last < first - 0.3, "held-out loss %.4f -> %.4f did not fall", first, last);
    for (int k = 0; k < WINDOWS; k++) {
        json_t *fp = json_object_get(json_object_get(json_array_get(ws, k), "fingerprints"), CUT_UID);
        /* The cut miner has no link in its partition's windows, and holds the shared model again
         * from the first window after it reconnected. */
        if (k >= MINER_CUT && k < MINER_BACK) continue;
        cr_assert(fp || k == MINER_BACK, "window %d: miner-1 recorded no model after its link came back", k);
    }
    /* The validator resumed: it recorded every window, the ones it was cut off in included (late). */
    for (int k = 0; k < WINDOWS; k++)
        cr_assert(json_object_get(json_object_get(json_array_get(ws, k), "fingerprints"), "1"),
                  "window %d: the validator recorded nothing", k);
    /* The slow miner (20 Mbit/s, within the minimum the deadlines allow) is never late: every window
     * in which nobody was cut off gathered every update. */
    for (int k = 0; k < WINDOWS; k++)
        if (!upload_cut(k))
            cr_assert_float_eq(ln_num(json_array_get(ws, k), "gather_success"), 1.0, 1e-9, "window %d", k);
    /* Honest miners are paid on Subtensor. */
    json_t *inc = json_object_get(r, "incentive");
    const char *paid[] = {"2", SLOW_UID};
    for (int i = 0; i < 2; i++)
        cr_assert(ln_num(inc, paid[i]) > 0, "honest uid %s has no incentive on Subtensor", paid[i]);
    cr_log_info("incentive: uid 2 %.3f, uid 3 (cut off 2 windows) %.3f, uid 4 (20 Mbit/s) %.3f", ln_num(inc, "2"),
                ln_num(inc, "3"), ln_num(inc, "4"));
    json_decref(r);
}
