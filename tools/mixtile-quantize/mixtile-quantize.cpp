//===- mixtile-quantize.cpp - quantize raw f32 matrices -------------------===//
//
//   mixtile-quantize --format=mxfp4 --cols=172 [--block=32] IN.f32 OUT.f32
//                    [--codes=CODES] [--scales=SCALES] [--stats]
//
// Quantizes a raw little-endian f32 matrix with one of the numerics
// library's schemes and writes the dequantized values, so that results can
// be compared with other MX/NVFP4 implementations. Every input is checked
// before anything is written, and outputs are written atomically.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/Packing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace mixtile::numerics;
namespace cl = llvm::cl;

static const char *const kOverview = R"(quantize raw f32 matrices

Reads IN as raw little-endian float32 values, a row-major matrix with --cols
columns (the file size must be a multiple of 4 * cols bytes), quantizes it
with --format, and writes the dequantized values to OUT as little-endian
float32. Block scales run along each row in blocks of --block columns; a row
whose length is not a multiple of the block size ends in a partial block with
its own scale. IN or OUT may be '-' for stdin/stdout.

Formats: mxfp4, mxfp6-e2m3, mxfp6-e3m2, mxfp8-e4m3, mxfp8-e5m2 (OCP MX:
E8M0 scale per block, default block 32), nvfp4 (E2M1 elements, E4M3 scale
per block, default block 16, FP32 tensor scale), fp8-e4m3, fp8-e5m2 (FP32
tensor scale), bf16 (no scale).

--block: a power of two >= 2; only for the block-scaled formats (mxfp*,
nvfp4).

--codes=FILE writes the element codes of the whole matrix as one row-major
stream: FP4 two per byte (element 2i in the low nibble, 2i+1 in the high
nibble), FP6 four per three bytes (an LSB-first bit stream: element i in
bits 6i..6i+5, bit k being bit k%8 of byte k/8), FP8 one byte each, bf16 two
bytes little-endian each. A trailing partial byte is zero-padded.

--scales=FILE writes the scales: for mxfp* one E8M0 code (2^(code-127),
0xFF = NaN) per block, row-major [rows, ceil(cols/block)]; for nvfp4 the
FP32 tensor scale (4 bytes little-endian) followed by one E4M3 code per
block, row-major; for fp8-* the FP32 tensor scale (4 bytes little-endian);
for bf16 an empty file.

Blocks holding NaN or Inf get a NaN scale (0xFF for E8M0, 0x7F for E4M3)
and dequantize to NaN.
)";

static cl::OptionCategory category("mixtile-quantize options");
static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<input.f32>"),
                                      cl::cat(category));
static cl::opt<std::string> outputPath(cl::Positional, cl::Required,
                                       cl::desc("<output.f32>"),
                                       cl::cat(category));
static cl::opt<std::string>
    formatName("format", cl::Required,
               cl::desc("Quantization scheme (mxfp4, mxfp6-e2m3, mxfp6-e3m2, "
                        "mxfp8-e4m3, mxfp8-e5m2, nvfp4, fp8-e4m3, fp8-e5m2, "
                        "bf16)"),
               cl::value_desc("scheme"), cl::cat(category));
static cl::opt<uint64_t> cols("cols", cl::Required,
                              cl::desc("Number of columns of the matrix"),
                              cl::value_desc("N"), cl::cat(category));
static cl::opt<unsigned>
    blockSize("block",
              cl::desc("Columns per block scale: a power of two >= 2 "
                       "(default 32 for MX, 16 for nvfp4)"),
              cl::value_desc("B"), cl::cat(category));
static cl::opt<std::string>
    codesPath("codes", cl::desc("Also write the packed element codes here"),
              cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> scalesPath("scales",
                                       cl::desc("Also write the scales here"),
                                       cl::value_desc("file"),
                                       cl::cat(category));

/// LLVM gives every tool a -stats option (pass statistics), and its
/// registration would clash with this tool's --stats: unregister it before
/// ours is created (in main, after the static options above).
static void unregisterLLVMStatsOption() {
  auto &options = cl::getRegisteredOptions();
  auto it = options.find("stats");
  if (it != options.end())
    it->second->removeArgument();
}

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "mixtile-quantize") << message << "\n";
  return 1;
}

static std::string listSchemeNames() {
  std::string names;
  for (std::string_view name : kQuantSchemeNames) {
    if (!names.empty())
      names += ", ";
    names += name;
  }
  return names;
}

/// The scheme named by --format with --block applied, or an error message.
static llvm::Expected<QuantScheme> getScheme() {
  std::optional<QuantScheme> scheme = parseQuantScheme(formatName);
  if (!scheme)
    return llvm::createStringError("unknown format '" + formatName +
                                   "'; valid formats: " + listSchemeNames());
  if (blockSize.getNumOccurrences() == 0)
    return *scheme;
  if (!hasBlockScales(*scheme))
    return llvm::createStringError(
        "--block does not apply to " + formatName +
        ", which has no block scales (only mxfp* and nvfp4 do)");
  std::optional<QuantScheme> withBlock = withBlockSize(*scheme, blockSize);
  if (!withBlock)
    return llvm::createStringError(
        "--block=" + std::to_string(blockSize) + " is invalid for " +
        formatName + ": the block size must be a power of two >= 2");
  return *withBlock;
}

