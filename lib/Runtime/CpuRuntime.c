/*===- CpuRuntime.c - the C interface of a compiled model -----------------===//
 *
 * Compiled into every model library next to the generated code: maps the
 * weight pack, owns the KV-cache state and calls @mixtile_forward (through
 * its C interface, _mlir_ciface_mixtile_forward) with memref descriptors.
 * Plain C99 + POSIX, no dependency beyond libc: the library must load
 * anywhere the generated code runs.
 *
 *===----------------------------------------------------------------------===*/

#include "mixtile_cpu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIXTILE_EXPORT __attribute__((visibility("default")))

/* The descriptors of the memrefs @mixtile_forward takes (MLIR's C
 * interface passes each as a pointer to its descriptor). */
typedef struct {
  const int32_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemrefI32;
typedef struct {
  const uint8_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemrefBytes;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemrefLogits;

/* Defined by the generated code. */
void _mlir_ciface_mixtile_forward(MemrefI32 *tokens, MemrefI32 *positions,
                                  int64_t start, MemrefBytes *weights,
                                  MemrefBytes *state, MemrefLogits *logits);
int64_t mixtile_info_abi_version(void);
int64_t mixtile_info_vocab_size(void);
int64_t mixtile_info_max_seq_len(void);
int64_t mixtile_info_state_bytes(void);
int64_t mixtile_info_weight_bytes(void);
int64_t mixtile_info_weight_fingerprint(void);
int64_t mixtile_info_token_limit(void);
int64_t mixtile_info_position_limit(void);

/* kPackVersion is kWeightPackVersion (WeightPack.h). */
enum { kAbiVersion = 1, kHeaderBytes = 64, kPackVersion = 7, kAlign = 64 };
static const char kMagic[8] = {'M', 'X', 'T', 'L', 'W', 'P', 'K', '1'};

/* The weight pack header (WeightPack.h). */
typedef struct {
  char magic[8];
  uint32_t version;
  uint32_t headerBytes;
  uint64_t payloadBytes;
  uint64_t fingerprint;
  uint8_t reserved[32];
} PackHeader;

struct mixtile_model {
  void *mapping;
  size_t mappingBytes;
  uint8_t *state;
  int64_t stateBytes;
  int64_t position, vocab, maxSeq, tokenLimit;
};

static _Thread_local char lastError[512];

static int fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(lastError, sizeof(lastError), format, args);
  va_end(args);
  return -1;
}

MIXTILE_EXPORT const char *mixtile_last_error(void) { return lastError; }

/* Checks the header of the pack mapped at `data` against the library. */
static int checkPack(const char *path, const uint8_t *data, size_t size) {
  PackHeader header;
  if (size < kHeaderBytes)
    return fail("%s: not a weight pack (too short)", path);
  memcpy(&header, data, sizeof(header));
  if (memcmp(header.magic, kMagic, sizeof(kMagic)) != 0)
    return fail("%s: not a weight pack (bad magic)", path);
  if (header.version != kPackVersion || header.headerBytes != kHeaderBytes)
    return fail("%s: weight pack version %u is not supported", path,
                header.version);
  if (header.payloadBytes != (uint64_t)mixtile_info_weight_bytes() ||
      header.fingerprint != (uint64_t)mixtile_info_weight_fingerprint())
    return fail("%s: the weight pack was written for another model or "
                "precision plan than this library",
                path);
  if (size - kHeaderBytes < header.payloadBytes)
    return fail("%s: the weight pack is truncated", path);
  return 0;
}

MIXTILE_EXPORT mixtile_model *mixtile_model_create(const char *weights_path) {
  lastError[0] = '\0';
  if (mixtile_info_abi_version() != kAbiVersion) {
    fail("library ABI version %lld is not supported by this runtime",
         (long long)mixtile_info_abi_version());
    return NULL;
  }
  int fd = open(weights_path, O_RDONLY);
  if (fd < 0) {
    fail("%s: cannot open: %s", weights_path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail("%s: cannot stat: %s", weights_path, strerror(errno));
    close(fd);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  void *mapping =
      size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  close(fd);
  if (mapping == MAP_FAILED) {
    fail("%s: cannot map: %s", weights_path,
         size ? strerror(errno) : "empty file");
    return NULL;
  }
  if (checkPack(weights_path, mapping, size) != 0) {
    munmap(mapping, size);
    return NULL;
  }
  mixtile_model *model = calloc(1, sizeof(*model));
  int64_t stateBytes = mixtile_info_state_bytes();
  void *state = NULL;
  /* At least one aligned block, so that the state pointer is never null. */
  size_t stateAlloc = stateBytes > 0 ? (size_t)stateBytes : kAlign;
  if (!model || posix_memalign(&state, kAlign, stateAlloc) != 0) {
    fail("out of memory allocating %lld bytes of KV cache",
         (long long)stateAlloc);
    free(model);
    munmap(mapping, size);
    return NULL;
  }
  memset(state, 0, stateAlloc);
  model->mapping = mapping;
  model->mappingBytes = size;
  model->state = state;
  model->stateBytes = stateBytes;
  model->vocab = mixtile_info_vocab_size();
  /* Positions index the caches and any position embedding. */
  int64_t maxSeq = mixtile_info_max_seq_len();
  int64_t positionLimit = mixtile_info_position_limit();
  model->maxSeq = maxSeq < positionLimit ? maxSeq : positionLimit;
  model->tokenLimit = mixtile_info_token_limit();
  return model;
}

MIXTILE_EXPORT void mixtile_model_free(mixtile_model *model) {
  if (!model)
    return;
  munmap(model->mapping, model->mappingBytes);
  free(model->state);
  free(model);
}

MIXTILE_EXPORT int mixtile_model_prefill(mixtile_model *model,
                                         const int32_t *tokens, int64_t n,
                                         float *logits) {
  lastError[0] = '\0';
  if (n < 1)
    return fail("no tokens to run");
  if (n > model->maxSeq || model->position > model->maxSeq - n)
    return fail("%lld tokens at position %lld exceed the model's maximum "
                "sequence length %lld",
                (long long)n, (long long)model->position,
                (long long)model->maxSeq);
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= model->tokenLimit)
      return fail("token id %d is out of range [0, %lld)", (int)tokens[i],
                  (long long)model->tokenLimit);
  int32_t *positions = malloc((size_t)n * sizeof(int32_t));
  if (!positions)
    return fail("out of memory");
  for (int64_t i = 0; i < n; ++i)
    positions[i] = (int32_t)(model->position + i);
  const uint8_t *payload = (const uint8_t *)model->mapping + kHeaderBytes;
  MemrefI32 tokenRef = {tokens, tokens, 0, {n}, {1}};
  MemrefI32 positionRef = {positions, positions, 0, {n}, {1}};
  MemrefBytes weightRef = {
      payload, payload, 0, {mixtile_info_weight_bytes()}, {1}};
  MemrefBytes stateRef = {
      model->state, model->state, 0, {model->stateBytes}, {1}};
  MemrefLogits logitRef = {
      logits, logits, 0, {n, model->vocab}, {model->vocab, 1}};
  _mlir_ciface_mixtile_forward(&tokenRef, &positionRef, model->position,
                               &weightRef, &stateRef, &logitRef);
  free(positions);
  model->position += n;
  return 0;
}

MIXTILE_EXPORT int mixtile_model_decode(mixtile_model *model, int32_t token,
                                        float *logits) {
  return mixtile_model_prefill(model, &token, 1, logits);
}

MIXTILE_EXPORT void mixtile_model_reset(mixtile_model *model) {
  if (model->stateBytes > 0)
    memset(model->state, 0, (size_t)model->stateBytes);
  model->position = 0;
}

MIXTILE_EXPORT int64_t mixtile_model_position(const mixtile_model *model) {
  return model->position;
}

MIXTILE_EXPORT int64_t mixtile_model_vocab_size(const mixtile_model *model) {
  return model->vocab;
}

MIXTILE_EXPORT int64_t mixtile_model_max_seq_len(const mixtile_model *model) {
  return model->maxSeq;
}
