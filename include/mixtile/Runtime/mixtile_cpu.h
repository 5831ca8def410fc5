/*===- mixtile_cpu.h - C interface of a compiled Mixtile model ----*- C -*-===//
 *
 * A model compiled by the CPU back end is a shared library exporting the
 * functions below, plus a weight pack file (docs/CpuBackend.md). The library
 * keeps the KV caches between calls: a prompt is one prefill call, each
 * generated token one decode call, and the logits equal the reference
 * evaluator's bit for bit.
 *
 *   mixtile_model *m = mixtile_model_create("model.weights");
 *   float *logits = malloc(n * mixtile_model_vocab_size(m) * sizeof(float));
 *   mixtile_model_prefill(m, tokens, n, logits);  // logits of every token
 *   mixtile_model_decode(m, next, logits);        // one more token
 *   mixtile_model_free(m);
 *
 * Functions returning int return 0 on success and -1 on error;
 * mixtile_last_error() then describes the error. A model may be used by one
 * thread at a time; different models are independent.
 *
 *===----------------------------------------------------------------------===*/

#ifndef MIXTILE_RUNTIME_MIXTILE_CPU_H
#define MIXTILE_RUNTIME_MIXTILE_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mixtile_model mixtile_model;

/* Maps the weight pack at `weights_path` (which must be the one written
 * with this library) and allocates zeroed KV caches. Returns NULL on
 * error. */
mixtile_model *mixtile_model_create(const char *weights_path);

/* Releases the model and unmaps its weights; NULL is ignored. */
void mixtile_model_free(mixtile_model *model);

/* Runs `n` tokens at positions [position, position + n) and writes their
 * logits, row-major [n, vocab size], to `logits`. Fails (changing nothing)
 * for n < 1, token ids out of range, or positions past the maximum
 * sequence length. */
int mixtile_model_prefill(mixtile_model *model, const int32_t *tokens,
                          int64_t n, float *logits);

/* mixtile_model_prefill of one token: `logits` receives vocab size
 * floats. */
int mixtile_model_decode(mixtile_model *model, int32_t token, float *logits);

/* Forgets the KV caches: the next call runs at position 0. */
void mixtile_model_reset(mixtile_model *model);

/* The position the next token runs at. */
int64_t mixtile_model_position(const mixtile_model *model);
int64_t mixtile_model_vocab_size(const mixtile_model *model);
int64_t mixtile_model_max_seq_len(const mixtile_model *model);

/* The message of the last failed call on this thread ("" if none). */
const char *mixtile_last_error(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MIXTILE_RUNTIME_MIXTILE_CPU_H */
