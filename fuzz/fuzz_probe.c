/* libFuzzer target for the link probe's server session (tb_probe_session_*): its requests come from
 * whoever connects to the probe port. The first input byte picks how the bytes are fed and the output
 * taken (piece and send sizes, both small to exercise partial sends); the rest is the client's byte
 * stream. Checks against a straightforward model of the protocol: the session's output is exactly
 * the model's (echoes, answers, zeros) as far as it is compared, a bad request is refused exactly
 * where the model says, and the session never stalls (with input left it either takes some or owes
 * output). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testbed/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX 65536 /* output compared per input: a 1 GiB download is checked only this far */

/* The model: the output the client's stream should produce (at most OUT_MAX bytes) and whether it
 * ends in a bad request (after all of that output). */
static size_t model(const uint8_t *in, size_t n, uint8_t *out, int *bad) {
    size_t at = 0, o = 0;
    *bad = 0;
    while (n - at >= TB_PROBE_HDR && o < OUT_MAX) {
        uint8_t op = in[at];
        uint64_t count = 0;
        for (int i = 1; i < TB_PROBE_HDR; i++) count = count << 8 | in[at + (size_t)i];
        at += TB_PROBE_HDR;
        if ((op != 'E' && op != 'U' && op != 'D') || count > TB_PROBE_MAX_COUNT) {
            *bad = 1;
            break;
        }
        size_t avail = n - at < count ? n - at : (size_t)count;
        if (op == 'E') {
            size_t k = avail < OUT_MAX - o ? avail : OUT_MAX - o;
            memcpy(out + o, in + at, k);
            o += k;
        }
        if (op == 'U' && avail == count) out[o++] = 'U';
        if (op == 'D') {
            size_t k = count < OUT_MAX - o ? (size_t)count : OUT_MAX - o;
            memset(out + o, 0, k);
            o += k;
        }
        if (op != 'D') at += avail;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t piece = 1 + (data[0] & 15) * 37, cap = 1 + (data[0] >> 4) * 301;
    const uint8_t *in = data + 1;
    size_t n = size - 1, at = 0, got = 0;
    static uint8_t want[OUT_MAX + 1], out[OUT_MAX + 8192]; /* static: too big for the stack */
    int bad;
    size_t want_n = model(in, n, want, &bad);
    tb_probe_session s;
    tb_probe_session_init(&s);
    tp_err err;
    for (;;) {
        size_t used = 0, k = n - at < piece ? n - at : piece;
        tp_status st = tb_probe_session_input(&s, in + at, k, &used, &err);
        if (st != TP_OK) {
            if (st != TP_ERR_FORMAT || !bad || got != want_n) abort(); /* refused where the model is */
            return 0;
        }
        if (used > k) abort();
        at += used;
        size_t o = tb_probe_session_output(&s, out + got, cap);
        if (o > cap) abort();
        if (memcmp(out + got, want + got, o < want_n - got ? o : want_n - got)) abort();
        if (got + o > want_n && want_n < OUT_MAX) abort(); /* more output than the model */
        tb_probe_session_sent(&s, o);
        got += o;
        if (got >= OUT_MAX) return 0; /* compared far enough */
        if (!used && !o && at < n) abort();      /* stalled with input left */
        if (at == n && !o) break;
    }
    if (got != want_n || bad) abort(); /* everything the model says, and no refusal missed */
    return 0;
}
