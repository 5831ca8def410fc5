//===- ISA.h - the modeled Maia accelerator's instruction set ---*- C++ -*-===//
//
// A Maia program: per-tile command streams, a table of named buffers placed
// in HBM, a cluster's CSRAM or a tile's TSRAM, and initial data segments.
// The same Program has three forms: this in-memory one (what a compiler
// builds), a text assembly (.masm, printAssembly/parseAssembly) and a binary
// (.mbin, encodeBinary/decodeBinary). docs/MaiaISA.md is the reference for
// the semantics, the syntax and the encoding.
//
// Plain C++ over LLVM Support: no MLIR types. Hardware numbers (capacities,
// queue and semaphore counts, the MX block) come from a TargetModel, which
// only verifyProgram() needs; printing, parsing and the binary form are
// target-independent.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_MAIA_ISA_H
#define MIXTILE_TARGET_MAIA_ISA_H

#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/FloatFormats.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mixtile::maia {

using numerics::FloatFormat;

//===----------------------------------------------------------------------===//
// Memory and buffers
//===----------------------------------------------------------------------===//

/// The three software-managed memories: one chip-wide HBM, one CSRAM per
/// cluster, one TSRAM per tile.
enum class MemoryLevel : uint8_t { HBM, CSRAM, TSRAM };

/// A named region of one memory. Buffers may overlap (two views of the same
/// bytes with different element formats).
struct Buffer {
  /// An identifier: [A-Za-z_][A-Za-z0-9_.]*, unique in the program.
  std::string name;
  MemoryLevel level = MemoryLevel::HBM;
  /// The cluster (CSRAM) or the tile (TSRAM, a chip-wide tile id) whose
  /// memory holds the buffer; 0 for HBM.
  uint32_t unit = 0;
  /// Byte offset in that memory and size in bytes.
  uint64_t offset = 0, size = 0;
  /// Format of the elements stored in the buffer. Typed operands (mm, vector
  /// ops) must name the format of their buffer; DMA copies bytes.
  FloatFormat format = FloatFormat::F32;
};

/// A byte position inside a buffer.
struct BufferRef {
  /// Index into Program::buffers.
  uint32_t buffer = 0;
  /// Byte offset from the start of the buffer.
  uint64_t offset = 0;
};

//===----------------------------------------------------------------------===//
// Synchronisation
//===----------------------------------------------------------------------===//

/// Semaphore `id` of tile `tile` (each tile owns TargetModel::
/// semaphoresPerTile counting semaphores, all starting at 0).
struct SemRef {
  uint32_t tile = 0;
  uint32_t id = 0;
};

/// Wait until a semaphore holds at least `count`, then take `count` from it.
struct SemWait {
  SemRef sem;
  uint32_t count = 1;
};

/// Synchronisation of an asynchronous command (dma, mm, vector ops). Before
/// the command issues, each semaphore of `waits` must hold its count, and
/// the counts are taken; when the command completes, `signal` (if any) is
/// incremented by one. A tile only waits on its own semaphores; any tile may
/// signal any semaphore.
struct Sync {
  std::vector<SemWait> waits;
  std::optional<SemRef> signal;
};

//===----------------------------------------------------------------------===//
// Operand formats
//===----------------------------------------------------------------------===//

/// How a coded tensor operand [rows, cols] is scaled (scales run along the
/// columns, i.e. along K). The scale buffer layouts:
/// - Tensor:    one f32 for the whole operand.
/// - Rows:      one f32 per row ([rows] f32).
/// - MX:        one E8M0 code per `block` columns, row-major
///              [rows, ceil(cols / block)] bytes (OCP MX).
/// - NVFP4:     one f32 tensor scale, then E4M3 block codes as for MX.
/// - NVFP4Rows: one f32 tensor scale per row ([rows] f32), then E4M3 block
///              codes as for MX.
/// The per-row variants are what a run-time activation quantizer produces
/// when each token's row is scaled on its own (docs/Evaluator.md).
enum class ScaleMode : uint8_t { None, Tensor, Rows, MX, NVFP4, NVFP4Rows };

