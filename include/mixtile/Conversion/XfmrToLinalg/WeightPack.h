//===- WeightPack.h - the weight file of the CPU back end -------*- C++ -*-===//
//
// The CPU back end reads its weights from one file, the weight pack, which
// holds every weight of @forward in the form its kernel consumes: f32
// values, or the element codes and scales of the weight's precision
// record, quantized once with the Numerics library (along K, as the
// evaluator does). Kernels decode codes as they multiply; no dequantized
// copy exists anywhere.
//
// Layout: a 64-byte header (WeightPackHeader) and a payload of arrays, each
// starting at a multiple of 64 bytes from the payload start:
// - f32 values, row-major in the weight's shape;
// - bf16 / f16 codes: one little-endian 16-bit code per element;
// - fp8 and fp6 codes: one byte per element;
// - fp4 codes: two per byte, each row packed on its own (Packing.h order:
//   column 2i in the low nibble), rows of ceil(cols / 2) bytes (linear
//   weights: nibble planes, below);
// - block scales (E8M0 or E4M3 codes): one byte per block, [rows, blocks];
// - the FP32 tensor scale of per-tensor FP8 and NVFP4: one f32;
// - for a linear whose element or block scale codes have codes that their
//   decoding must fix up (FP8's NaN codes and E5M2's Inf codes, E8M0's 0
//   and 255), whether any of its codes is one, or its tensor scale one the
//   decoding without fix-ups cannot take (from 2^8 for E4M3, 2^16 for
//   E5M2): one i32 (0 or 1). The kernels
//   then skip the fix-ups when it is 0.
// The weight of a linear (y = x w^T, w [N, K]) is stored K-major, as its
// transpose [K, N] (block scales [blocks, N]): the kernels vectorize across
// the N independent outputs, so the codes of one k for consecutive n must
// be contiguous. Its fp4 codes are stored in nibble lanes: each group of
// kNibbleGroupColumns (128) columns of a row takes 16 little-endian 32-bit
// words, word i holding column i + 16 t of the group at bits 4 t to
// 4 t + 3, t = 0..7 (getNibbleWord, getNibbleShift), rows of
// 16 * ceil(N / 128) words. One 64-byte load of a row's group then gives
// the codes of 8 vectors of 16 consecutive columns, one per lane, which a
// kernel takes out with one shift per vector (vpermps reads a lane's low 4
// bits), with no widening. When kPanelColumns (P) divides a wider N (fp4:
// kFP4PanelColumns), the transpose is cut into N / P panels of P columns,
// stored one after the other: [N / P, K, P] (fp4: [N / P, K, P / 8]
// words; block scales [N / P, blocks, P]). A kernel's column
// group then reads one contiguous run per block of k, where whole rows of
// N would put its k values N elements apart (at N = 4096, 16 KB: a page
// each, and few enough L2 sets that a block of them does not stay cached).
//
// BF16 codes of a linear with an even K are stored in pairs along k:
// 32-bit words [K / 2, N] (panels [N / P, K / 2, P]), the word of (n, i)
// holding the code of k = 2i in its high half and that of 2i + 1 in its
// low half (storesBF16Pairs). Each half widens to its f32 in one
// instruction (a mask, a shift), and the word is the operand of
// AVX512-BF16's vdpbf16ps, which adds the high half's product first.
//
// The pass (convert-xfmr-to-linalg) and the writer both derive the layout
// from the xfmr IR with WeightPack::plan, so they agree by construction;
// the fingerprint of the layout, stored in the header and compiled into the
// library, catches a pack that belongs to another model or plan.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_CONVERSION_XFMRTOLINALG_WEIGHTPACK_H
#define MIXTILE_CONVERSION_XFMRTOLINALG_WEIGHTPACK_H

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <vector>

namespace mixtile {
class WeightStore;
} // namespace mixtile

