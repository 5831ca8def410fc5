//===- BlockQuant.cpp - MX, NVFP4 and per-tensor quantization -------------===//
//
// Each scheme has one per-block (or per-tensor) scale computation shared by
// quantize() and fakeQuantize(), and element loops that call the inline
// rounders of FloatFormats.h. fakeQuantize() evaluates exactly the same f32
// expressions as dequantize(quantize()), with round() in place of
// decode(encode()), which the rounders guarantee to be equal; hence the two
// are bit-identical.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/BlockQuant.h"
#include "VectorClones.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

using namespace mixtile::numerics;


namespace {

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;
constexpr uint32_t kQuietNaNBits = 0x7fc00000u;
constexpr uint8_t kE8M0NaNCode = 0xff;
constexpr uint8_t kE4M3NaNCode = 0x7f;
constexpr uint8_t kE4M3OneCode = 0x38; // 1.0 = 0.0111.000

constexpr QuantScheme kSchemes[] = {
    {"mxfp4", FloatFormat::F4E2M1FN, ScaleKind::BlockE8M0, 32},
    {"mxfp6-e2m3", FloatFormat::F6E2M3FN, ScaleKind::BlockE8M0, 32},
    {"mxfp6-e3m2", FloatFormat::F6E3M2FN, ScaleKind::BlockE8M0, 32},
    {"mxfp8-e4m3", FloatFormat::F8E4M3FN, ScaleKind::BlockE8M0, 32},
    {"mxfp8-e5m2", FloatFormat::F8E5M2, ScaleKind::BlockE8M0, 32},
    {"nvfp4", FloatFormat::F4E2M1FN, ScaleKind::BlockE4M3WithTensorF32, 16},
    {"fp8-e4m3", FloatFormat::F8E4M3FN, ScaleKind::TensorF32, 0},
    {"fp8-e5m2", FloatFormat::F8E5M2, ScaleKind::TensorF32, 0},
    {"bf16", FloatFormat::BF16, ScaleKind::None, 0},
};

/// Largest |x| over `n` values as f32 bits. Comparing magnitudes as
/// integers orders NaN above Inf above every finite value, so one max
/// tells both the block amax and whether the block is finite.
uint32_t maxAbsBits(const float *x, size_t n) {
  uint32_t result = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t absBits = floatBits(x[i]) & kAbsMask;
    result = absBits > result ? absBits : result;
  }
  return result;
}

bool isFiniteBits(uint32_t absBits) { return absBits < kInfBits; }

/// 2^e for e in [-127, 127], exactly (2^-127 is an f32 subnormal).
float exactPowerOfTwo(int e) {
  return e >= -126 ? floatFromBits(uint32_t(e + 127) << 23)
                   : floatFromBits(0x00400000u >> (-127 - e));
}

void fillNaN(float *out, size_t n) {
  std::fill(out, out + n, floatFromBits(kQuietNaNBits));
}

// The element loops below take everything by value so that the byte stores
// cannot alias their inputs (uint8_t may alias anything) and they vectorize.
// The block-scaled ones only see finite blocks and saturating rounders, so
// they use the NaN-free fast paths of MiniFloatRounder.

/// codes[i] = encode(in[i] * multiplier) for a finite block.
void encodeFiniteMultiplied(const float *in, uint8_t *codes, size_t n,
                            float multiplier, const MiniFloatRounder rounder) {
  for (size_t i = 0; i < n; ++i)
    codes[i] = uint8_t(rounder.encodeNotNaN(in[i] * multiplier));
}

/// codes[i] = encode(in[i] / divisor) for a finite block.
void encodeFiniteDivided(const float *in, uint8_t *codes, size_t n,
                         float divisor, const MiniFloatRounder rounder) {
  for (size_t i = 0; i < n; ++i)
    codes[i] = uint8_t(rounder.encodeNotNaN(in[i] / divisor));
}

/// codes[i] = encode(in[i] / divisor); any input.
void encodeDivided(const float *in, uint8_t *codes, size_t n, float divisor,
                   const MiniFloatRounder rounder) {
  for (size_t i = 0; i < n; ++i)
    codes[i] = uint8_t(rounder.encode(in[i] / divisor));
}