/// A tensor operand in TSRAM stored as element codes plus optional scales.
/// Codes are row-major; 4- and 6-bit codes are packed as numerics/Packing.h
/// describes (each row must fill whole bytes), 16-bit codes take two
/// little-endian bytes, f32 four.
struct TensorOperand {
  BufferRef data;
  FloatFormat format = FloatFormat::F32;
  ScaleMode scaleMode = ScaleMode::None;
  /// Columns per block scale (MX, NVFP4*); 0 otherwise.
  uint32_t block = 0;
  /// The scale buffer (unused with ScaleMode::None).
  BufferRef scales;
};

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

/// A DMA queue: one of a tile's own queues or one of its cluster's shared
/// queues. Commands on one queue run one after another.
struct DmaQueue {
  enum class Kind : uint8_t { Tile, Cluster };
  Kind kind = Kind::Tile;
  uint32_t index = 0;
};

/// `dma`: copies a 3-D strided block of elements. For every index (i0, i1,
/// i2) < counts (dimension 0 outermost), `elementBytes` bytes move from
/// src + sum(i_d * srcStrides[d]) to dst + sum(i_d * dstStrides[d]). With a
/// multicast mask, the destination must be TSRAM and the bytes land at the
/// same address in the TSRAM of every tile whose bit (tile index within the
/// destination's cluster) is set; the mask includes the destination's own
/// tile.
struct DmaInst {
  DmaQueue queue;
  BufferRef src, dst;
  uint32_t elementBytes = 1;
  std::array<uint64_t, 3> counts = {1, 1, 1};
  std::array<uint64_t, 3> srcStrides = {0, 0, 0};
  std::array<uint64_t, 3> dstStrides = {0, 0, 0};
  /// 0: no multicast.
  uint32_t multicast = 0;
  Sync sync;
};

/// `mm`: on the tensor unit, C[M, N] (+)= A[M, K] * B[N, K]^T with an FP32
/// accumulator C (row-major f32 in TSRAM). Each C[m][n] starts from 0 (or
/// from its current value if `accumulate`) and adds A[m][k] * B[n][k] for k
/// ascending, one fused multiply-add per term, after decoding A and B with
/// their scales.
struct MatmulInst {
  uint32_t m = 0, n = 0, k = 0;
  TensorOperand a, b;
  BufferRef acc;
  bool accumulate = false;
  Sync sync;
};

/// Element-wise binary vector ops on f32 [rows, len] operands.
enum class VecBinaryOp : uint8_t { Add, Sub, Mul, Div, Max };

/// How the second operand of a binary op covers [rows, len].
enum class Broadcast : uint8_t {
  /// b is [rows, len].
  None,
  /// b is one row [len], reused by every row.
  Row,
  /// b is one value per row [rows].
  Column,
  /// b is the immediate `scalar`.
  Scalar,
};

/// `vec.add|sub|mul|div|max`: dst = a OP b on the vector unit. `vec.mul`
/// with a scalar is the scale-by-scalar op.
struct VecBinaryInst {
  VecBinaryOp op = VecBinaryOp::Add;
  uint32_t rows = 0, len = 0;
  BufferRef dst, a, b;
  Broadcast broadcast = Broadcast::None;
  float scalar = 0;
  Sync sync;
};

/// Element-wise unary vector ops on f32 [rows, len] operands.
enum class VecUnaryOp : uint8_t { Copy, Exp, Rsqrt, Silu };

/// `vec.copy|exp|rsqrt|silu`: dst = OP(a).
struct VecUnaryInst {
  VecUnaryOp op = VecUnaryOp::Copy;
  uint32_t rows = 0, len = 0;
  BufferRef dst, a;
  Sync sync;
};