/// Reads the input matrix; returns an error message naming the file.
static llvm::Expected<std::vector<float>> readMatrix(llvm::StringRef path,
                                                     uint64_t numCols) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path +
                                   "': " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (numCols > bytes.size() / 4 && !bytes.empty())
    return llvm::createStringError("'" + path + "' has " +
                                   std::to_string(bytes.size()) +
                                   " bytes, less than one row of " +
                                   std::to_string(numCols) + " f32 values");
  uint64_t rowBytes = 4 * numCols;
  if (bytes.size() % rowBytes != 0)
    return llvm::createStringError(
        "'" + path + "' has " + std::to_string(bytes.size()) +
        " bytes, which is not a multiple of 4 * cols = " +
        std::to_string(rowBytes) + " bytes (one f32 row)");
  std::vector<float> values(bytes.size() / 4);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] =
        floatFromBits(llvm::support::endian::read32le(bytes.data() + 4 * i));
  return values;
}

/// Writes `bytes` to `path` atomically (a temporary file renamed into
/// place), so a failed run leaves no partial output.
static llvm::Error writeBytes(llvm::StringRef path,
                              llvm::ArrayRef<uint8_t> bytes) {
  llvm::Error error =
      llvm::writeToOutput(path, [&](llvm::raw_ostream &os) -> llvm::Error {
        os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        return llvm::Error::success();
      });
  if (error) // The error code alone: its message would repeat the path.
    return llvm::createStringError(
        "cannot write '" + path +
        "': " + llvm::errorToErrorCode(std::move(error)).message());
  return llvm::Error::success();
}

static void appendFloatLE(std::vector<uint8_t> &bytes, float value) {
  uint8_t buffer[4];
  llvm::support::endian::write32le(buffer, floatBits(value));
  bytes.insert(bytes.end(), buffer, buffer + 4);
}

static std::vector<uint8_t> floatsToBytes(const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  for (size_t i = 0; i < values.size(); ++i)
    llvm::support::endian::write32le(bytes.data() + 4 * i,
                                     floatBits(values[i]));
  return bytes;
}

/// The --codes file: packed element codes (see the overview).
static std::vector<uint8_t> packElementCodes(const QuantizedMatrix &q) {
  unsigned bits = getFormatInfo(q.scheme.element).bits;
  if (!isPackableWidth(bits)) // bf16: already two little-endian bytes each.
    return q.codes;
  return packCodes(q.codes, bits);
}

/// The --scales file (see the overview).
static std::vector<uint8_t> serializeScales(const QuantizedMatrix &q) {
  std::vector<uint8_t> bytes;
  if (q.scheme.scale == ScaleKind::TensorF32 ||
      q.scheme.scale == ScaleKind::BlockE4M3WithTensorF32)
    appendFloatLE(bytes, q.tensorScale);
  bytes.insert(bytes.end(), q.blockScales.begin(), q.blockScales.end());
  return bytes;
}

/// Prints the error statistics over the elements where both the input and
/// the output are finite.
static void printErrorStats(const std::vector<float> &in,
                            const std::vector<float> &out) {
  double sumSquaredError = 0, sumSquaredInput = 0, maxAbsError = 0;
  uint64_t finite = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i]) || !std::isfinite(out[i]))
      continue;
    double error = double(out[i]) - double(in[i]);
    sumSquaredError += error * error;
    sumSquaredInput += double(in[i]) * double(in[i]);
    maxAbsError = std::max(maxAbsError, std::fabs(error));
    ++finite;
  }
  double rmse = finite ? std::sqrt(sumSquaredError / double(finite)) : 0.0;
  // 0/0 (an all-zero input reproduced exactly) counts as no error.
  double relativeL2 =
      sumSquaredError == 0 ? 0.0 : std::sqrt(sumSquaredError / sumSquaredInput);
  llvm::raw_ostream &os = llvm::outs();
  os << "elements: " << in.size() << "\n";
  os << "non-finite: " << (in.size() - finite) << "\n";
  os << "rmse: " << llvm::format("%.6e", rmse) << "\n";
  os << "max-abs-error: " << llvm::format("%.6e", maxAbsError) << "\n";
  os << "relative-l2-error: " << llvm::format("%.6e", relativeL2) << "\n";
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  unregisterLLVMStatsOption();
  cl::opt<bool> printStats(
      "stats",
      cl::desc("Print element count, RMSE, max abs error and relative L2 "
               "error of OUT against IN to stdout"),
      cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  llvm::Expected<QuantScheme> scheme = getScheme();
  if (!scheme)
    return fail(llvm::toString(scheme.takeError()));
  if (cols == 0)
    return fail("--cols must be at least 1");
  llvm::Expected<std::vector<float>> input = readMatrix(inputPath, cols);
  if (!input)
    return fail(llvm::toString(input.takeError()));

  const size_t rows = input->size() / cols;
  std::vector<float> output(input->size());
  std::optional<QuantizedMatrix> quantized;
  if (!codesPath.empty() || !scalesPath.empty()) {
    quantized = quantize(input->data(), rows, cols, *scheme);
    dequantize(*quantized, output.data());
  } else {
    fakeQuantize(input->data(), output.data(), rows, cols, *scheme);
  }

  if (llvm::Error error = writeBytes(outputPath, floatsToBytes(output)))
    return fail(llvm::toString(std::move(error)));
  if (!codesPath.empty())
    if (llvm::Error error = writeBytes(codesPath, packElementCodes(*quantized)))
      return fail(llvm::toString(std::move(error)));
  if (!scalesPath.empty())
    if (llvm::Error error = writeBytes(scalesPath, serializeScales(*quantized)))
      return fail(llvm::toString(std::move(error)));
  if (printStats)
    printErrorStats(*input, output);
  return 0;
}
