//===- WeightStore.cpp - memory-mapped model weights ----------------------===//
//
// Maps model files and resolves xfmr.weight references to float arrays.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/WeightStore.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mixtile;
using llvm::ArrayRef;
using llvm::Expected;
using llvm::StringRef;

Expected<uint64_t> mixtile::checkedElementCount(ArrayRef<int64_t> shape) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return llvm::createStringError("negative or dynamic dimension in shape");
    std::optional<uint64_t> product =
        llvm::checkedMulUnsigned(count, static_cast<uint64_t>(dim));
    if (!product)
      return llvm::createStringError("shape has more than 2^64 elements");
    count = *product;
  }
  return count;
}

std::string WeightStore::resolve(StringRef file) const {
  // Relative names are tried as given (relative to the working directory, as
  // the importer saw them) and then next to the IR file.
  if (baseDir.empty() || llvm::sys::path::is_absolute(file) ||
      llvm::sys::fs::exists(file))
    return file.str();
  llvm::SmallString<256> path(baseDir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

Expected<ArrayRef<char>> WeightStore::mapFile(StringRef file) {
  std::lock_guard<std::mutex> lock(mutex);
  std::string path = resolve(file);
  auto it = files.find(path);
  if (it == files.end()) {
    auto buffer = llvm::MemoryBuffer::getFile(
        path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buffer)
      return llvm::createFileError(path, buffer.getError());
    it = files.try_emplace(path, std::move(*buffer)).first;
  }
  const llvm::MemoryBuffer &buffer = *it->second;
  return ArrayRef<char>(buffer.getBufferStart(), buffer.getBufferSize());
}

/// Widens 16-bit floats to f32: f16 via the IEEE layout, bf16 by shifting.
static void widen16(const char *src, float *dst, uint64_t count, bool isBF16) {
  for (uint64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    if (isBF16) {
      dst[i] = llvm::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
      continue;
    }
    llvm::APFloat half(llvm::APFloat::IEEEhalf(), llvm::APInt(16, bits));
    dst[i] = half.convertToFloat();
  }
}

Expected<ArrayRef<float>> WeightStore::get(StringRef file, StringRef key,
                                           uint64_t offset, mlir::Type storage,
                                           uint64_t count) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(resolve(file), llvm::createStringError(
                                                    "weight '" + key + "': " +
                                                    message));
  };
  unsigned width = 0;
  if (storage.isF32())
    width = 4;
  else if (storage.isF16() || storage.isBF16())
    width = 2;
  else
    return fail("unsupported storage type (expected f32, f16 or bf16)");
  Expected<ArrayRef<char>> bytes = mapFile(file);
  if (!bytes)
    return bytes.takeError();
  std::optional<uint64_t> size = llvm::checkedMulUnsigned<uint64_t>(count, width);
  std::optional<uint64_t> end =
      size ? llvm::checkedAddUnsigned(offset, *size) : std::nullopt;
  if (!end || *end > bytes->size())
    return fail("data at offset " + llvm::Twine(offset) + " (" +
                llvm::Twine(count) + " elements) runs past the end of the "
                "file (" + llvm::Twine(bytes->size()) + " bytes)");
  const char *data = bytes->data() + offset;
  if (width == 4 && reinterpret_cast<uintptr_t>(data) % alignof(float) == 0)
    return ArrayRef<float>(reinterpret_cast<const float *>(data), count);
  auto copy = std::make_unique<std::vector<float>>(count);
  if (width == 4)
    std::memcpy(copy->data(), data, count * 4);
  else
    widen16(data, copy->data(), count, storage.isBF16());
  std::lock_guard<std::mutex> lock(mutex);
  widened.push_back(std::move(copy));
  return ArrayRef<float>(*widened.back());
}

/// Generates (once) the tensor of a seeded synthetic model.
Expected<ArrayRef<float>> WeightStore::getSynthetic(xfmr::WeightOp op,
                                                    uint64_t count) {
  StringRef file = op.getFile();
  if (file == kShapesOnlyFile)
    return llvm::createStringError(
        "weight '" + op.getKey() +
        "' has no data: the model was synthesized shapes-only");
  uint64_t seed;
  if (file.drop_front(kSyntheticFilePrefix.size()).getAsInteger(10, seed))
    return llvm::createStringError("bad synthetic weight file '" + file +
                                   "' (expected synthetic:<seed>)");
  auto data = std::make_unique<std::vector<float>>(count);
  generateSyntheticTensor(seed, op.getKey(), op.getType().getShape(), *data);
  std::lock_guard<std::mutex> lock(mutex);
  widened.push_back(std::move(data));
  return ArrayRef<float>(*widened.back());
}

Expected<ArrayRef<float>> WeightStore::get(xfmr::WeightOp op) {
  Expected<uint64_t> count = checkedElementCount(op.getType().getShape());
  if (!count)
    return count.takeError();
  if (op.getFile().starts_with(kSyntheticFilePrefix) ||
      op.getFile() == kShapesOnlyFile)
    return getSynthetic(op, *count);
  std::optional<int64_t> offset = op.getOffset();
  if (!offset)
    return llvm::createFileError(
        resolve(op.getFile()),
        llvm::createStringError("weight '" + op.getKey() +
                                "' has no offset; run the importer again to "
                                "record where it is stored"));
  mlir::Type storage = op.getStorageType().value_or(op.getType().getElementType());
  if (op.isPlainLayout())
    return get(op.getFile(), op.getKey(), *offset, storage, *count);
  return getRelaidOut(op, *offset, storage, *count);
}

