/* libFuzzer target: the parsers of untrusted neuron inputs — object keys from bucket listings,
 * debug-W fingerprint JSON (checked against the tiny model's layout) and peer lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "model/layout.h"
#include "neuron/fingerprint.h"
#include "neuron/keys.h"
#include "neuron/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tp_err err;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    tp_key key;
    if (tp_key_parse(s, &key, &err) == TP_OK) {
        char back[TP_KEY_MAX + 1];
        if (tp_key_format(&key, back, sizeof back, &err) != TP_OK) abort(); /* a parsed key must format */
    }
    tp_config cfg;
    tp_layout L;
    if (tp_config_named("tiny", &cfg, &err) == TP_OK && tp_layout_init(&cfg.model, &L, &err) == TP_OK) {
        tp_fingerprint fp;
        if (tp_fingerprint_parse((const char *)data, size, &L, &fp, &err) == TP_OK) {
            for (int i = 0; i < 2 * fp.n; i++)
                if (fp.samples[i] != fp.samples[i]) abort(); /* accepted samples are finite */
        }
        tp_fingerprint_free(&fp);
        tp_layout_free(&L);
    }
    tp_peer_list pl;
    if (tp_peers_parse((const char *)data, size, 256, &pl, &err) == TP_OK) {
        char *back;
        tp_peer_list again;
        if (tp_peers_to_json(&pl, &back, &err) != TP_OK) abort();
        if (tp_peers_parse(back, strlen(back), 256, &again, &err) != TP_OK || memcmp(&pl, &again, sizeof pl)) abort();
        free(back);
    }
    free(s);
    return 0;
}
