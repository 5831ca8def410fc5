//===- WeightPack.cpp - the weight file of the CPU back end ---------------===//
//
// Planning walks @forward in program order, so the pass and the writer,
// which plan independently from the same IR, assign the same offsets.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Numerics/Packing.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <cstring>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;
namespace nx = mixtile::numerics;

uint64_t PackedArray::getByteSize() const {
  uint64_t count = 1;
  for (int64_t dim : shape)
    count *= static_cast<uint64_t>(dim);
  return count * (elementType.getIntOrFloatBitWidth() / 8);
}

WeightEncoding
mixtile::cpu::getWeightEncoding(MLIRContext *ctx, ArrayRef<int64_t> shape,
                                const std::optional<nx::QuantScheme> &scheme) {
  Builder b(ctx);
  WeightEncoding encoding;
  encoding.scheme = scheme;
  SmallVector<int64_t, 2> dims(shape.begin(), shape.end());
  if (!scheme) {
    encoding.data = {b.getF32Type(), dims};
    return encoding;
  }
  assert(shape.size() == 2 && "quantized weights are matrices");
  int64_t rows = shape[0], cols = shape[1];
  unsigned codeBytes = nx::getCodeBytes(scheme->element);
  if (scheme->element == nx::FloatFormat::F4E2M1FN)
    encoding.data = {b.getI8Type(), {rows, (cols + 1) / 2}};
  else
    encoding.data = {b.getIntegerType(8 * codeBytes), {rows, cols}};
  if (nx::hasBlockScales(*scheme))
    encoding.blockScales = PackedArray{
        b.getI8Type(),
        {rows, static_cast<int64_t>(nx::getBlocksPerRow(*scheme, cols))}};
  if (scheme->scale == nx::ScaleKind::TensorF32 ||
      scheme->scale == nx::ScaleKind::BlockE4M3WithTensorF32)
    encoding.tensorScale = PackedArray{b.getF32Type(), {1}};
  return encoding;
}

llvm::Expected<std::optional<nx::QuantScheme>>
mixtile::cpu::getWeightScheme(Operation *user, unsigned operandNumber) {
  xfmr::PrecisionAttr record;
  if (auto linear = dyn_cast<xfmr::LinearOp>(user);
      linear && operandNumber == 1)
    record = linear.getPrecisionAttr();
  else if (auto embedding = dyn_cast<xfmr::EmbeddingOp>(user);
           embedding && operandNumber == 0)
    record = embedding.getPrecisionAttr();
  if (!record)
    return std::nullopt;
  llvm::Expected<OperandSchemes> schemes = getOperandSchemes(record);
  if (!schemes)
    return schemes.takeError();
  return schemes->weights;
}

bool mixtile::cpu::isSameScheme(const std::optional<nx::QuantScheme> &a,
                                const std::optional<nx::QuantScheme> &b) {
  if (!a || !b)
    return !a && !b;
  return a->element == b->element && a->scale == b->scale &&
         a->blockSize == b->blockSize;
}

/// A stable description of a pack entry, hashed into the fingerprint.
static void describe(const PackedWeight &weight, llvm::raw_ostream &os) {
  xfmr::WeightOp op = weight.op;
  os << op.getKey() << '\0' << op.getFile() << '\0'
     << op.getOffset().value_or(-1) << '\0' << op.getType() << '\0';
  if (const auto &scheme = weight.encoding.scheme)
    os << unsigned(scheme->element) << ',' << unsigned(scheme->scale) << ','
       << scheme->blockSize;
  os << '\0';
  auto array = [&](const std::optional<PackedArray> &a) {
    if (!a)
      return;
    os << a->elementType << '[';
    llvm::interleaveComma(a->shape, os);
    os << "]@" << a->offset << ';';
  };
  array(weight.encoding.data);
  array(weight.encoding.blockScales);
  array(weight.encoding.tensorScale);
  os << '\n';
}