/// Row-wise reductions: max, sum, sum of squares.
enum class VecReduceOp : uint8_t { Max, Sum, SumSquares };

/// `vec.rmax|rsum|rsumsq`: dst[r] = reduction over a[r][0..len) (f32).
struct VecReduceInst {
  VecReduceOp op = VecReduceOp::Max;
  uint32_t rows = 0, len = 0;
  BufferRef dst, a;
  Sync sync;
};

/// `vec.quant`: quantizes f32 src [rows, len] into the codes and scales of
/// `dst` with the Numerics library (the Rows scale modes quantize each row
/// on its own).
struct VecQuantizeInst {
  uint32_t rows = 0, len = 0;
  TensorOperand dst;
  BufferRef src;
  Sync sync;
};

/// `vec.dequant`: decodes `src` [rows, len] with its scales into f32 dst.
struct VecDequantizeInst {
  uint32_t rows = 0, len = 0;
  BufferRef dst;
  TensorOperand src;
  Sync sync;
};

/// `sem.signal`: adds `count` to a semaphore (any tile's).
struct SemSignalInst {
  SemRef sem;
  uint32_t count = 1;
};

/// `sem.wait`: blocks the stream until one of its own tile's semaphores
/// holds `count`, then takes `count`.
struct SemWaitInst {
  SemRef sem;
  uint32_t count = 1;
};

/// `barrier`: blocks until every listed tile has reached a barrier over the
/// same set of tiles.
struct BarrierInst {
  /// Chip-wide tile ids, ascending, including the executing tile.
  std::vector<uint32_t> tiles;
};

/// `halt`: ends the stream (the last instruction if present).
struct HaltInst {};

using Instruction =
    std::variant<DmaInst, MatmulInst, VecBinaryInst, VecUnaryInst,
                 VecReduceInst, VecQuantizeInst, VecDequantizeInst,
                 SemSignalInst, SemWaitInst, BarrierInst, HaltInst>;

/// The assembly mnemonic of an instruction ("dma", "mm", "vec.add", ...).
llvm::StringRef getMnemonic(const Instruction &inst);

/// The synchronisation of an asynchronous command, or null for sem.*,
/// barrier and halt.
const Sync *getSync(const Instruction &inst);
Sync *getSync(Instruction &inst);

//===----------------------------------------------------------------------===//
// Programs
//===----------------------------------------------------------------------===//

/// Bytes written into a buffer before the program runs (weights, inputs).
struct DataSegment {
  BufferRef at;
  std::vector<uint8_t> bytes;
};

/// The command stream of one tile.
struct TileProgram {
  uint32_t tile = 0;
  std::vector<Instruction> instructions;
};

struct Program {
  std::vector<Buffer> buffers;
  std::vector<DataSegment> data;
  /// At most one stream per tile; tiles without a stream stay idle.
  std::vector<TileProgram> tiles;

  /// Index of the buffer called `name`.
  std::optional<uint32_t> findBuffer(llvm::StringRef name) const;
  /// Appends a buffer and returns its index.
  uint32_t addBuffer(Buffer buffer);
  /// The stream of `tile`, created empty if it has none. The reference is
  /// invalidated when another stream is created.
  TileProgram &getOrCreateTile(uint32_t tile);
};

//===----------------------------------------------------------------------===//
// Layout helpers (shared by the verifier, the simulator and compilers)
//===----------------------------------------------------------------------===//

/// Bytes of a row-major [rows, cols] matrix of `format` codes (sub-byte codes
/// packed), or nullopt if a row would not fill whole bytes or the size
/// overflows.
std::optional<uint64_t> getTensorBytes(FloatFormat format, uint64_t rows,
                                       uint64_t cols);

/// Bytes of the scale buffer of a [rows, cols] operand (0 without scales),
/// or nullopt on overflow or a zero block.
std::optional<uint64_t> getScaleBytes(ScaleMode mode, uint32_t block,
                                      uint64_t rows, uint64_t cols);

