/* STROBE-128 (the meta-AD, AD, PRF and KEY operations only), Merlin transcripts on it, and the
 * transcript RNG: the formats of dalek-cryptography/merlin 3.x, the transcript library schnorrkel
 * (and so every sr25519 signature in Substrate) uses. */
#include "crypto/merlin.h"

#include <sodium.h>
#include <string.h>

#include "crypto/keccak.h"

/* The sponge rate in bytes at the 128-bit security level: 200 - 2*128/8 - 2. */
#define STROBE_R 166

enum { FLAG_I = 1, FLAG_A = 1 << 1, FLAG_C = 1 << 2, FLAG_T = 1 << 3, FLAG_M = 1 << 4, FLAG_K = 1 << 5 };

/* ------------------------------------------------------------------------------------ STROBE */

/* Ends a block: mark where the last operation began, pad, permute. */
static void run_f(tp_strobe128 *s) {
    s->state[s->pos] ^= s->pos_begin;
    s->state[s->pos + 1] ^= 0x04;
    s->state[STROBE_R + 1] ^= 0x80;
    tp_keccak_f1600(s->state);
    s->pos = 0;
    s->pos_begin = 0;
}

static void absorb(tp_strobe128 *s, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        s->state[s->pos++] ^= data[i];
        if (s->pos == STROBE_R) run_f(s);
    }
}

/* KEY replaces the state bytes rather than mixing into them: forward secrecy for the old state. */
static void overwrite(tp_strobe128 *s, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        s->state[s->pos++] = data[i];
        if (s->pos == STROBE_R) run_f(s);
    }
}

/* PRF outputs the state and zeroes what it gave out, so it cannot be recovered from the state. */
static void squeeze(tp_strobe128 *s, uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; i++) {
        out[i] = s->state[s->pos];
        s->state[s->pos++] = 0;
        if (s->pos == STROBE_R) run_f(s);
    }
}

/* Starts an operation: absorbs the previous start and the flags, and for the operations whose
 * output depends on all input so far (C: PRF, KEY) permutes first. A continuation (`more`) keeps
 * the current operation. */
static void begin_op(tp_strobe128 *s, uint8_t flags, bool more) {
    if (more) return;
    uint8_t header[2] = {s->pos_begin, flags};
    s->pos_begin = (uint8_t)(s->pos + 1);
    absorb(s, header, sizeof header);
    if ((flags & (FLAG_C | FLAG_K)) && s->pos != 0) run_f(s);
}

void tp_strobe128_init(tp_strobe128 *s, const uint8_t *protocol_label, size_t len) {
    static const uint8_t domain[18] = {1, STROBE_R + 2, 1, 0, 1, 96, 'S', 'T', 'R', 'O', 'B', 'E',
                                       'v', '1', '.', '0', '.', '2'};
    memset(s, 0, sizeof *s);
    memcpy(s->state, domain, sizeof domain);
    tp_keccak_f1600(s->state);
    tp_strobe128_meta_ad(s, protocol_label, len, false);
}

void tp_strobe128_meta_ad(tp_strobe128 *s, const uint8_t *data, size_t len, bool more) {
    begin_op(s, FLAG_M | FLAG_A, more);
    absorb(s, data, len);
}

void tp_strobe128_ad(tp_strobe128 *s, const uint8_t *data, size_t len, bool more) {
    begin_op(s, FLAG_A, more);
    absorb(s, data, len);
}

void tp_strobe128_prf(tp_strobe128 *s, uint8_t *out, size_t len, bool more) {
    begin_op(s, FLAG_I | FLAG_A | FLAG_C, more);
    squeeze(s, out, len);
}

void tp_strobe128_key(tp_strobe128 *s, const uint8_t *data, size_t len, bool more) {
    begin_op(s, FLAG_A | FLAG_C, more);
    overwrite(s, data, len);
}

/* ------------------------------------------------------------------------------------ Merlin */

static void le32(uint8_t out[4], size_t x) {
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(x >> (8 * i));
}

/* meta-AD(label || LE32(len)): the framing every Merlin operation starts with. */
static void frame(tp_strobe128 *s, const char *label, size_t len) {
    uint8_t n[4];
    le32(n, len);
    tp_strobe128_meta_ad(s, (const uint8_t *)label, strlen(label), false);
    tp_strobe128_meta_ad(s, n, sizeof n, true);
}

void tp_merlin_init(tp_merlin *t, const char *label) {
    static const char protocol[] = "Merlin v1.0";
    tp_strobe128_init(&t->strobe, (const uint8_t *)protocol, sizeof protocol - 1);
    tp_merlin_append(t, "dom-sep", (const uint8_t *)label, strlen(label));
}

void tp_merlin_append(tp_merlin *t, const char *label, const uint8_t *msg, size_t len) {
    frame(&t->strobe, label, len);
    tp_strobe128_ad(&t->strobe, msg, len, false);
}

void tp_merlin_append_u64(tp_merlin *t, const char *label, uint64_t x) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> (8 * i));
    tp_merlin_append(t, label, b, sizeof b);
}

void tp_merlin_challenge(tp_merlin *t, const char *label, uint8_t *out, size_t len) {
    frame(&t->strobe, label, len);
    tp_strobe128_prf(&t->strobe, out, len, false);
}

void tp_merlin_wipe(tp_merlin *t) { sodium_memzero(t, sizeof *t); }

/* -------------------------------------------------------------------------- transcript RNG */

void tp_merlin_rng_init(tp_merlin_rng *r, const tp_merlin *t) { r->strobe = t->strobe; }

void tp_merlin_rng_rekey(tp_merlin_rng *r, const char *label, const uint8_t *witness, size_t len) {
    frame(&r->strobe, label, len);
    tp_strobe128_key(&r->strobe, witness, len, false);
}

void tp_merlin_rng_finalize(tp_merlin_rng *r, const uint8_t entropy[32]) {
    static const uint8_t rng_label[] = {'r', 'n', 'g'};
    tp_strobe128_meta_ad(&r->strobe, rng_label, sizeof rng_label, false);
    tp_strobe128_key(&r->strobe, entropy, 32, false);
}

void tp_merlin_rng_fill(tp_merlin_rng *r, uint8_t *out, size_t len) {
    uint8_t n[4];
    le32(n, len);
    tp_strobe128_meta_ad(&r->strobe, n, sizeof n, false);
    tp_strobe128_prf(&r->strobe, out, len, false);
}

void tp_merlin_rng_wipe(tp_merlin_rng *r) { sodium_memzero(r, sizeof *r); }