FailureOr<WeightPack> WeightPack::plan(func::FuncOp forward) {
  WeightPack pack;
  uint64_t offset = 0;
  auto place = [&](PackedArray &array) {
    array.offset = offset;
    offset = llvm::alignTo(offset + array.getByteSize(), kWeightPackAlignment);
  };
  WalkResult walk = forward.walk([&](Operation *user) {
    for (OpOperand &operand : user->getOpOperands()) {
      auto weightOp = operand.get().getDefiningOp<xfmr::WeightOp>();
      if (!weightOp)
        continue;
      llvm::Expected<std::optional<nx::QuantScheme>> scheme =
          getWeightScheme(user, operand.getOperandNumber());
      if (!scheme) {
        user->emitOpError(llvm::toString(scheme.takeError()));
        return WalkResult::interrupt();
      }
      if (pack.find(weightOp, *scheme))
        continue;
      // Only linear weights and embedding tables get a scheme; their ops
      // verify that they are matrices.
      ArrayRef<int64_t> shape = weightOp.getType().getShape();
      PackedWeight weight{
          weightOp, getWeightEncoding(forward.getContext(), shape, *scheme)};
      place(weight.encoding.data);
      if (weight.encoding.blockScales)
        place(*weight.encoding.blockScales);
      if (weight.encoding.tensorScale)
        place(*weight.encoding.tensorScale);
      pack.weights.push_back(std::move(weight));
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  pack.payloadBytes = offset;
  std::string description;
  llvm::raw_string_ostream os(description);
  for (const PackedWeight &weight : pack.weights)
    describe(weight, os);
  pack.fingerprint = llvm::xxh3_64bits(description);
  return pack;
}

const PackedWeight *
WeightPack::find(Value weight,
                 const std::optional<nx::QuantScheme> &scheme) const {
  for (const PackedWeight &entry : weights)
    if (xfmr::WeightOp(entry.op).getResult() == weight &&
        isSameScheme(entry.encoding.scheme, scheme))
      return &entry;
  return nullptr;
}

namespace {

/// Writes arrays at their offsets, zero-filling the gaps.
class PayloadWriter {
public:
  explicit PayloadWriter(llvm::raw_ostream &os) : os(os) {}

  void write(const PackedArray &array, const void *data) {
    assert(array.offset >= position && "arrays are written in offset order");
    os.write_zeros(array.offset - position);
    os.write(static_cast<const char *>(data), array.getByteSize());
    position = array.offset + array.getByteSize();
  }

  void finish(uint64_t payloadBytes) {
    os.write_zeros(payloadBytes - position);
    position = payloadBytes;
  }

private:
  llvm::raw_ostream &os;
  uint64_t position = 0;
};

} // namespace

std::vector<uint8_t>
mixtile::cpu::packWeightCodes(const nx::QuantizedMatrix &q) {
  if (q.scheme.element != nx::FloatFormat::F4E2M1FN)
    return q.codes;
  size_t rowBytes = (q.cols + 1) / 2;
  std::vector<uint8_t> packed(q.rows * rowBytes);
  for (size_t row = 0; row < q.rows; ++row)
    nx::packCodes(q.codes.data() + row * q.cols, q.cols, 4,
                  packed.data() + row * rowBytes);
  return packed;
}

llvm::Error WeightPack::write(WeightStore &store, llvm::raw_ostream &os) const {
  // Fetch every weight before writing a byte, so that a missing one leaves
  // nothing half written (the store keeps what it fetched: the second
  // fetch below is free).
  for (const PackedWeight &weight : weights)
    if (llvm::Expected<ArrayRef<float>> data = store.get(weight.op); !data)
      return data.takeError();
  WeightPackHeader header{};
  std::memcpy(header.magic, kWeightPackMagic, sizeof(header.magic));
  header.version = kWeightPackVersion;
  header.headerBytes = sizeof(WeightPackHeader);
  header.payloadBytes = payloadBytes;
  header.fingerprint = fingerprint;
  os.write(reinterpret_cast<const char *>(&header), sizeof(header));
  PayloadWriter payload(os);
  for (const PackedWeight &weight : weights) {
    llvm::Expected<ArrayRef<float>> data = store.get(weight.op);
    if (!data)
      return data.takeError();
    const WeightEncoding &encoding = weight.encoding;
    if (!encoding.scheme) {
      payload.write(encoding.data, data->data());
      continue;
    }
    ArrayRef<int64_t> shape = xfmr::WeightOp(weight.op).getType().getShape();
    nx::QuantizedMatrix q =
        nx::quantize(data->data(), shape[0], shape[1], *encoding.scheme);
    std::vector<uint8_t> codes = packWeightCodes(q);
    payload.write(encoding.data, codes.data());
    if (encoding.blockScales)
      payload.write(*encoding.blockScales, q.blockScales.data());
    if (encoding.tensorScale)
      payload.write(*encoding.tensorScale, &q.tensorScale);
  }
  payload.finish(payloadBytes);
  return llvm::Error::success();
}

llvm::Error mixtile::cpu::writeWeightPack(ModuleOp module, WeightStore &store,
                                          llvm::StringRef path) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return llvm::createStringError(
        "weight pack: the module has no func.func @forward with a body");
  FailureOr<WeightPack> pack = WeightPack::plan(forward);
  if (failed(pack))
    return llvm::createStringError(
        "weight pack: @forward has weights the CPU back end cannot pack");
  return llvm::writeToOutput(
      path, [&](llvm::raw_ostream &os) { return pack->write(store, os); });
}