/// The Numerics scheme of an element format with a scale mode.
numerics::QuantScheme getQuantScheme(FloatFormat format, ScaleMode mode,
                                     uint32_t block);

/// Format of the scale buffer's codes: f8E8M0FNU (MX), f8E4M3FN (NVFP4*),
/// f32 (Tensor, Rows). Meaningless for ScaleMode::None.
FloatFormat getScaleBufferFormat(ScaleMode mode);

/// Assembly spelling of a scale mode: "none", "tensor", "rows", "mx",
/// "nvfp4", "nvfp4.rows".
llvm::StringRef getScaleModeName(ScaleMode mode);

/// Assembly spelling of a memory level: "hbm", "csram", "tsram".
llvm::StringRef getMemoryLevelName(MemoryLevel level);

/// True for a valid buffer name ([A-Za-z_][A-Za-z0-9_.]*).
bool isValidBufferName(llvm::StringRef name);

/// True for the scale modes with block scales (MX, NVFP4, NVFP4Rows).
bool hasBlockScales(ScaleMode mode);

/// Alignment of typed operands in `format`: 4 bytes for f32, 2 for 16-bit
/// formats, 1 otherwise.
uint64_t getNaturalAlignment(FloatFormat format);

/// Bytes a DMA moves (elementBytes times the three counts), or nullopt on
/// overflow.
std::optional<uint64_t> getDmaBytes(const DmaInst &dma);

/// Capacity in bytes of one memory of `level` (HBM, one cluster's CSRAM, one
/// tile's TSRAM).
uint64_t getMemoryCapacity(const TargetModel &target, MemoryLevel level);

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

/// Target-independent structure: valid and unique buffer names, buffer
/// references that index the table, data segments inside their buffers,
/// one stream per tile, nothing after a halt, sorted unique barrier tiles.
/// parseAssembly and decodeBinary only return programs that pass it.
llvm::Error verifyStructure(const Program &program);

/// verifyStructure plus everything that depends on `target`: buffers inside
/// their memory's capacity, tiles, clusters, semaphores and queues in
/// range, every operand inside its buffer and naturally aligned, formats the
/// tensor and vector units accept, DMA paths the chip has. Errors name the
/// tile, the instruction index and mnemonic, and the problem.
llvm::Error verifyProgram(const Program &program, const TargetModel &target);

//===----------------------------------------------------------------------===//
// Text assembly and binary
//===----------------------------------------------------------------------===//

/// Prints `program` in the assembly syntax of docs/MaiaISA.md. Printing a
/// parsed program reproduces the text exactly up to comments, spacing,
/// field order and defaulted fields.
void printAssembly(const Program &program, llvm::raw_ostream &os);

/// Parses assembly. Errors read "<sourceName>:<line>:<col>: <problem>".
llvm::Expected<Program> parseAssembly(llvm::StringRef text,
                                      llvm::StringRef sourceName);

/// The 4 bytes every binary starts with.
inline constexpr char kBinaryMagic[4] = {'M', 'A', 'I', 'A'};
/// The binary format version encodeBinary writes and decodeBinary reads.
inline constexpr uint16_t kBinaryVersion = 1;

/// True if `bytes` starts with kBinaryMagic.
bool isBinary(llvm::ArrayRef<uint8_t> bytes);

/// Encodes `program` (which must pass verifyStructure) in the little-endian
/// binary format of docs/MaiaISA.md.
std::vector<uint8_t> encodeBinary(const Program &program);

/// Decodes a binary. Any malformed input (truncated, bad magic, version or
/// checksum, bad opcode, out-of-range field) gives an error naming
/// `sourceName`, the byte offset and the problem.
llvm::Expected<Program> decodeBinary(llvm::ArrayRef<uint8_t> bytes,
                                     llvm::StringRef sourceName);

} // namespace mixtile::maia

#endif // MIXTILE_TARGET_MAIA_ISA_H
