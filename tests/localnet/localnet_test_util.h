/* Helpers shared by the localnet tests: a whole `templar localnet` run in a temporary directory,
 * its report.json, and the report's questions (a uid's role, a number, models in sync). Each
 * fails the running test with a message instead of returning an error. */
#ifndef TP_TESTS_LOCALNET_UTIL_H
#define TP_TESTS_LOCALNET_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* A whole network's time limit, in seconds: the machine's own pace, about three times longer under
 * AddressSanitizer (`make asan`). The runs' own no-progress timeouts catch a hang first. */
#ifdef __SANITIZE_ADDRESS__
#define LN_TIME_LIMIT(s) (3 * (s))
#else
#define LN_TIME_LIMIT(s) (s)
#endif

/* OUT/report.json of a finished run; the caller owns it (json_decref). */
json_t *ln_load_report(const char *out);
/* OUT/NAME parsed as JSON (the test fails when it is not); the caller owns it. */
json_t *ln_load_json(const char *out, const char *name);
/* Runs `templar localnet [--chain CHAIN] --config tiny --seed 1 --out DIR/net ARGS` in a fresh
 * temporary DIR and leaves DIR/net in dir (n bytes); chain NULL: the default (local). Returns the
 * report, which the caller owns (json_decref). */
json_t *ln_run(char *dir, size_t n, const char *chain, const char *args);
/* The same for `templar COMMAND --config tiny --seed 1 --out DIR/net ARGS` (COMMAND: "testbed",
 * "localnet --chain subtensor", ...). */
json_t *ln_run_cli(char *dir, size_t n, const char *command, const char *args);
/* The role of uid in report r ("owner", "validator", "honest", an adversary's); owned by r. */
const char *ln_role(json_t *r, const char *uid);
/* obj[key] as a number, 0 if absent. */
double ln_num(json_t *obj, const char *key);
/* Every honest miner and every validator, but uid skip (NULL: none), holds the same model after
 * window index i of report r, and there are at least two of them. */
void ln_assert_window_in_sync(json_t *r, size_t i, const char *skip);
/* The same for every window of the report. */
void ln_assert_in_sync(json_t *r);

#endif