namespace mixtile::cpu {

/// Alignment of every array of the payload, and of the payload itself.
inline constexpr uint64_t kWeightPackAlignment = 64;
/// The first eight bytes of a weight pack.
inline constexpr char kWeightPackMagic[8] = {'M', 'X', 'T', 'L',
                                             'W', 'P', 'K', '1'};

/// The 64-byte header of a weight pack (little-endian fields).
struct WeightPackHeader {
  char magic[8];
  uint32_t version;
  uint32_t headerBytes;
  uint64_t payloadBytes;
  uint64_t fingerprint;
  uint8_t reserved[32];
};
static_assert(sizeof(WeightPackHeader) == kWeightPackAlignment,
              "the payload starts 64 bytes into the file");
inline constexpr uint32_t kWeightPackVersion = 7;

/// Columns per panel of a K-major weight: the column group of the CPU
/// kernels' default register tile (4 vectors of 16 f32 lanes).
inline constexpr int64_t kPanelColumns = 64;

/// Columns per nibble-lane group of K-major fp4 codes (16 words), and per
/// panel of them: a group must not straddle two panels.
inline constexpr int64_t kNibbleGroupColumns = 128;
inline constexpr int64_t kFP4PanelColumns = kNibbleGroupColumns;
/// Words (32-bit lanes) per nibble-lane group: one per column of a vector
/// of 16 f32 lanes, each holding that column of the group's 8 vectors.
inline constexpr int64_t kNibbleGroupWords = 16;

/// The 32-bit word of a K-major fp4 row holding column `column`'s code, and
/// the shift of its nibble in the word: the nibble-lane order.
inline int64_t getNibbleWord(int64_t column) {
  return column / kNibbleGroupColumns * kNibbleGroupWords +
         column % kNibbleGroupWords;
}
inline int64_t getNibbleShift(int64_t column) {
  return column / kNibbleGroupWords %
         (kNibbleGroupColumns / kNibbleGroupWords) * 4;
}

/// The 32-bit words of a K-major fp4 row of `columns` codes in nibble lanes.
inline int64_t getNibbleRowWords(int64_t columns) {
  return (columns + kNibbleGroupColumns - 1) / kNibbleGroupColumns *
         kNibbleGroupWords;
}

/// The panel width P of a K-major weight of `columns` (N) outputs:
/// kPanelColumns (with `fp4` codes, kFP4PanelColumns) when it divides a
/// wider N, else 0 (one [K, N] array).
int64_t getPanelColumns(int64_t columns, bool fp4 = false);

/// One array of the payload.
struct PackedArray {
  /// f32 (values, tensor scale), i32 (bf16 code pairs), i16 (bf16/f16
  /// codes) or i8 (other codes, block scales).
  mlir::Type elementType;
  llvm::SmallVector<int64_t, 2> shape;
  /// Bytes from the start of the payload.
  uint64_t offset = 0;

  uint64_t getByteSize() const;
};

/// How one weight is stored for the kernels that read it under one scheme.
struct WeightEncoding {
  /// The weight format; nullopt stores f32 values.
  std::optional<numerics::QuantScheme> scheme;
  /// f32 values, or element codes.
  PackedArray data;
  std::optional<PackedArray> blockScales;
  std::optional<PackedArray> tensorScale;
  /// For a linear with FP8 codes or E8M0 / E4M3 block scales: one i32, 1
  /// when some code needs a fix-up of its decoding (needsFixUps).
  std::optional<PackedArray> fixUpFlag;
  /// Whether the arrays hold the transpose of the weight: data [cols,
  /// rows], block scales [blocks, rows] (linear weights).
  bool kMajor = false;
  /// K-major arrays cut into panels of this many rows of the weight (0:
  /// none): data [rows / P, cols, P], block scales [rows / P, blocks, P].
  int64_t panelColumns = 0;