//===----------------------------------------------------------------------===//
// OCP MX
//===----------------------------------------------------------------------===//

/// An MX block scale: its E8M0 code, 2^s and 2^-s.
struct MXScale {
  uint8_t code;
  float scale;
  float inverse;
};

MXScale getMXScale(uint32_t amaxBits, int elementEmax) {
  // The exponent field of amax is floor(log2(amax)) for normal amax. For 0
  // and subnormals it reads -127 although the true value is lower, but s is
  // then clamped to -127 either way since elementEmax >= 2.
  int exponent = int(amaxBits >> 23) - 127;
  int s = std::clamp(exponent - elementEmax, -127, 127);
  return {uint8_t(s + 127), exactPowerOfTwo(s), exactPowerOfTwo(-s)};
}

// The block loops below are written out (no callbacks) so that everything
// inlines into the clones of MIXTILE_VECTOR_CLONES. Block b of a row covers
// columns [b * blockSize, min((b + 1) * blockSize, cols)).

MIXTILE_VECTOR_CLONES
void quantizeMX(const float *in, QuantizedMatrix &q) {
  const int emax = getFormatInfo(q.scheme.element).emax;
  const MiniFloatRounder rounder(q.scheme.element, Overflow::Saturate);
  const size_t rows = q.rows, cols = q.cols, blockSize = q.scheme.blockSize;
  uint8_t *codes = q.codes.data();
  uint8_t *scaleCodes = q.blockScales.data();
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize, ++scaleCodes) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      uint32_t amaxBits = maxAbsBits(in + offset, length);
      if (!isFiniteBits(amaxBits)) {
        *scaleCodes = kE8M0NaNCode;
        std::fill(codes + offset, codes + offset + length, 0);
        continue;
      }
      MXScale scale = getMXScale(amaxBits, emax);
      *scaleCodes = scale.code;
      encodeFiniteMultiplied(in + offset, codes + offset, length, scale.inverse,
                             rounder);
    }
  }
}

MIXTILE_VECTOR_CLONES
void dequantizeMX(const QuantizedMatrix &q, float *out) {
  float elementValues[256];
  for (unsigned code = 0; code < 256; ++code)
    elementValues[code] = decode(code, q.scheme.element);
  const size_t rows = q.rows, cols = q.cols, blockSize = q.scheme.blockSize;
  const uint8_t *codes = q.codes.data();
  const uint8_t *scaleCodes = q.blockScales.data();
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize, ++scaleCodes) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      if (*scaleCodes == kE8M0NaNCode) {
        fillNaN(out + offset, length);
        continue;
      }
      float scale = exactPowerOfTwo(int(*scaleCodes) - 127);
      for (size_t i = offset; i < offset + length; ++i)
        out[i] = elementValues[codes[i]] * scale;
    }
  }
}

