/* libFuzzer target for a commitment read from Subtensor (tp_subtensor_parse_commitment): the Raw
 * field's bytes are whatever the committing hotkey wrote, "URI[\nKEY\nSECRET][\nKEY_TYPE]". An accepted
 * commitment must pass the chain layer's own checks and name a known key type. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "net/chain_subtensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4 * TP_CHAIN_URI_MAX) return 0;
    char *hex = malloc(2 * size + 3);
    if (!hex) return 0;
    memcpy(hex, "0x", 2);
    tp_hex(data, size, hex + 2);
    json_t *reg = json_pack("{s:{s:[{s:s}]}, s:i}", "info", "fields", "Raw128", hex, "block", 7);
    free(hex);
    if (!reg) return 0;
    tp_commitment cm;
    tp_err err;
    if (tp_subtensor_parse_commitment(reg, &cm, &err) == TP_OK) {
        if (tp_chain_check_commitment(&cm, &err) != TP_OK || !tp_key_type_name(cm.key_type) || cm.block != 7) abort();
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_ARG) {
        abort();
    }
    json_decref(reg);
    return 0;
}
