//===- TensorFile.h - safetensors and GGUF containers -----------*- C++ -*-===//
//
// Readers and writers of the two tensor containers people ship models in.
// Readers return where each tensor's bytes are (no data is copied); writers
// produce files the readers (and other tools) accept.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_TENSORFILE_H
#define MIXTILE_IMPORT_TENSORFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mixtile {

/// Element types the importers accept.
enum class StorageType { F32, F16, BF16 };

/// Bytes per element of a storage type.
unsigned storageWidth(StorageType type);
/// The MLIR spelling ("f32", "f16", "bf16").
llvm::StringRef storageName(StorageType type);

/// Where one tensor lives in a file.
struct TensorInfo {
  std::string name;
  StorageType type;
  /// Row-major shape, outermost first (GGUF's reversed order is undone).
  llvm::SmallVector<int64_t> shape;
  /// Absolute byte offset of the data in the file.
  uint64_t offset;
  /// The file holding the tensor when an index spans several (sharded
  /// safetensors); empty for the file the index was read from.
  std::string file;
};

/// A parsed GGUF metadata value.
using GGUFValue = std::variant<int64_t, double, bool, std::string,
                               std::vector<std::string>, std::vector<float>>;

/// The parsed header of a tensor file.
struct TensorFileIndex {
  std::vector<TensorInfo> tensors;
  llvm::StringMap<size_t> byName;
  /// GGUF metadata, or safetensors' __metadata__ strings.
  llvm::StringMap<GGUFValue> metadata;

  const TensorInfo *find(llvm::StringRef name) const;
};

/// Parses a safetensors file's header; checks every tensor's byte range
/// against the file size and its dtype/shape. Errors name `path`.
llvm::Expected<TensorFileIndex> readSafetensors(llvm::StringRef path,
                                                llvm::ArrayRef<char> bytes);

/// Reads a sharded safetensors index (model.safetensors.index.json: a
/// "weight_map" from tensor name to shard file beside the index) and the
/// header of every shard it names. Tensors carry their shard's path.
llvm::Expected<TensorFileIndex> readSafetensorsIndex(llvm::StringRef path,
                                                     llvm::ArrayRef<char> bytes);

/// Parses a GGUF v3 file (metadata and tensor infos). Errors name `path`.
llvm::Expected<TensorFileIndex> readGGUF(llvm::StringRef path,
                                         llvm::ArrayRef<char> bytes);

/// One f32 tensor to write.
struct TensorData {
  std::string name;
  llvm::SmallVector<int64_t> shape;
  llvm::ArrayRef<float> data;
};

/// Writes f32 tensors as a safetensors file with optional string metadata.
void writeSafetensors(llvm::raw_ostream &os, llvm::ArrayRef<TensorData> tensors,
                      const std::map<std::string, std::string> &metadata = {});

/// Writes a GGUF v3 file with the given metadata and f32 tensors.
void writeGGUF(llvm::raw_ostream &os,
               const std::vector<std::pair<std::string, GGUFValue>> &metadata,
               llvm::ArrayRef<TensorData> tensors);

/// Returns true when `bytes` start like a GGUF file.
bool looksLikeGGUF(llvm::ArrayRef<char> bytes);
/// Returns true when `bytes` start like a safetensors file.
bool looksLikeSafetensors(llvm::ArrayRef<char> bytes);

} // namespace mixtile

#endif // MIXTILE_IMPORT_TENSORFILE_H