MIXTILE_VECTOR_CLONES
void fakeQuantizeMX(const float *in, float *out, size_t rows, size_t cols,
                    const QuantScheme &scheme) {
  const int emax = getFormatInfo(scheme.element).emax;
  const MiniFloatRounder rounder(scheme.element, Overflow::Saturate);
  const size_t blockSize = scheme.blockSize;
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      uint32_t amaxBits = maxAbsBits(in + offset, length);
      if (!isFiniteBits(amaxBits)) {
        fillNaN(out + offset, length);
        continue;
      }
      MXScale scale = getMXScale(amaxBits, emax);
      for (size_t i = offset; i < offset + length; ++i) {
        float element = rounder.roundNotNaN(in[i] * scale.inverse);
        out[i] = element * scale.scale;
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// NVFP4
//===----------------------------------------------------------------------===//

/// Per-block NVFP4 scale: E4M3 code, its value, and the divisor decode(s) *
/// global of the elements.
struct NVFP4Scale {
  uint8_t code;
  float blockScale;
  float divisor;
};

/// Computes NVFP4 block scales for one tensor scale, with everything that
/// does not depend on the block precomputed (this runs once per 16 values).
/// An aggregate made by makeNVFP4BlockScaler: clang (22) fails to emit a
/// constructor of a local class that is only called from target_clones
/// functions.
struct NVFP4BlockScaler {
  MiniFloatRounder e4m3;
  float tensorScale;
  float denominator;
  float e4m3Values[256];

  /// E4M3 code of amax / (6 * global) (RNE, saturating; finite amax), with
  /// code 0 replaced by 1.0: a zero scale would divide by 0.
  uint8_t encode(float blockAmax) const {
    float s = blockAmax / denominator;
    uint8_t code = uint8_t(e4m3.encodeNotNaN(s));
    return code == 0 ? kE4M3OneCode : code;
  }

  NVFP4Scale getScale(uint32_t amaxBits) const {
    uint8_t code = encode(floatFromBits(amaxBits));
    float blockScale = e4m3Values[code];
    return {code, blockScale, blockScale * tensorScale};
  }
};

NVFP4BlockScaler makeNVFP4BlockScaler(float tensorScale) {
  NVFP4BlockScaler scaler{
      MiniFloatRounder(FloatFormat::F8E4M3FN, Overflow::Saturate),
      tensorScale,
      6.0f * tensorScale,
      {}};
  for (unsigned code = 0; code < 256; ++code)
    scaler.e4m3Values[code] = decode(code, FloatFormat::F8E4M3FN);
  return scaler;
}

MIXTILE_VECTOR_CLONES
void quantizeNVFP4(const float *in, QuantizedMatrix &q) {
  const MiniFloatRounder e2m1(FloatFormat::F4E2M1FN, Overflow::Saturate);
  const size_t rows = q.rows, cols = q.cols, blockSize = q.scheme.blockSize;
  const float tensorScale =
      computeNVFP4TensorScale(maxFiniteAbs(in, rows * cols));
  q.tensorScale = tensorScale;
  const NVFP4BlockScaler scaler = makeNVFP4BlockScaler(tensorScale);
  uint8_t *codes = q.codes.data();
  uint8_t *scaleCodes = q.blockScales.data();
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize, ++scaleCodes) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      uint32_t amaxBits = maxAbsBits(in + offset, length);
      if (!isFiniteBits(amaxBits)) {
        *scaleCodes = kE4M3NaNCode;
        std::fill(codes + offset, codes + offset + length, 0);
        continue;
      }
      NVFP4Scale scale = scaler.getScale(amaxBits);
      *scaleCodes = scale.code;
      encodeFiniteDivided(in + offset, codes + offset, length, scale.divisor,
                          e2m1);
    }
  }
}

MIXTILE_VECTOR_CLONES
void dequantizeNVFP4(const QuantizedMatrix &q, float *out) {
  float elementValues[256];
  for (unsigned code = 0; code < 256; ++code)
    elementValues[code] = decode(code, FloatFormat::F4E2M1FN);
  const size_t rows = q.rows, cols = q.cols, blockSize = q.scheme.blockSize;
  const float tensorScale = q.tensorScale;
  const uint8_t *codes = q.codes.data();
  const uint8_t *scaleCodes = q.blockScales.data();
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize, ++scaleCodes) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      if ((*scaleCodes & 0x7f) == kE4M3NaNCode) {
        fillNaN(out + offset, length);
        continue;
      }
      float blockScale = decode(*scaleCodes, FloatFormat::F8E4M3FN);
      for (size_t i = offset; i < offset + length; ++i) {
        float scaledByBlock = elementValues[codes[i]] * blockScale;
        out[i] = scaledByBlock * tensorScale;
      }
    }
  }
}

