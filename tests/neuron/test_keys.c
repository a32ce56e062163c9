/* Object key names (DESIGN §9): every form round-trips, and malformed listing keys are rejected. */
#include <criterion/criterion.h>
#include <string.h>

#include "neuron/keys.h"

static void round_trip(tp_key k, const char *expect) {
    char buf[TP_KEY_MAX];
    tp_err err = {0};
    cr_assert_eq(tp_key_format(&k, buf, sizeof buf, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(buf, expect);
    tp_key back;
    cr_assert_eq(tp_key_parse(buf, &back, &err), TP_OK, "%s: %s", buf, err.msg);
    cr_assert_eq(back.kind, k.kind);
    cr_assert_eq(back.window, k.window);
    cr_assert_eq(back.uid, k.uid);
    cr_assert_str_eq(back.version, k.version);
    cr_assert_str_eq(back.file, k.file);
}

Test(keys, round_trips) {
    round_trip((tp_key){.kind = TP_KEY_GRADIENT, .window = 42, .uid = 7, .version = "1.2.0"},
               "gradient-42-7-v1.2.0.st");
    round_trip((tp_key){.kind = TP_KEY_DEBUG, .window = 0, .uid = 0, .version = "run_a-b"}, "debug-0-0-vrun_a-b.json");
    round_trip((tp_key){.kind = TP_KEY_AGGREGATOR, .window = UINT64_MAX, .version = "x"},
               "aggregator-18446744073709551615-vx.st");
    round_trip((tp_key){.kind = TP_KEY_PEERS, .window = 10, .version = "v9"}, "peers-10-vv9.json");
    round_trip((tp_key){.kind = TP_KEY_START_WINDOW, .version = "3"}, "start_window-v3.json");
    round_trip((tp_key){.kind = TP_KEY_CHECKPOINT, .window = 100, .version = "3"}, "checkpoints/v3/100/");
    round_trip((tp_key){.kind = TP_KEY_CHECKPOINT, .window = 100, .version = "3", .file = "model.st"},
               "checkpoints/v3/100/model.st");
    round_trip((tp_key){.kind = TP_KEY_CHECKPOINT_LATEST, .version = "3"}, "checkpoints/v3/LATEST.json");
    round_trip((tp_key){.kind = TP_KEY_GRADIENT, .window = 1, .uid = UINT32_MAX, .version = "a.st"},
               "gradient-1-4294967295-va.st.st");
    char v63[64];
    memset(v63, 'a', 63);
    v63[63] = '\0';
    tp_key k = {.kind = TP_KEY_START_WINDOW};
    strcpy(k.version, v63);
    char buf[TP_KEY_MAX];
    cr_assert_eq(tp_key_format(&k, buf, sizeof buf, &(tp_err){0}), TP_OK);
    tp_key back;
    cr_assert_eq(tp_key_parse(buf, &back, &(tp_err){0}), TP_OK);
    cr_assert_str_eq(back.version, v63);
}

Test(keys, format_rejects) {
    char buf[TP_KEY_MAX];
    tp_err err = {0};
    cr_assert_eq(tp_key_format(&(tp_key){.kind = TP_KEY_PEERS, .version = ""}, buf, sizeof buf, &err), TP_ERR_ARG);
    cr_assert_eq(tp_key_format(&(tp_key){.kind = TP_KEY_PEERS, .version = "a/b"}, buf, sizeof buf, &err), TP_ERR_ARG);
    cr_assert_eq(tp_key_format(&(tp_key){.kind = TP_KEY_CHECKPOINT, .version = "a", .file = ".."}, buf, sizeof buf,
                               &err),
                 TP_ERR_ARG);
    cr_assert_eq(tp_key_format(&(tp_key){.kind = TP_KEY_PEERS, .version = "a"}, buf, 5, &err), TP_ERR_ARG);
}

Test(keys, malformed) {
    static const char *bad[] = {
        "",
        "gradient-",
        "gradient-1-2-v.st",                  /* empty version */
        "gradient-01-2-v1.st",                /* leading zero window */
        "gradient-1-02-v1.st",                /* leading zero uid */
        "gradient-+1-2-v1.st",                /* sign */
        "gradient--1-2-v1.st",                /* negative */
        "gradient-1-4294967296-v1.st",        /* uid overflow */
        "gradient-18446744073709551616-2-v1.st", /* window overflow */
        "gradient-1-2-v1.json",               /* wrong suffix */
        "gradient-1-2-v1.st ",                /* trailing byte */
        "gradient-1-2-1.st",                  /* missing 'v' */
        "gradient-1-v1.st",                   /* missing uid */
        "gradient-1-2-va/b.st",               /* slash in version */
        "gradient-1-2-va b.st",               /* space in version */
        "Gradient-1-2-v1.st",                 /* case */
        "debug-1-2-v1.st",
        "aggregator-1-2-v1.st",               /* uid where none belongs */
        "peers-1-v1.json.tmp",
        "start_window-v.json",
        "start_window-1-v1.json",
        "checkpoints/v1/LATEST.jsonx",
        "checkpoints/v1/01/",
        "checkpoints/v1/1",                   /* no slash after the window */
        "checkpoints/v1/1/..",
        "checkpoints/v1/1/a/b",
        "checkpoints//1/",
        "checkpoints/v1",
        "gradient-1-2-v1234567890123456789012345678901234567890123456789012345678901234.st", /* 64 chars */
        "random.txt",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tp_key k;
        tp_err err = {0};
        cr_assert_eq(tp_key_parse(bad[i], &k, &err), TP_ERR_FORMAT, "accepted '%s'", bad[i]);
        cr_assert(strncmp(err.msg, "key: ", 5) == 0 && strlen(err.msg) > 5, "no message for '%s'", bad[i]);
    }
}

Test(keys, long_key_rejected) {
    char s[600];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    memcpy(s, "peers-1-v", 9);
    tp_key k;
    cr_assert_eq(tp_key_parse(s, &k, &(tp_err){0}), TP_ERR_FORMAT);
}