  /// Whether the codes are fp4, two to a byte (K-major: in nibble lanes).
  bool isPackedFP4() const {
    return scheme && scheme->element == numerics::FloatFormat::F4E2M1FN;
  }
};

/// Whether `scheme` is bf16 without scales.
bool isPlainBF16(const std::optional<numerics::QuantScheme> &scheme);

/// Whether a weight of `shape` under `scheme`, read `kMajor`, is stored
/// in bf16 pairs (above): plain BF16 codes of a linear with an even K.
bool storesBF16Pairs(const std::optional<numerics::QuantScheme> &scheme,
                     llvm::ArrayRef<int64_t> shape, bool kMajor);

/// The arrays (at offset 0) a weight of `shape` gets under `scheme`,
/// transposed with `kMajor`. Quantized weights must be 2-D: [rows, cols],
/// quantized along cols.
WeightEncoding getWeightEncoding(mlir::MLIRContext *ctx,
                                 llvm::ArrayRef<int64_t> shape,
                                 const std::optional<numerics::QuantScheme> &s,
                                 bool kMajor = false);

/// The element codes of `q` in the pack's layout (`kMajor`: transposed),
/// fp4 codes two to a byte, row by row of the stored matrix (`kMajor`: in
/// nibble planes; bf16 codes in pairs where storesBF16Pairs says so).
std::vector<uint8_t> packWeightCodes(const numerics::QuantizedMatrix &q,
                                     bool kMajor = false);

/// Whether some element or block scale code of `q` is one the kernels'
/// decoding must fix up (decodingNeedsFixUp, XfmrToLinalg.h), or its
/// tensor scale one that the decoding without fix-ups cannot take
/// (tensorScaleNeedsFixUp): the fixUpFlag array.
bool needsFixUps(const numerics::QuantizedMatrix &q);

/// Whether a weight under `scheme` read `kMajor` gets a fixUpFlag: a
/// linear whose element codes (FP8) or block scales (E8M0, E4M3) have
/// codes that need fix-ups.
bool getsFixUpFlag(const std::optional<numerics::QuantScheme> &scheme,
                   bool kMajor);

/// The block scale codes of `q` in the pack's layout.
std::vector<uint8_t> packBlockScales(const numerics::QuantizedMatrix &q,
                                     bool kMajor = false);

/// The `rows` x `cols` f32 values of a linear weight in the pack's K-major
/// layout: transposed, in panels where getPanelColumns(rows) says so.
std::vector<float> packKMajorValues(llvm::ArrayRef<float> values, int64_t rows,
                                    int64_t cols);

/// Whether `user` reads its operand `operandNumber` as a linear's weight,
/// which the pack stores K-major.
bool isKMajorUse(mlir::Operation *user, unsigned operandNumber);

/// The weight format `user` applies to its operand `operandNumber`: the
/// record's weight scheme for the weight of a linear and the table of an
/// embedding, nullopt (f32) for every other use. Fails for records the
/// back end cannot follow (f16 accumulation).
llvm::Expected<std::optional<numerics::QuantScheme>>
getWeightScheme(mlir::Operation *user, unsigned operandNumber);

/// Whether two schemes quantize identically.
bool isSameScheme(const std::optional<numerics::QuantScheme> &a,
                  const std::optional<numerics::QuantScheme> &b);

/// A weight of the pack.
struct PackedWeight {
  xfmr::WeightOp op;
  WeightEncoding encoding;
};

/// The layout of the weight pack of one @forward.
class WeightPack {
public:
  /// Lists, in program order, one entry per (xfmr.weight, scheme) pair the
  /// users of the weights of `forward` need, and assigns offsets. Emits an
  /// error on the offending op and fails for uses that cannot be packed.
  static mlir::FailureOr<WeightPack> plan(mlir::func::FuncOp forward);

  /// The entry of `weight` (an xfmr.weight result) under `scheme`, or null.
  const PackedWeight *find(mlir::Value weight,
                           const std::optional<numerics::QuantScheme> &scheme,
                           bool kMajor) const;

  llvm::ArrayRef<PackedWeight> getWeights() const { return weights; }
  uint64_t getPayloadBytes() const { return payloadBytes; }
  uint64_t getFingerprint() const { return fingerprint; }

  /// Writes the pack (header and payload), reading and quantizing every
  /// weight from `store`.
  llvm::Error write(WeightStore &store, llvm::raw_ostream &os) const;

private:
  std::vector<PackedWeight> weights;
  uint64_t payloadBytes = 0;
  uint64_t fingerprint = 0;
};

/// Plans the pack of the @forward of `module` and writes it to `path`.
llvm::Error writeWeightPack(mlir::ModuleOp module, WeightStore &store,
                            llvm::StringRef path);

} // namespace mixtile::cpu

#endif // MIXTILE_CONVERSION_XFMRTOLINALG_WEIGHTPACK_H