MIXTILE_VECTOR_CLONES
void fakeQuantizeNVFP4(const float *in, float *out, size_t rows, size_t cols,
                       const QuantScheme &scheme, float tensorMaxAbs) {
  const MiniFloatRounder e2m1(FloatFormat::F4E2M1FN, Overflow::Saturate);
  const size_t blockSize = scheme.blockSize;
  const float tensorScale = computeNVFP4TensorScale(tensorMaxAbs);
  const NVFP4BlockScaler scaler = makeNVFP4BlockScaler(tensorScale);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t col = 0; col < cols; col += blockSize) {
      size_t offset = row * cols + col;
      size_t length = std::min(blockSize, cols - col);
      uint32_t amaxBits = maxAbsBits(in + offset, length);
      if (!isFiniteBits(amaxBits)) {
        fillNaN(out + offset, length);
        continue;
      }
      NVFP4Scale scale = scaler.getScale(amaxBits);
      for (size_t i = offset; i < offset + length; ++i) {
        float element = e2m1.roundNotNaN(in[i] / scale.divisor);
        float scaledByBlock = element * scale.blockScale;
        out[i] = scaledByBlock * tensorScale;
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Per-tensor FP8, and no scale (bf16)
//===----------------------------------------------------------------------===//

MIXTILE_VECTOR_CLONES
void quantizePerTensor(const float *in, QuantizedMatrix &q) {
  const size_t n = q.rows * q.cols;
  const MiniFloatRounder rounder(q.scheme.element, Overflow::Saturate);
  const float scale =
      computeFP8TensorScale(maxFiniteAbs(in, n), q.scheme.element);
  q.tensorScale = scale;
  encodeDivided(in, q.codes.data(), n, scale, rounder);
}

MIXTILE_VECTOR_CLONES
void dequantizePerTensor(const QuantizedMatrix &q, float *out) {
  float elementValues[256];
  for (unsigned code = 0; code < 256; ++code)
    elementValues[code] = decode(code, q.scheme.element);
  const size_t n = q.rows * q.cols;
  for (size_t i = 0; i < n; ++i)
    out[i] = elementValues[q.codes[i]] * q.tensorScale;
}

MIXTILE_VECTOR_CLONES
void fakeQuantizePerTensor(const float *in, float *out, size_t n,
                           FloatFormat element, float tensorMaxAbs) {
  const MiniFloatRounder rounder(element, Overflow::Saturate);
  const float scale = computeFP8TensorScale(tensorMaxAbs, element);
  for (size_t i = 0; i < n; ++i)
    out[i] = rounder.round(in[i] / scale) * scale;
}

/// Without a scale (bf16) values are rounded like a cast: non-saturating.
constexpr Overflow kUnscaledOverflow = Overflow::NonSaturating;

void quantizeUnscaled(const float *in, QuantizedMatrix &q) {
  encode(in, q.codes.data(), q.rows * q.cols, q.scheme.element,
         kUnscaledOverflow);
}

} // namespace

float mixtile::numerics::maxFiniteAbs(const float *x, size_t n) {
  uint32_t result = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t absBits = floatBits(x[i]) & kAbsMask;
    uint32_t finiteBits = absBits < kInfBits ? absBits : 0;
    result = finiteBits > result ? finiteBits : result;
  }
  return floatFromBits(result);
}

std::optional<QuantScheme>
mixtile::numerics::parseQuantScheme(std::string_view name) {
  for (const QuantScheme &scheme : kSchemes)
    if (scheme.name == name)
      return scheme;
  return std::nullopt;
}

bool mixtile::numerics::hasBlockScales(const QuantScheme &scheme) {
  return scheme.scale == ScaleKind::BlockE8M0 ||
         scheme.scale == ScaleKind::BlockE4M3WithTensorF32;
}

bool mixtile::numerics::isValidBlockSize(const QuantScheme &scheme,
                                         unsigned blockSize) {
  bool isPowerOfTwo = blockSize != 0 && (blockSize & (blockSize - 1)) == 0;
  return hasBlockScales(scheme) && isPowerOfTwo && blockSize >= 2;
}

std::optional<QuantScheme>
mixtile::numerics::withBlockSize(const QuantScheme &scheme,
                                 unsigned blockSize) {
  if (!isValidBlockSize(scheme, blockSize))
    return std::nullopt;
  QuantScheme result = scheme;
  result.blockSize = blockSize;
  return result;
}

FloatFormat mixtile::numerics::getBlockScaleFormat(const QuantScheme &scheme) {
  assert(hasBlockScales(scheme) && "scheme has no block scales");
  return scheme.scale == ScaleKind::BlockE8M0 ? FloatFormat::F8E8M0FNU
                                              : FloatFormat::F8E4M3FN;
}

