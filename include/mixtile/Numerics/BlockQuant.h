//===- BlockQuant.h - MX, NVFP4 and per-tensor quantization -----*- C++ -*-===//
//
// Quantization schemes on row-major [rows, cols] f32 matrices. Block scales
// run along the columns (the reduction axis K): each row is cut into blocks
// of `blockSize` consecutive columns, and a row whose length is not a
// multiple of the block size ends in a partial block with its own scale
// (cols = 172, block 32: five blocks of 32 and one of 12).
//
// Schemes and their conventions:
// - OCP MX v1.0 (mxfp4, mxfp6-e2m3, mxfp6-e3m2, mxfp8-e4m3, mxfp8-e5m2):
//   per block X = 2^s, s = clamp(floor(log2(amax)) - emax_elem, -127, 127),
//   stored as E8M0 code s + 127; elements are x / X rounded to nearest even
//   and clamped to the element's max normal. An all-zero block has no
//   log2(amax); the exponent is clamped like log2(0) = -inf, so its scale
//   code is 0 (X = 2^-127) and its elements are +-0. A block holding a NaN
//   or an Inf gets scale code 0xFF (NaN) and element codes 0; it decodes to
//   NaN throughout.
// - NVFP4 (E2M1 elements, block 16, E4M3 block scales, an FP32 tensor
//   scale), as NVIDIA TensorRT-Model-Optimizer defines it: global = amax /
//   (6 * 448); s = amax(block) / (6 * global) rounded to E4M3 (RNE,
//   saturating), with code 0 replaced by 1.0; element = RNE_E2M1(x /
//   (decode(s) * global)) saturated to 6; dequant = (e * decode(s)) *
//   global. If amax / (6 * 448) is not a normal f32 (all-zero tensors, or
//   tensors whose values are all below about 3e-35) global is 1. Amaxes are
//   taken over finite values; a block holding a NaN or an Inf gets scale
//   code 0x7F (NaN) and element codes 0, and decodes to NaN throughout.
// - Per-tensor FP8 (fp8-e4m3, fp8-e5m2): scale = amax / maxNormal over the
//   finite values (1 if that is not a normal f32, e.g. an all-zero tensor);
//   elements = x / scale rounded (RNE, saturating); dequant = e * scale. NaN
//   elements stay NaN, +-Inf saturate to +-maxNormal * scale.
// - bf16: plain RNE to bf16, no scale; non-saturating like a cast (values
//   beyond the bf16 range become Inf; NaN stays NaN). A QuantScheme with
//   ScaleKind::None and another element format (f16, f8...) is rounded the
//   same way.
//
// fakeQuantize() gives results bit-identical to dequantize(quantize()).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_NUMERICS_BLOCKQUANT_H
#define MIXTILE_NUMERICS_BLOCKQUANT_H

#include "mixtile/Numerics/FloatFormats.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mixtile::numerics {

/// How a scheme scales its elements.
enum class ScaleKind : uint8_t {
  /// No scale (bf16, or any element format rounded like a cast).
  None,
  /// One FP32 scale per tensor (per-tensor FP8).
  TensorF32,
  /// One E8M0 power-of-two scale per block (OCP MX).
  BlockE8M0,
  /// One E4M3 scale per block times one FP32 scale per tensor (NVFP4).
  BlockE4M3WithTensorF32,
};

/// A quantization scheme.
struct QuantScheme {
  /// The name parseQuantScheme accepts, e.g. "mxfp4".
  std::string_view name;
  FloatFormat element;
  ScaleKind scale;
  /// Columns per block scale; 0 for schemes without block scales.
  unsigned blockSize;
};

/// The names parseQuantScheme accepts.
inline constexpr std::string_view kQuantSchemeNames[] = {
    "mxfp4", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp8-e4m3", "mxfp8-e5m2",
    "nvfp4", "fp8-e4m3",   "fp8-e5m2",   "bf16"};

/// Parses one of kQuantSchemeNames, with its default block size (32 for MX,
/// 16 for NVFP4).
std::optional<QuantScheme> parseQuantScheme(std::string_view name);

