//===- TensorFile.cpp - safetensors and GGUF containers -------------------===//
//
// safetensors: u64 header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}} with offsets relative to the end of the header,
// then the data. GGUF v3: magic, version, tensor and metadata counts, typed
// key/value metadata, tensor infos (name, dims innermost first, type, offset
// relative to the aligned data section), then the data.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/TensorFile.h"
#include "mixtile/Import/WeightStore.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mixtile;
using llvm::ArrayRef;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

unsigned mixtile::storageWidth(StorageType type) {
  return type == StorageType::F32 ? 4 : 2;
}

StringRef mixtile::storageName(StorageType type) {
  switch (type) {
  case StorageType::F32:
    return "f32";
  case StorageType::F16:
    return "f16";
  case StorageType::BF16:
    return "bf16";
  }
  llvm_unreachable("unknown storage type");
}

const TensorInfo *TensorFileIndex::find(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &tensors[it->second];
}

static Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createFileError(path, llvm::createStringError(message));
}

/// Checks that a tensor's bytes lie inside the file and registers it.
static Error addTensor(StringRef path, TensorFileIndex &index, TensorInfo info,
                       uint64_t fileSize) {
  Expected<uint64_t> count = checkedElementCount(info.shape);
  if (!count)
    return fileError(path, "tensor '" + info.name +
                               "': " + llvm::toString(count.takeError()));
  std::optional<uint64_t> bytes =
      llvm::checkedMulUnsigned<uint64_t>(*count, storageWidth(info.type));
  std::optional<uint64_t> end =
      bytes ? llvm::checkedAddUnsigned(info.offset, *bytes) : std::nullopt;
  if (!end || *end > fileSize)
    return fileError(path, "tensor '" + info.name + "' data at offset " +
                               llvm::Twine(info.offset) +
                               " runs past the end of the file (" +
                               llvm::Twine(fileSize) + " bytes)");
  if (!index.byName.try_emplace(info.name, index.tensors.size()).second)
    return fileError(path, "tensor '" + info.name + "' appears twice");
  index.tensors.push_back(std::move(info));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

bool mixtile::looksLikeSafetensors(ArrayRef<char> bytes) {
  if (bytes.size() < 9)
    return false;
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  return length <= bytes.size() - 8 && bytes[8] == '{';
}

static std::optional<StorageType> parseSafetensorsDType(StringRef dtype) {
  if (dtype == "F32")
    return StorageType::F32;
  if (dtype == "F16")
    return StorageType::F16;
  if (dtype == "BF16")
    return StorageType::BF16;
  return std::nullopt;
}

/// Parses one header entry into `info`.
static Error parseSafetensorsEntry(StringRef path, StringRef name,
                                   const llvm::json::Object &entry,
                                   uint64_t dataStart, TensorInfo &info) {
  auto fail = [&](const llvm::Twine &message) {
    return fileError(path, "tensor '" + name + "': " + message);
  };
  std::optional<StringRef> dtype = entry.getString("dtype");
  const llvm::json::Array *shape = entry.getArray("shape");
  const llvm::json::Array *offsets = entry.getArray("data_offsets");
  if (!dtype || !shape || !offsets || offsets->size() != 2)
    return fail("needs dtype, shape and data_offsets [begin, end]");
  std::optional<StorageType> type = parseSafetensorsDType(*dtype);
  if (!type)
    return fail("unsupported dtype " + *dtype + " (expected F32, F16 or BF16)");
  info.name = name.str();
  info.type = *type;
  for (const llvm::json::Value &dim : *shape) {
    std::optional<int64_t> d = dim.getAsInteger();
    if (!d || *d < 0)
      return fail("shape entries must be non-negative integers");
    info.shape.push_back(*d);
  }
  std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
  std::optional<int64_t> end = (*offsets)[1].getAsInteger();
  if (!begin || !end || *begin < 0 || *end < *begin)
    return fail("bad data_offsets");
  Expected<uint64_t> count = checkedElementCount(info.shape);
  if (!count)
    return fail(llvm::toString(count.takeError()));
  std::optional<uint64_t> bytes =
      llvm::checkedMulUnsigned<uint64_t>(*count, storageWidth(*type));
  if (!bytes || *bytes != static_cast<uint64_t>(*end - *begin))
    return fail("data_offsets span " + llvm::Twine(*end - *begin) +
                " bytes but dtype and shape need " +
                (bytes ? llvm::Twine(*bytes) : llvm::Twine("more than 2^64")));
  info.offset = dataStart + *begin;
  return Error::success();
}

Expected<TensorFileIndex> mixtile::readSafetensors(StringRef path,
                                                   ArrayRef<char> bytes) {
  if (bytes.size() < 8)
    return fileError(path, "truncated safetensors header length");
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  if (length > bytes.size() - 8)
    return fileError(path, "safetensors header of " + llvm::Twine(length) +
                               " bytes runs past the end of the file");
  StringRef headerText(bytes.data() + 8, length);
  Expected<llvm::json::Value> header = llvm::json::parse(headerText);
  if (!header)
    return fileError(path, "bad safetensors JSON header: " +
                               llvm::toString(header.takeError()));
  const llvm::json::Object *object = header->getAsObject();
  if (!object)
    return fileError(path, "safetensors header is not a JSON object");
  TensorFileIndex index;
  uint64_t dataStart = 8 + length;
  // Sort names so the index order does not depend on hashing.
  std::vector<std::string> names;
  for (const auto &kv : *object)
    if (kv.first != "__metadata__")
      names.push_back(kv.first.str());
  if (const llvm::json::Object *meta = object->getObject("__metadata__"))
    for (const auto &kv : *meta)
      if (std::optional<StringRef> value = kv.second.getAsString())
        index.metadata[kv.first] = value->str();
  llvm::sort(names);
  for (const std::string &name : names) {
    const llvm::json::Object *entry = object->getObject(name);
    if (!entry)
      return fileError(path, "tensor '" + name + "' is not a JSON object");
    TensorInfo info;
    if (Error error =
            parseSafetensorsEntry(path, name, *entry, dataStart, info))
      return std::move(error);
    if (Error error = addTensor(path, index, std::move(info), bytes.size()))
      return std::move(error);
  }
  return index;
}

Expected<TensorFileIndex> mixtile::readSafetensorsIndex(StringRef path,
                                                        ArrayRef<char> bytes) {
  Expected<llvm::json::Value> json =
      llvm::json::parse(StringRef(bytes.data(), bytes.size()));
  if (!json)
    return fileError(path, "bad JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *map = root ? root->getObject("weight_map") : nullptr;
  if (!map)
    return fileError(path, "a sharded index needs a \"weight_map\" object");
  // Read each shard once; keep the tensors the map assigns to it.
  llvm::StringMap<std::string> shardOf;
  std::vector<std::string> shards;
  for (const auto &[name, shard] : *map) {
    std::optional<StringRef> file = shard.getAsString();
    if (!file)
      return fileError(path, "weight_map entry '" + name.str() +
                                 "' is not a file name");
    shardOf[name.str()] = file->str();
    if (!llvm::is_contained(shards, file->str()))
      shards.push_back(file->str());
  }
  llvm::sort(shards);
  TensorFileIndex merged;
  for (const std::string &shard : shards) {
    llvm::SmallString<256> shardPath(llvm::sys::path::parent_path(path));
    llvm::sys::path::append(shardPath, shard);
    auto buffer = llvm::MemoryBuffer::getFile(shardPath, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return llvm::createFileError(shardPath, buffer.getError());
    Expected<TensorFileIndex> index = readSafetensors(
        shardPath, {(*buffer)->getBufferStart(), (*buffer)->getBufferSize()});
    if (!index)
      return index.takeError();
    for (TensorInfo &info : index->tensors) {
      auto it = shardOf.find(info.name);
      if (it == shardOf.end() || it->second != shard)
        continue;
      info.file = std::string(shardPath);
      // Ranges were checked against the shard's own size above.
      if (Error error = addTensor(path, merged, std::move(info), UINT64_MAX))
        return std::move(error);
    }
  }
  std::vector<std::string> names;
  for (const auto &entry : shardOf)
    names.push_back(entry.first().str());
  llvm::sort(names);
  for (const std::string &name : names)
    if (!merged.find(name))
      return fileError(path, "tensor '" + name + "' is not in its shard '" +
                                 shardOf[name] + "'");
  return merged;
}

void mixtile::writeSafetensors(llvm::raw_ostream &os,
                               ArrayRef<TensorData> tensors,
                               const std::map<std::string, std::string> &metadata) {
  llvm::json::Object header;
  if (!metadata.empty()) {
    llvm::json::Object meta;
    for (const auto &[key, value] : metadata)
      meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const TensorData &t : tensors) {
    llvm::json::Array shape;
    for (int64_t d : t.shape)
      shape.push_back(d);
    uint64_t size = t.data.size() * 4;
    header[t.name] = llvm::json::Object{
        {"dtype", "F32"},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{static_cast<int64_t>(offset),
                                           static_cast<int64_t>(offset + size)}}};
    offset += size;
  }
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(header));
  // Pad the header with spaces so the data starts 8-byte aligned.
  text.append((8 - (text.size() % 8)) % 8, ' ');
  uint64_t length = text.size();
  os.write(reinterpret_cast<const char *>(&length), 8);
  os << text;
  for (const TensorData &t : tensors)
    os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
}

//===----------------------------------------------------------------------===//
// GGUF
//===----------------------------------------------------------------------===//

namespace {

constexpr uint32_t kGGUFMagic = 0x46554747; // "GGUF" little-endian.

enum GGUFType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12
};

/// A bounds-checked little-endian reader over the file.
class Reader {
public:
  Reader(StringRef path, ArrayRef<char> bytes) : path(path), bytes(bytes) {}

  template <typename T> Expected<T> read() {
    if (bytes.size() - pos < sizeof(T))
      return truncated();
    T value;
    std::memcpy(&value, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return value;
  }

  Expected<std::string> readString() {
    Expected<uint64_t> length = read<uint64_t>();
    if (!length)
      return length.takeError();
    if (*length > bytes.size() - pos)
      return truncated();
    std::string s(bytes.data() + pos, *length);
    pos += *length;
    return s;
  }

  Error truncated() {
    return fileError(path, "truncated GGUF file at byte " + llvm::Twine(pos));
  }

  StringRef path;
  ArrayRef<char> bytes;
  uint64_t pos = 0;
};

/// Size in bytes of a fixed-size GGUF scalar type, or 0.
unsigned scalarSize(uint32_t type) {
  switch (type) {
  case U8: case I8: case Bool: return 1;
  case U16: case I16: return 2;
  case U32: case I32: case F32: return 4;
  case U64: case I64: case F64: return 8;
  default: return 0;
  }
}

/// Reads a scalar of `type` as int64 or double.
Expected<GGUFValue> readScalar(Reader &r, uint32_t type) {
  auto widen = [](auto value) -> Expected<GGUFValue> {
    if (!value)
      return value.takeError();
    using T = std::decay_t<decltype(*value)>;
    if constexpr (std::is_floating_point_v<T>)
      return GGUFValue(static_cast<double>(*value));
    else
      return GGUFValue(static_cast<int64_t>(*value));
  };
  switch (type) {
  case U8: return widen(r.read<uint8_t>());
  case I8: return widen(r.read<int8_t>());
  case U16: return widen(r.read<uint16_t>());
  case I16: return widen(r.read<int16_t>());
  case U32: return widen(r.read<uint32_t>());
  case I32: return widen(r.read<int32_t>());
  case U64: return widen(r.read<uint64_t>());
  case I64: return widen(r.read<int64_t>());
  case F32: return widen(r.read<float>());
  case F64: return widen(r.read<double>());
  case Bool: {
    Expected<uint8_t> b = r.read<uint8_t>();
    if (!b)
      return b.takeError();
    return GGUFValue(*b != 0);
  }
  default:
    return fileError(r.path, "unknown GGUF value type " + llvm::Twine(type));
  }
}

/// Reads an array; strings and f32 arrays are kept, others are skipped.
Expected<GGUFValue> readArray(Reader &r) {
  Expected<uint32_t> type = r.read<uint32_t>();
  Expected<uint64_t> count = type ? r.read<uint64_t>() : Expected<uint64_t>(0);
  if (!type)
    return type.takeError();
  if (!count)
    return count.takeError();
  if (*type == String) {
    std::vector<std::string> strings;
    for (uint64_t i = 0; i < *count; ++i) {
      Expected<std::string> s = r.readString();
      if (!s)
        return s.takeError();
      strings.push_back(std::move(*s));
    }
    return GGUFValue(std::move(strings));
  }
  unsigned size = scalarSize(*type);
  if (size == 0)
    return fileError(r.path, "unsupported GGUF array element type " +
                                 llvm::Twine(*type));
  if (*count > (r.bytes.size() - r.pos) / size)
    return r.truncated();
  std::vector<float> values;
  for (uint64_t i = 0; i < *count; ++i) {
    Expected<GGUFValue> v = readScalar(r, *type);
    if (!v)
      return v.takeError();
    if (auto *d = std::get_if<double>(&*v))
      values.push_back(static_cast<float>(*d));
    else if (auto *n = std::get_if<int64_t>(&*v))
      values.push_back(static_cast<float>(*n));
  }
  return GGUFValue(std::move(values));
}

Expected<GGUFValue> readValue(Reader &r, uint32_t type) {
  if (type == String) {
    Expected<std::string> s = r.readString();
    if (!s)
      return s.takeError();
    return GGUFValue(std::move(*s));
  }
  if (type == Array)
    return readArray(r);
  return readScalar(r, type);
}

std::optional<StorageType> parseGGMLType(uint32_t type) {
  switch (type) {
  case 0: return StorageType::F32;
  case 1: return StorageType::F16;
  case 30: return StorageType::BF16;
  default: return std::nullopt;
  }
}

/// Reads one tensor info; offsets stay relative until the data start is known.
Expected<TensorInfo> readTensorInfo(Reader &r) {
  Expected<std::string> name = r.readString();
  if (!name)
    return name.takeError();
  Expected<uint32_t> rank = r.read<uint32_t>();
  if (!rank)
    return rank.takeError();
  if (*rank == 0 || *rank > 8)
    return fileError(r.path, "tensor '" + *name + "' has rank " +
                                 llvm::Twine(*rank) + " (expected 1 to 8)");
  TensorInfo info;
  info.name = *name;
  for (uint32_t i = 0; i < *rank; ++i) {
    Expected<uint64_t> dim = r.read<uint64_t>();
    if (!dim)
      return dim.takeError();
    if (*dim > static_cast<uint64_t>(INT64_MAX))
      return fileError(r.path, "tensor '" + *name + "' has a dimension "
                                   "larger than 2^63");
    // GGUF lists dimensions innermost first.
    info.shape.insert(info.shape.begin(), static_cast<int64_t>(*dim));
  }
  Expected<uint32_t> type = r.read<uint32_t>();
  if (!type)
    return type.takeError();
  std::optional<StorageType> storage = parseGGMLType(*type);
  if (!storage)
    return fileError(r.path, "tensor '" + *name + "' has unsupported GGML "
                                 "type " + llvm::Twine(*type) +
                                 " (expected F32, F16 or BF16)");
  info.type = *storage;
  Expected<uint64_t> offset = r.read<uint64_t>();
  if (!offset)
    return offset.takeError();
  info.offset = *offset;
  return info;
}

} // namespace

bool mixtile::looksLikeGGUF(ArrayRef<char> bytes) {
  uint32_t magic = 0;
  if (bytes.size() >= 4)
    std::memcpy(&magic, bytes.data(), 4);
  return magic == kGGUFMagic;
}

Expected<TensorFileIndex> mixtile::readGGUF(StringRef path,
                                            ArrayRef<char> bytes) {
  Reader r(path, bytes);
  Expected<uint32_t> magic = r.read<uint32_t>();
  if (!magic)
    return magic.takeError();
  if (*magic != kGGUFMagic)
    return fileError(path, "not a GGUF file (bad magic)");
  Expected<uint32_t> version = r.read<uint32_t>();
  if (!version)
    return version.takeError();
  if (*version != 3)
    return fileError(path, "unsupported GGUF version " +
                               llvm::Twine(*version) + " (expected 3)");
  Expected<uint64_t> tensorCount = r.read<uint64_t>();
  if (!tensorCount)
    return tensorCount.takeError();
  Expected<uint64_t> kvCount = r.read<uint64_t>();
  if (!kvCount)
    return kvCount.takeError();
  TensorFileIndex index;
  for (uint64_t i = 0; i < *kvCount; ++i) {
    Expected<std::string> key = r.readString();
    if (!key)
      return key.takeError();
    Expected<uint32_t> type = r.read<uint32_t>();
    if (!type)
      return type.takeError();
    Expected<GGUFValue> value = readValue(r, *type);
    if (!value)
      return value.takeError();
    index.metadata[*key] = std::move(*value);
  }
  std::vector<TensorInfo> infos;
  for (uint64_t i = 0; i < *tensorCount; ++i) {
    Expected<TensorInfo> info = readTensorInfo(r);
    if (!info)
      return info.takeError();
    infos.push_back(std::move(*info));
  }
  uint64_t alignment = 32;
  if (auto it = index.metadata.find("general.alignment");
      it != index.metadata.end())
    if (auto *a = std::get_if<int64_t>(&it->second))
      alignment = *a;
  if (alignment == 0 || !llvm::isPowerOf2_64(alignment))
    return fileError(path, "general.alignment must be a power of two");
  uint64_t dataStart = llvm::alignTo(r.pos, alignment);
  for (TensorInfo &info : infos) {
    std::optional<uint64_t> offset =
        llvm::checkedAddUnsigned(dataStart, info.offset);
    if (!offset)
      return fileError(path, "tensor '" + info.name + "' offset overflows");
    info.offset = *offset;
    if (Error error = addTensor(path, index, std::move(info), bytes.size()))
      return std::move(error);
  }
  return index;
}

namespace {

/// Writes GGUF's little-endian primitives.
struct Writer {
  llvm::raw_ostream &os;
  uint64_t written = 0;

  template <typename T> void put(T value) {
    os.write(reinterpret_cast<const char *>(&value), sizeof(T));
    written += sizeof(T);
  }
  void putString(StringRef s) {
    put<uint64_t>(s.size());
    os << s;
    written += s.size();
  }
  void putValue(const GGUFValue &value) {
    if (auto *n = std::get_if<int64_t>(&value)) {
      put<uint32_t>(I64);
      put<int64_t>(*n);
    } else if (auto *d = std::get_if<double>(&value)) {
      put<uint32_t>(F32);
      put<float>(static_cast<float>(*d));
    } else if (auto *b = std::get_if<bool>(&value)) {
      put<uint32_t>(Bool);
      put<uint8_t>(*b);
    } else if (auto *s = std::get_if<std::string>(&value)) {
      put<uint32_t>(String);
      putString(*s);
    } else if (auto *strings = std::get_if<std::vector<std::string>>(&value)) {
      put<uint32_t>(Array);
      put<uint32_t>(String);
      put<uint64_t>(strings->size());
      for (const std::string &s : *strings)
        putString(s);
    } else {
      const auto &floats = std::get<std::vector<float>>(value);
      put<uint32_t>(Array);
      put<uint32_t>(F32);
      put<uint64_t>(floats.size());
      for (float f : floats)
        put<float>(f);
    }
  }
  void pad(uint64_t alignment) {
    while (written % alignment) {
      os << '\0';
      ++written;
    }
  }
};

} // namespace

void mixtile::writeGGUF(
    llvm::raw_ostream &os,
    const std::vector<std::pair<std::string, GGUFValue>> &metadata,
    ArrayRef<TensorData> tensors) {
  constexpr uint64_t alignment = 32;
  {
    Writer w{os};
    w.put<uint32_t>(kGGUFMagic);
    w.put<uint32_t>(3);
    w.put<uint64_t>(tensors.size());
    w.put<uint64_t>(metadata.size());
    for (const auto &[key, value] : metadata) {
      w.putString(key);
      w.putValue(value);
    }
    uint64_t offset = 0;
    for (const TensorData &t : tensors) {
      w.putString(t.name);
      w.put<uint32_t>(t.shape.size());
      for (int64_t d : llvm::reverse(t.shape))
        w.put<uint64_t>(d);
      w.put<uint32_t>(0); // F32
      w.put<uint64_t>(offset);
      offset = llvm::alignTo(offset + t.data.size() * 4, alignment);
    }
    w.pad(alignment);
    for (const TensorData &t : tensors) {
      os.write(reinterpret_cast<const char *>(t.data.data()),
               t.data.size() * 4);
      w.written += t.data.size() * 4;
      w.pad(alignment);
    }
  }
}