size_t mixtile::numerics::getBlocksPerRow(const QuantScheme &scheme,
                                          size_t cols) {
  if (!hasBlockScales(scheme))
    return 0;
  return cols / scheme.blockSize + (cols % scheme.blockSize != 0);
}

int mixtile::numerics::computeMXScaleExponent(float amax, FloatFormat element) {
  uint32_t amaxBits = floatBits(amax) & kAbsMask;
  assert(isFiniteBits(amaxBits) && "MX scale of a non-finite block");
  return int(getMXScale(amaxBits, getFormatInfo(element).emax).code) - 127;
}

float mixtile::numerics::computeNVFP4TensorScale(float amax) {
  float scale = amax / (6.0f * 448.0f);
  return scale >= std::numeric_limits<float>::min() ? scale : 1.0f;
}

uint8_t mixtile::numerics::computeNVFP4BlockScaleCode(float blockAmax,
                                                      float tensorScale) {
  return makeNVFP4BlockScaler(tensorScale).encode(blockAmax);
}

float mixtile::numerics::computeFP8TensorScale(float amax,
                                               FloatFormat element) {
  float scale = amax / getFormatInfo(element).maxNormal;
  return scale >= std::numeric_limits<float>::min() ? scale : 1.0f;
}

QuantizedMatrix mixtile::numerics::quantize(const float *in, size_t rows,
                                            size_t cols,
                                            const QuantScheme &scheme) {
  assert((!hasBlockScales(scheme) || scheme.blockSize > 0) &&
         "block-scaled schemes need a positive block size");
  QuantizedMatrix q;
  q.scheme = scheme;
  q.rows = rows;
  q.cols = cols;
  q.codes.resize(rows * cols * getCodeBytes(scheme.element));
  q.blockScales.resize(rows * getBlocksPerRow(scheme, cols));
  switch (scheme.scale) {
  case ScaleKind::None:
    quantizeUnscaled(in, q);
    break;
  case ScaleKind::TensorF32:
    quantizePerTensor(in, q);
    break;
  case ScaleKind::BlockE8M0:
    quantizeMX(in, q);
    break;
  case ScaleKind::BlockE4M3WithTensorF32:
    quantizeNVFP4(in, q);
    break;
  }
  return q;
}

void mixtile::numerics::dequantize(const QuantizedMatrix &q, float *out) {
  switch (q.scheme.scale) {
  case ScaleKind::None:
    return decode(q.codes.data(), out, q.rows * q.cols, q.scheme.element);
  case ScaleKind::TensorF32:
    return dequantizePerTensor(q, out);
  case ScaleKind::BlockE8M0:
    return dequantizeMX(q, out);
  case ScaleKind::BlockE4M3WithTensorF32:
    return dequantizeNVFP4(q, out);
  }
}

void mixtile::numerics::fakeQuantize(const float *in, float *out, size_t rows,
                                     size_t cols, const QuantScheme &scheme) {
  fakeQuantizeRows(in, out, rows, cols, scheme,
                   hasTensorScale(scheme) ? maxFiniteAbs(in, rows * cols) : 0);
}

bool mixtile::numerics::hasTensorScale(const QuantScheme &scheme) {
  return scheme.scale == ScaleKind::TensorF32 ||
         scheme.scale == ScaleKind::BlockE4M3WithTensorF32;
}

void mixtile::numerics::fakeQuantizeRows(const float *in, float *out,
                                         size_t rows, size_t cols,
                                         const QuantScheme &scheme,
                                         float tensorMaxAbs) {
  assert((!hasBlockScales(scheme) || scheme.blockSize > 0) &&
         "block-scaled schemes need a positive block size");
  switch (scheme.scale) {
  case ScaleKind::None:
    return roundTo(in, out, rows * cols, scheme.element, kUnscaledOverflow);
  case ScaleKind::TensorF32:
    return fakeQuantizePerTensor(in, out, rows * cols, scheme.element,
                                 tensorMaxAbs);
  case ScaleKind::BlockE8M0:
    return fakeQuantizeMX(in, out, rows, cols, scheme);
  case ScaleKind::BlockE4M3WithTensorF32:
    return fakeQuantizeNVFP4(in, out, rows, cols, scheme, tensorMaxAbs);
  }
}