/// True if the scheme has a scale per block.
bool hasBlockScales(const QuantScheme &scheme);

/// The block-size rule: schemes with block scales take any power of two from
/// 2 up (blocks pair up FP4 codes into bytes; hardware blocks are powers of
/// two); schemes without block scales take none.
bool isValidBlockSize(const QuantScheme &scheme, unsigned blockSize);

/// `scheme` with its block size replaced, or nullopt if `blockSize` breaks
/// isValidBlockSize.
std::optional<QuantScheme> withBlockSize(const QuantScheme &scheme,
                                         unsigned blockSize);

/// Format of the block scale codes (f8E8M0FNU or f8E4M3FN); only for
/// schemes with block scales.
FloatFormat getBlockScaleFormat(const QuantScheme &scheme);

/// Number of blocks per row, counting a trailing partial block; 0 for
/// schemes without block scales.
size_t getBlocksPerRow(const QuantScheme &scheme, size_t cols);

/// The MX shared exponent s of a block whose largest magnitude is `amax`
/// (finite, >= 0), for elements of format `element`.
int computeMXScaleExponent(float amax, FloatFormat element);

/// The NVFP4 FP32 tensor scale for a tensor whose largest finite magnitude
/// is `amax`.
float computeNVFP4TensorScale(float amax);

/// The NVFP4 E4M3 block scale code for a block whose largest magnitude is
/// `blockAmax` (finite), given the tensor scale.
uint8_t computeNVFP4BlockScaleCode(float blockAmax, float tensorScale);

/// The per-tensor FP8 scale for largest finite magnitude `amax`.
float computeFP8TensorScale(float amax, FloatFormat element);

/// A quantized matrix: codes plus scales.
struct QuantizedMatrix {
  QuantScheme scheme{};
  size_t rows = 0;
  size_t cols = 0;
  /// Element codes, row-major, one byte per element (two little-endian bytes
  /// per element for bf16; see getCodeBytes).
  std::vector<uint8_t> codes;
  /// Block scale codes, row-major [rows, getBlocksPerRow(cols)], one byte
  /// each; empty without block scales.
  std::vector<uint8_t> blockScales;
  /// The FP32 tensor scale (per-tensor FP8 and NVFP4); 1 otherwise.
  float tensorScale = 1.0f;
};

/// Quantizes the row-major [rows, cols] matrix `in`. A block-scaled scheme
/// needs a positive block size: the arithmetic works for any, while
/// isValidBlockSize (a power of two >= 2) is the rule parseQuantScheme,
/// withBlockSize and mixtile-quantize enforce.
QuantizedMatrix quantize(const float *in, size_t rows, size_t cols,
                         const QuantScheme &scheme);

/// Writes the rows * cols values `q` stands for into `out`.
void dequantize(const QuantizedMatrix &q, float *out);

/// Fused dequantize(quantize(in)) without materializing codes; bit-identical
/// to it. `in` and `out` may be the same array. Same block-size
/// precondition as quantize().
void fakeQuantize(const float *in, float *out, size_t rows, size_t cols,
                  const QuantScheme &scheme);

/// The largest finite |x| over `n` values (0 if none is finite): the
/// magnitude per-tensor scales come from.
float maxFiniteAbs(const float *x, size_t n);

/// True if the scheme has one scale for the whole tensor (per-tensor FP8,
/// NVFP4's FP32 scale), which depends on the tensor's largest magnitude.
bool hasTensorScale(const QuantScheme &scheme);

/// fakeQuantize() of `rows` rows taken from a larger tensor whose largest
/// finite magnitude is `tensorMaxAbs` (the per-tensor scale comes from it;
/// ignored by schemes without one): the rows come out as they would in
/// the whole tensor's fakeQuantize().
void fakeQuantizeRows(const float *in, float *out, size_t rows, size_t cols,
                      const QuantScheme &scheme, float tensorMaxAbs);

} // namespace mixtile::numerics

#endif // MIXTILE_NUMERICS_BLOCKQUANT_H
