//===- WeightPack.cpp - the weight file of the CPU back end ---------------===//
//
// Planning walks @forward in program order, so the pass and the writer,
// which plan independently from the same IR, assign the same offsets.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Numerics/Packing.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
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

/// The bytes of a stored row of `cols` fp4 codes: nibble lanes K-major,
/// Packing.h's order otherwise.
static size_t getFP4RowBytes(size_t cols, bool kMajor) {
  return kMajor ? getNibbleRowWords(cols) * 4 : nx::getPackedSize(cols, 4);
}

static bool isFP4(const nx::QuantScheme &scheme) {
  return scheme.element == nx::FloatFormat::F4E2M1FN;
}

int64_t mixtile::cpu::getPanelColumns(int64_t columns, bool fp4) {
  int64_t panel = fp4 ? kFP4PanelColumns : kPanelColumns;
  return columns > panel && columns % panel == 0 ? panel : 0;
}

bool mixtile::cpu::isPlainBF16(const std::optional<nx::QuantScheme> &scheme) {
  return scheme && scheme->element == nx::FloatFormat::BF16 &&
         scheme->scale == nx::ScaleKind::None;
}

bool mixtile::cpu::storesBF16Pairs(const std::optional<nx::QuantScheme> &scheme,
                                   ArrayRef<int64_t> shape, bool kMajor) {
  return kMajor && isPlainBF16(scheme) && shape.size() == 2 &&
         shape[1] % 2 == 0;
}

