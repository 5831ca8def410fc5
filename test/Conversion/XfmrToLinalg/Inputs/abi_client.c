/* A C program using a compiled model library through mixtile_cpu.h only:
 *
 *   abi_client WEIGHTS TOKENS REFERENCE [OTHER_WEIGHTS]
 *
 * TOKENS holds token ids, one per line; REFERENCE the evaluator's logits of
 * their prefill (raw f32). The client checks that one prefill and then
 * token-by-token decoding both reproduce REFERENCE byte for byte, and
 * reports the errors of bad calls (and of OTHER_WEIGHTS, a pack written for
 * another plan). */

#include "mixtile_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *readFloats(const char *path, long *count) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  fseek(file, 0, SEEK_END);
  long bytes = ftell(file);
  fseek(file, 0, SEEK_SET);
  float *data = malloc(bytes);
  *count = bytes / (long)sizeof(float);
  if (fread(data, 1, bytes, file) != (size_t)bytes)
    *count = -1;
  fclose(file);
  return data;
}

int main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  mixtile_model *model = mixtile_model_create(argv[1]);
  if (!model) {
    printf("create failed: %s\n", mixtile_last_error());
    return 1;
  }
  int64_t vocab = mixtile_model_vocab_size(model);
  printf("vocab %lld, max seq %lld\n", (long long)vocab,
         (long long)mixtile_model_max_seq_len(model));

  int32_t tokens[1024];
  int64_t n = 0;
  FILE *file = fopen(argv[2], "r");
  while (n < 1024 && fscanf(file, "%d", &tokens[n]) == 1)
    ++n;
  fclose(file);
  long count;
  float *reference = readFloats(argv[3], &count);
  if (!reference || count != n * vocab) {
    printf("bad reference logits\n");
    return 1;
  }
  float *logits = malloc(n * vocab * sizeof(float));

  if (mixtile_model_prefill(model, tokens, n, logits) != 0) {
    printf("prefill failed: %s\n", mixtile_last_error());
    return 1;
  }
  printf("prefill of %lld tokens: %s, position %lld\n", (long long)n,
         memcmp(logits, reference, n * vocab * sizeof(float)) ? "DIFFERENT"
                                                              : "identical",
         (long long)mixtile_model_position(model));

  mixtile_model_reset(model);
  int same = 1;
  for (int64_t i = 0; i < n; ++i) {
    if (mixtile_model_decode(model, tokens[i], logits + i * vocab) != 0) {
      printf("decode failed: %s\n", mixtile_last_error());
      return 1;
    }
  }
  same = !memcmp(logits, reference, n * vocab * sizeof(float));
  printf("decode token by token: %s, position %lld\n",
         same ? "identical" : "DIFFERENT",
         (long long)mixtile_model_position(model));

  /* Errors leave the model as it was. */
  int32_t bad = (int32_t)vocab;
  if (mixtile_model_decode(model, bad, logits) != 0)
    printf("error: %s\n", mixtile_last_error());
  if (mixtile_model_prefill(model, tokens, 0, logits) != 0)
    printf("error: %s\n", mixtile_last_error());
  int64_t left =
      mixtile_model_max_seq_len(model) - mixtile_model_position(model);
  int32_t *many = calloc(left + 1, sizeof(int32_t));
  float *manyLogits = malloc((left + 1) * vocab * sizeof(float));
  if (mixtile_model_prefill(model, many, left + 1, manyLogits) != 0)
    printf("error: %s\n", mixtile_last_error());
  printf("position after errors %lld\n",
         (long long)mixtile_model_position(model));
  mixtile_model_free(model);

  if (!mixtile_model_create("/nonexistent/model.weights"))
    printf("error: %s\n", mixtile_last_error());
  if (argc > 4 && !mixtile_model_create(argv[4]))
    printf("error: %s\n", mixtile_last_error());
  return 0;
}
