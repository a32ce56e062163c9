/* A LLaMA model on the CPU: parameters, gradients and activations each in one allocation; forward
 * with mean token cross-entropy and a full backward pass. Maths identical to HF LlamaForCausalLM. */
#ifndef TP_MODEL_LLAMA_H
#define TP_MODEL_LLAMA_H

#include <stdint.h>

#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"

typedef struct tp_llama_acts tp_llama_acts;

typedef struct {
    tp_model_config cfg;
    tp_layout layout;
    float *params;         /* layout.total floats */
    float *grads;          /* layout.total floats, or NULL for inference-only models */
    int max_b, max_t;      /* activation capacity */
    tp_llama_acts *acts;
    int nthreads;
} tp_llama;

/* with_grads = 0 builds an inference-only model (no gradient buffer). Parameters start at zero. */
tp_status tp_llama_create(const tp_model_config *cfg, int max_b, int max_t, int with_grads, tp_llama **out,
                          tp_err *err);
void tp_llama_free(tp_llama *m);

/* Weight matrices ~ N(0, std²) (output projections scaled by 1/sqrt(2·layers)), norm gains 1. */
void tp_llama_init_random(tp_llama *m, uint64_t seed, float std);

/* Forward pass on tokens [b, t] (b ≤ max_b, t ≤ max_t): position i predicts token i+1; the last
 * position and targets equal to ignore_token (−1: none) do not count. *loss = mean cross-entropy over
 * the counted targets (0 if none). Fails on a token outside the vocabulary. */
tp_status tp_llama_forward(tp_llama *m, const int32_t *tokens, int b, int t, int ignore_token, float *loss,
                           tp_err *err);
/* Gradients of the last forward's loss, written to m->grads (overwritten, not accumulated). */
void tp_llama_backward(tp_llama *m);
/* Logits of the last position of each row after a forward with ignore_token semantics irrelevant:
 * runs the network on tokens [b, t] and returns a pointer to the [b, t, vocab] logits. */
tp_status tp_llama_logits(tp_llama *m, const int32_t *tokens, int b, int t, const float **logits, tp_err *err);

/* Number of targets that counted in the last forward. */
int64_t tp_llama_last_target_count(const tp_llama *m);
/* Per row of the last forward: the summed cross-entropy of its counted targets (sum[r]) and how many
 * counted (count[r]); r < b. Computed from the probabilities the forward left. */
void tp_llama_last_row_losses(const tp_llama *m, double *sum, int64_t *count);

/* Matmul FLOPs of one training step (forward + backward) on b·t tokens. */
double tp_llama_step_flops(const tp_model_config *c, int b, int t);

#endif