WeightEncoding
mixtile::cpu::getWeightEncoding(MLIRContext *ctx, ArrayRef<int64_t> shape,
                                const std::optional<nx::QuantScheme> &scheme,
                                bool kMajor) {
  Builder b(ctx);
  WeightEncoding encoding;
  encoding.scheme = scheme;
  encoding.kMajor = kMajor;
  SmallVector<int64_t, 2> dims(shape.begin(), shape.end());
  if (kMajor) {
    assert(shape.size() == 2 && "linear weights are matrices");
    std::swap(dims[0], dims[1]);
    encoding.panelColumns = getPanelColumns(shape[0], scheme && isFP4(*scheme));
  }
  int64_t panel = encoding.panelColumns;
  // `outer` rows of `inner` elements, in panels of `panel` of them.
  auto stored = [&](int64_t outer, int64_t inner,
                    int64_t perPanel) -> SmallVector<int64_t, 2> {
    if (!panel)
      return {outer, inner};
    return {inner / panel, outer, perPanel};
  };
  if (!scheme) {
    encoding.data = {b.getF32Type(),
                     kMajor ? stored(dims[0], dims[1], panel) : dims};
    return encoding;
  }
  assert(shape.size() == 2 && "quantized weights are matrices");
  int64_t outer = dims[0], inner = dims[1];
  unsigned codeBytes = nx::getCodeBytes(scheme->element);
  if (isFP4(*scheme) && kMajor)
    encoding.data = {
        b.getI32Type(),
        panel ? stored(outer, inner, panel / 8)
              : SmallVector<int64_t, 2>{outer, getNibbleRowWords(inner)}};
  else if (isFP4(*scheme))
    encoding.data = {
        b.getI8Type(),
        {outer, static_cast<int64_t>(getFP4RowBytes(inner, kMajor))}};
  else if (storesBF16Pairs(scheme, shape, kMajor))
    encoding.data = {b.getI32Type(), stored(outer / 2, inner, panel)};
  else
    encoding.data = {b.getIntegerType(8 * codeBytes),
                     stored(outer, inner, panel)};
  if (nx::hasBlockScales(*scheme)) {
    int64_t blocks = nx::getBlocksPerRow(*scheme, shape[1]);
    SmallVector<int64_t, 2> scaleShape = {shape[0], blocks};
    if (kMajor)
      scaleShape = stored(blocks, shape[0], panel);
    encoding.blockScales = PackedArray{b.getI8Type(), scaleShape};
  }
  if (scheme->scale == nx::ScaleKind::TensorF32 ||
      scheme->scale == nx::ScaleKind::BlockE4M3WithTensorF32)
    encoding.tensorScale = PackedArray{b.getF32Type(), {1}};
  if (getsFixUpFlag(scheme, kMajor))
    encoding.fixUpFlag = PackedArray{b.getI32Type(), {1}};
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

bool mixtile::cpu::isKMajorUse(Operation *user, unsigned operandNumber) {
  return isa<xfmr::LinearOp>(user) && operandNumber == 1;
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
  os << '\0' << (weight.encoding.kMajor ? "k-major" : "row-major") << '\0';
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
  array(weight.encoding.fixUpFlag);
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
      bool kMajor = isKMajorUse(user, operand.getOperandNumber());
      if (pack.find(weightOp, *scheme, kMajor))
        continue;
      // Only linear weights and embedding tables get a scheme; their ops
      // verify that they are matrices.
      ArrayRef<int64_t> shape = weightOp.getType().getShape();
      PackedWeight weight{weightOp, getWeightEncoding(forward.getContext(),
                                                      shape, *scheme, kMajor)};
      place(weight.encoding.data);
      if (weight.encoding.blockScales)
        place(*weight.encoding.blockScales);
      if (weight.encoding.tensorScale)
        place(*weight.encoding.tensorScale);
      if (weight.encoding.fixUpFlag)
        place(*weight.encoding.fixUpFlag);
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
WeightPack::find(Value weight, const std::optional<nx::QuantScheme> &scheme,
                 bool kMajor) const {
  for (const PackedWeight &entry : weights)
    if (xfmr::WeightOp(entry.op).getResult() == weight &&
        isSameScheme(entry.encoding.scheme, scheme) &&
        entry.encoding.kMajor == kMajor)
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

/// The `rows` x `cols` matrix of `elementBytes`-byte elements `bytes`,
/// transposed.
static std::vector<uint8_t> transposeBytes(ArrayRef<uint8_t> bytes, size_t rows,
                                           size_t cols, size_t elementBytes) {
  std::vector<uint8_t> result(bytes.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      std::memcpy(&result[(c * rows + r) * elementBytes],
                  &bytes[(r * cols + c) * elementBytes], elementBytes);
  return result;
}

/// The `rows` x `cols` fp4 codes `codes` (one per byte) in nibble lanes,
/// each word little-endian.
static std::vector<uint8_t> packNibbleLanes(ArrayRef<uint8_t> codes,
                                            size_t rows, size_t cols) {
  size_t rowBytes = getFP4RowBytes(cols, /*kMajor=*/true);
  std::vector<uint8_t> result(rows * rowBytes);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      int64_t bit = getNibbleWord(c) * 32 + getNibbleShift(c);
      result[r * rowBytes + bit / 8] |= (codes[r * cols + c] & 15) << bit % 8;
    }
  return result;
}

/// The `rows` (even) x `cols` bf16 codes `codes` in pairs of rows: row i of
/// the result holds, for every column, the 32-bit word of rows 2i (high
/// half) and 2i + 1 (low half), little-endian.
static std::vector<uint8_t> pairBF16Rows(ArrayRef<uint8_t> codes, size_t rows,
                                         size_t cols) {
  assert(rows % 2 == 0 && "pairs of rows");
  std::vector<uint8_t> result(codes.size());
  for (size_t r = 0; r < rows; r += 2)
    for (size_t c = 0; c < cols; ++c) {
      uint8_t *word = &result[(r / 2 * cols + c) * 4];
      std::memcpy(word, &codes[((r + 1) * cols + c) * 2], 2);
      std::memcpy(word + 2, &codes[(r * cols + c) * 2], 2);
    }
  return result;
}

/// The `rows` x `rowBytes` byte matrix `matrix` cut into column panels of
/// `panelBytes`, one after the other: [rowBytes / panelBytes, rows,
/// panelBytes].
static std::vector<uint8_t> splitIntoPanels(ArrayRef<uint8_t> matrix,
                                            size_t rows, size_t rowBytes,
                                            size_t panelBytes) {
  assert(rowBytes % panelBytes == 0 && "panels tile the rows");
  std::vector<uint8_t> result(matrix.size());
  uint8_t *out = result.data();
  for (size_t panel = 0; panel < rowBytes; panel += panelBytes)
    for (size_t r = 0; r < rows; ++r, out += panelBytes)
      std::memcpy(out, &matrix[r * rowBytes + panel], panelBytes);
  return result;
}

std::vector<float> mixtile::cpu::packKMajorValues(ArrayRef<float> values,
                                                  int64_t rows, int64_t cols) {
  ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t *>(values.data()),
                          values.size() * sizeof(float));
  std::vector<uint8_t> packed = transposeBytes(bytes, rows, cols, 4);
  if (int64_t panel = getPanelColumns(rows))
    packed = splitIntoPanels(packed, cols, rows * 4, panel * 4);
  std::vector<float> result(values.size());
  std::memcpy(result.data(), packed.data(), packed.size());
  return result;
}

std::vector<uint8_t> mixtile::cpu::packWeightCodes(const nx::QuantizedMatrix &q,
                                                   bool kMajor) {
  size_t codeBytes = nx::getCodeBytes(q.scheme.element);
  size_t outer = kMajor ? q.cols : q.rows, inner = kMajor ? q.rows : q.cols;
  std::vector<uint8_t> codes =
      kMajor ? transposeBytes(q.codes, q.rows, q.cols, codeBytes) : q.codes;
  bool fp4 = isFP4(q.scheme);
  size_t rowBytes = fp4 ? getFP4RowBytes(inner, kMajor) : inner * codeBytes;
  if (storesBF16Pairs(q.scheme, {int64_t(q.rows), int64_t(q.cols)}, kMajor)) {
    codes = pairBF16Rows(codes, outer, inner);
    outer /= 2;
    rowBytes *= 2;
  } else if (fp4 && kMajor)
    codes = packNibbleLanes(codes, outer, inner);
  else if (fp4) {
    std::vector<uint8_t> packed(outer * rowBytes);
    for (size_t row = 0; row < outer; ++row)
      nx::packCodes(codes.data() + row * inner, inner, 4,
                    packed.data() + row * rowBytes);
    codes = std::move(packed);
  }
  int64_t panel = kMajor ? getPanelColumns(q.rows, fp4) : 0;
  if (!panel)
    return codes;
  // Bytes per column: half a byte (fp4), a code, or a pair of bf16 codes.
  return splitIntoPanels(codes, outer, rowBytes,
                         fp4 ? panel / 2 : panel * (rowBytes / inner));
}

bool mixtile::cpu::getsFixUpFlag(const std::optional<nx::QuantScheme> &scheme,
                                 bool kMajor) {
  if (!kMajor || !scheme)
    return false;
  auto fixesUp = [](nx::FloatFormat format) {
    for (uint32_t code = 0; code < 256; ++code)
      if (decodingNeedsFixUp(code, format))
        return true;
    return false;
  };
  return (nx::getCodeBytes(scheme->element) == 1 && fixesUp(scheme->element)) ||
         (nx::hasBlockScales(*scheme) &&
          fixesUp(nx::getBlockScaleFormat(*scheme)));
}

bool mixtile::cpu::needsFixUps(const nx::QuantizedMatrix &q) {
  auto anyNeedsFixUp = [](llvm::ArrayRef<uint8_t> codes,
                          nx::FloatFormat format) {
    bool needs[256];
    for (uint32_t code = 0; code < 256; ++code)
      needs[code] = decodingNeedsFixUp(code, format);
    return llvm::any_of(codes, [&](uint8_t code) { return needs[code]; });
  };
  bool elements = nx::getCodeBytes(q.scheme.element) == 1 &&
                  anyNeedsFixUp(q.codes, q.scheme.element);
  bool tensorScale = q.scheme.scale == nx::ScaleKind::TensorF32 &&
                     tensorScaleNeedsFixUp(q.tensorScale, q.scheme.element);
  return elements || tensorScale ||
         (nx::hasBlockScales(q.scheme) &&
          anyNeedsFixUp(q.blockScales, nx::getBlockScaleFormat(q.scheme)));
}

std::vector<uint8_t> mixtile::cpu::packBlockScales(const nx::QuantizedMatrix &q,
                                                   bool kMajor) {
  if (!kMajor || q.blockScales.empty())
    return q.blockScales;
  size_t blocks = q.blockScales.size() / q.rows;
  std::vector<uint8_t> scales =
      transposeBytes(q.blockScales, q.rows, blocks, 1);
  if (int64_t panel = getPanelColumns(q.rows, isFP4(q.scheme)))
    return splitIntoPanels(scales, blocks, q.rows, panel);
  return scales;
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
    ArrayRef<int64_t> shape = xfmr::WeightOp(weight.op).getType().getShape();
    if (!encoding.scheme) {
      if (!encoding.kMajor) {
        payload.write(encoding.data, data->data());
        continue;
      }
      std::vector<float> transposed =
          packKMajorValues(*data, shape[0], shape[1]);
      payload.write(encoding.data, transposed.data());
      continue;
    }
    nx::QuantizedMatrix q =
        nx::quantize(data->data(), shape[0], shape[1], *encoding.scheme);
    std::vector<uint8_t> codes = packWeightCodes(q, encoding.kMajor);
    payload.write(encoding.data, codes.data());
    if (encoding.blockScales) {
      std::vector<uint8_t> scales = packBlockScales(q, encoding.kMajor);
      payload.write(*encoding.blockScales, scales.data());
    }
    if (encoding.tensorScale)
      payload.write(*encoding.tensorScale, &q.tensorScale);
    if (encoding.fixUpFlag) {
      int32_t flag = needsFixUps(q) ? 1 : 0;
      payload.write(*encoding.fixUpFlag, &flag);
    }
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
