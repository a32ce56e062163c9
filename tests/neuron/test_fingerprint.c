/* debug-W fingerprints (DESIGN §11.5): hash sensitivity, JSON round trip, strict parsing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuron/fingerprint.h"

/* A hand-made layout: three tensors over 100 floats. */
static tp_tensor_info tensors[3] = {
    {.name = "model.embed_tokens.weight", .ndim = 2, .shape = {10, 5}, .offset = 0, .count = 50},
    {.name = "model.norm.weight", .ndim = 1, .shape = {7, 0}, .offset = 50, .count = 7},
    {.name = "lm_head.weight", .ndim = 2, .shape = {43, 1}, .offset = 57, .count = 43},
};
static const tp_layout L = {.n_tensors = 3, .tensors = tensors, .total = 100};

static void params(float *p) {
    for (int i = 0; i < 100; i++) p[i] = sinf((float)i) * 0.1f;
}

Test(fingerprint, identical_and_one_ulp) {
    float a[100], b[100];
    params(a);
    params(b);
    tp_fingerprint fa, fb;
    tp_err err = {0};
    cr_assert_eq(tp_fingerprint_compute(&L, a, 5, 3, &fa, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_fingerprint_compute(&L, b, 5, 3, &fb, &err), TP_OK);
    cr_assert_eq(memcmp(fa.hash, fb.hash, 32), 0);
    cr_assert_eq(memcmp(fa.samples, fb.samples, 6 * sizeof(float)), 0);
    cr_assert_eq(fa.samples[2], a[50 + 7 / 3]);
    cr_assert_eq(fa.samples[3], a[50 + 14 / 3]);
    tp_fingerprint_free(&fb);
    b[99] = nextafterf(b[99], INFINITY);
    cr_assert_eq(tp_fingerprint_compute(&L, b, 5, 3, &fb, &err), TP_OK);
    cr_assert_neq(memcmp(fa.hash, fb.hash, 32), 0);
    tp_fingerprint_free(&fa);
    tp_fingerprint_free(&fb);
}

Test(fingerprint, json_round_trip) {
    float a[100];
    params(a);
    a[50 + 2] = -1.17549435e-38f; /* tiny values keep every bit through JSON */
    tp_fingerprint fa, fb;
    tp_err err = {0};
    cr_assert_eq(tp_fingerprint_compute(&L, a, 123456789012ull, 4294967295u, &fa, &err), TP_OK);
    char *js;
    cr_assert_eq(tp_fingerprint_to_json(&fa, &L, &js, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_fingerprint_parse(js, strlen(js), &L, &fb, &err), TP_OK, "%s: %s", js, err.msg);
    cr_assert_eq(fb.window, 123456789012ull);
    cr_assert_eq(fb.uid, 4294967295u);
    cr_assert_eq(memcmp(fa.hash, fb.hash, 32), 0);
    cr_assert_eq(memcmp(fa.samples, fb.samples, 6 * sizeof(float)), 0);
    cr_assert(strlen(js) <= tp_fingerprint_max_json(&L));
    free(js);
    tp_fingerprint_free(&fb);
    fa.samples[1] = NAN;
    cr_assert_eq(tp_fingerprint_to_json(&fa, &L, &js, &err), TP_ERR_NUMERIC);
    tp_fingerprint_free(&fa);
}

#define H "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
#define G ",\"gathered\":3,\"gather_of\":4"
#define S3 "\"model.embed_tokens.weight\":[1,2],\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]"

Test(fingerprint, valid_hand_written) {
    const char *s = "{\"uid\":1,\"window\":2,\"hash\":" H ",\"samples\":{" S3 "}" G "}";
    tp_fingerprint f;
    tp_err err = {0};
    cr_assert_eq(tp_fingerprint_parse(s, strlen(s), &L, &f, &err), TP_OK, "%s", err.msg);
    cr_assert(f.window == 2 && f.uid == 1 && f.samples[3] == -0.5f && f.gathered == 3 && f.gather_of == 4);
    tp_fingerprint_free(&f);
}

Test(fingerprint, malformed) {
    static const char *bad[] = {
        "",
        "[]",
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "}",                 /* truncated */
        "{\"window\":2,\"uid\":1,\"hash\":" H "}",                                     /* no samples */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "},\"x\":1}",        /* extra field */
        "{\"window\":-2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "}" G "}",
        "{\"window\":2.5,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "}" G "}",
        "{\"window\":2,\"uid\":4294967296,\"hash\":" H ",\"samples\":{" S3 "}" G "}",
        "{\"window\":2,\"uid\":\"1\",\"hash\":" H ",\"samples\":{" S3 "}" G "}",
        "{\"window\":2,\"uid\":1,\"hash\":\"00\",\"samples\":{" S3 "}" G "}",
        "{\"window\":2,\"uid\":1,\"hash\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\","
        "\"samples\":{" S3 "}" G "}",
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 ",\"extra.weight\":[1,2]}" G "}",
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,2],"
        "\"model.norm.weight\":[0.5,-0.5],\"other.weight\":[3,4]}" G "}",                    /* unknown tensor */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,2],"
        "\"model.norm.weight\":[0.5,-0.5]}}",                                           /* missing tensor */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,2,3],"
        "\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]}" G "}",                  /* three values */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1],"
        "\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]}" G "}",                  /* one value */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,null],"
        "\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]}" G "}",                  /* null */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,1e39],"
        "\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]}" G "}",                  /* beyond float */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{\"model.embed_tokens.weight\":[1,NaN],"
        "\"model.norm.weight\":[0.5,-0.5],\"lm_head.weight\":[3,4]}" G "}",                  /* NaN */
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "},\"gathered\":5,\"gather_of\":4}",
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "},\"gathered\":1,\"gather_of\":2000}",
        "{\"window\":2,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "},\"gathered\":1}",
        "{\"window\":2,\"window\":3,\"uid\":1,\"hash\":" H ",\"samples\":{" S3 "}" G "}",  /* duplicate key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tp_fingerprint f;
        tp_err err = {0};
        cr_assert_eq(tp_fingerprint_parse(bad[i], strlen(bad[i]), &L, &f, &err), TP_ERR_FORMAT, "accepted #%zu", i);
        cr_assert(strncmp(err.msg, "fingerprint: ", 13) == 0, "#%zu: %s", i, err.msg);
        tp_fingerprint_free(&f);
    }
}

Test(fingerprint, oversize_rejected) {
    size_t n = tp_fingerprint_max_json(&L) + 1;
    char *s = malloc(n + 1);
    memset(s, ' ', n);
    s[0] = '{';
    s[n - 1] = '}';
    s[n] = '\0';
    tp_fingerprint f;
    tp_err err = {0};
    cr_assert_eq(tp_fingerprint_parse(s, n, &L, &f, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "allowed") != NULL, "%s", err.msg);
    tp_fingerprint_free(&f);
    free(s);
}