Expected<float> WeightStore::maxFiniteAbs(xfmr::WeightOp op) {
  StringRef file = op.getFile();
  uint64_t seed;
  if (file.starts_with(kSyntheticFilePrefix) &&
      !file.drop_front(kSyntheticFilePrefix.size()).getAsInteger(10, seed))
    return syntheticMaxAbs(seed, op.getKey(), op.getType().getShape());
  Expected<ArrayRef<float>> data = get(op);
  if (!data)
    return data.takeError();
  return numerics::maxFiniteAbs(data->data(), data->size());
}

llvm::Error WeightStore::getRows(xfmr::WeightOp op, ArrayRef<int64_t> rows,
                                 std::vector<float> &out) {
  ArrayRef<int64_t> shape = op.getType().getShape();
  Expected<uint64_t> count = checkedElementCount(shape);
  if (!count)
    return count.takeError();
  int64_t numRows = shape.empty() ? 1 : shape[0];
  uint64_t rowLength = numRows ? *count / numRows : 0;
  for (int64_t row : rows)
    if (row < 0 || row >= numRows)
      return llvm::createStringError("weight '" + op.getKey() + "': row " +
                                     llvm::Twine(row) + " of " +
                                     llvm::Twine(numRows));
  StringRef file = op.getFile();
  bool synthetic = file.starts_with(kSyntheticFilePrefix);
  std::optional<int64_t> offset = op.getOffset();
  if (synthetic && shape.size() == 2) {
    uint64_t seed;
    if (file.drop_front(kSyntheticFilePrefix.size()).getAsInteger(10, seed))
      return llvm::createStringError("bad synthetic weight file '" + file +
                                     "' (expected synthetic:<seed>)");
    size_t start = out.size();
    out.resize(start + rows.size() * rowLength);
    generateSyntheticRows(seed, op.getKey(), shape, rows,
                          llvm::MutableArrayRef<float>(out).drop_front(start));
    return llvm::Error::success();
  }
  if (!synthetic && file != kShapesOnlyFile && offset && op.isPlainLayout()) {
    mlir::Type storage =
        op.getStorageType().value_or(op.getType().getElementType());
    uint64_t width = storage.getIntOrFloatBitWidth() / 8;
    for (int64_t row : rows) {
      Expected<ArrayRef<float>> data =
          get(file, op.getKey(), *offset + row * rowLength * width, storage,
              rowLength);
      if (!data)
        return data.takeError();
      out.insert(out.end(), data->begin(), data->end());
    }
    return llvm::Error::success();
  }
  // Vectors and relaid-out tensors are read whole.
  Expected<ArrayRef<float>> data = get(op);
  if (!data)
    return data.takeError();
  for (int64_t row : rows)
    out.insert(out.end(), data->begin() + row * rowLength,
               data->begin() + (row + 1) * rowLength);
  return llvm::Error::success();
}

Expected<ArrayRef<float>> WeightStore::getRelaidOut(xfmr::WeightOp op,
                                                    uint64_t offset,
                                                    mlir::Type storage,
                                                    uint64_t count) {
  llvm::SmallVector<int64_t> storedShape = op.getStoredShapeOrResult();
  Expected<uint64_t> storedCount = checkedElementCount(storedShape);
  if (!storedCount)
    return storedCount.takeError();
  Expected<ArrayRef<float>> stored =
      get(op.getFile(), op.getKey(), offset, storage, *storedCount);
  if (!stored)
    return stored.takeError();
  // View the stored tensor as [rows, rowLength] after the optional transpose;
  // the result is rows [rowOffset, rowOffset + resultRows).
  int64_t rows = storedShape.empty() ? 1 : storedShape[0];
  int64_t rowLength = rows ? *storedCount / rows : 0;
  bool transpose = op.getTranspose();
  if (transpose)
    std::swap(rows, rowLength);
  int64_t rowOffset = op.getRowOffset().value_or(0);
  auto result = std::make_unique<std::vector<float>>(count);
  for (uint64_t i = 0; i < count; ++i) {
    int64_t r = rowOffset + static_cast<int64_t>(i) / rowLength;
    int64_t c = static_cast<int64_t>(i) % rowLength;
    (*result)[i] = transpose ? (*stored)[c * rows + r] : (*stored)[r * rowLength + c];
  }
  std::lock_guard<std::mutex> lock(mutex);
  widened.push_back(std::move(result));
  return ArrayRef<float>(*widened.back());
}

llvm::Error mixtile::inlineWeights(mlir::ModuleOp module, WeightStore &store) {
  llvm::SmallVector<xfmr::WeightOp> weights;
  module.walk([&](xfmr::WeightOp op) { weights.push_back(op); });
  for (xfmr::WeightOp op : weights) {
    Expected<ArrayRef<float>> data = store.get(op);
    if (!data)
      return data.takeError();
    mlir::OpBuilder builder(op);
    auto value = mlir::DenseElementsAttr::get(op.getType(), *data);
    auto constant =
        mlir::arith::ConstantOp::create(builder, op.getLoc(), value);
    op.replaceAllUsesWith(constant.getResult());
    op.erase();
  }
  return llvm::Error::success();
}
