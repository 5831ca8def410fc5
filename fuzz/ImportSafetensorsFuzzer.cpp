//===- ImportSafetensorsFuzzer.cpp - fuzz the safetensors importer --------===//
//
// A safetensors model is a directory, so the input is several files joined
// by kFileSeparator:
//   0: config.json (empty: no config.json, the header's __metadata__ is read)
//   1: the model: model.safetensors.index.json when it starts with '{',
//      else model.safetensors
//   2..: shards model-<i>-of-<n>.safetensors, i from 1 (sharded models)
// They are written to a scratch directory, the model is imported, and the
// result is checked and its weights inlined from the files.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Import/ModelFormats.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mixtile;

/// Joins the files of one input (scripts/fuzz-seeds.sh writes the same).
static constexpr llvm::StringLiteral kFileSeparator =
    "\n--mixtile-fuzz-file--\n";

/// The name Hugging Face gives shard `i` of `n`.
static std::string shardName(size_t i, size_t n) {
  std::string name;
  llvm::raw_string_ostream(name)
      << llvm::format("model-%05zu-of-%05zu.safetensors", i, n);
  return name;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz::ScratchDir dir;
  llvm::SmallVector<llvm::StringRef> parts;
  fuzz::asText(data, size).split(parts, kFileSeparator);
  // At most 8 shards: enough for every code path, and a bounded directory.
  if (parts.size() < 2 || parts.size() > 10)
    return 0;

  if (parts[0].empty())
    dir.removeFile("config.json");
  else
    dir.writeFile("config.json", parts[0]);
  bool sharded = parts[1].starts_with("{");
  std::string modelName =
      sharded ? "model.safetensors.index.json" : "model.safetensors";
  dir.writeFile(modelName, parts[1]);
  // Files of an earlier input must not leak into this one.
  dir.removeFile(sharded ? "model.safetensors"
                         : "model.safetensors.index.json");
  static llvm::SmallVector<std::string> shardNames;
  for (const std::string &name : shardNames)
    dir.removeFile(name);
  shardNames.clear();
  size_t shards = parts.size() - 2;
  for (size_t i = 0; i < shards; ++i) {
    shardNames.push_back(shardName(i + 1, shards));
    dir.writeFile(shardNames.back(), parts[i + 2]);
  }

  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  llvm::ArrayRef<char> bytes(parts[1].data(), parts[1].size());
  auto module = importSafetensors(ctx.get(), dir.filePath(modelName), bytes);
  if (!module) {
    fuzz::ignore(module.takeError());
    return 0;
  }
  fuzz::checkImportedModel(**module, "importSafetensors");
  return 0;
}
