//===- TestPrograms.h - programs shared by the Maia unit tests --*- C++ -*-===//
//
// The maia200 target, a program that uses every instruction kind, and a
// helper that places quantized matrices in TSRAM with the Numerics library.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_UNITTESTS_TARGET_MAIA_TESTPROGRAMS_H
#define MIXTILE_UNITTESTS_TARGET_MAIA_TESTPROGRAMS_H

#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/Packing.h"
#include "mixtile/Target/Maia/ISA.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/Support/Endian.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace mixtile::maia::testing {

inline TargetModel maia200() {
  auto target = TargetModel::load("maia200");
  EXPECT_TRUE(bool(target)) << llvm::toString(target.takeError());
  return target ? *target : TargetModel();
}

/// A valid maia200 program with every instruction kind, every scale mode,
/// both queue kinds, multicast, broadcasts and immediates.
inline const char *const kEveryInstruction = R"(
.buffer h hbm offset=0 size=65536 type=f32
.buffer c0 csram[0] offset=4096 size=8192 type=f4E2M1FN
.buffer x tsram[0] offset=0 size=1024 type=f32
.buffer q tsram[0] offset=1024 size=128 type=f4E2M1FN
.buffer qs tsram[0] offset=1152 size=8 type=f8E8M0FNU
.buffer w tsram[0] offset=2048 size=256 type=f4E2M1FN
.buffer ws tsram[0] offset=2304 size=16 type=f8E8M0FNU
.buffer nv tsram[0] offset=2560 size=128 type=f4E2M1FN
.buffer nvs tsram[0] offset=2688 size=32 type=f8E4M3FN
.buffer nt tsram[0] offset=2720 size=20 type=f8E4M3FN
.buffer e8 tsram[0] offset=2816 size=256 type=f8E4M3FN
.buffer ts tsram[0] offset=3072 size=16 type=f32
.buffer b16 tsram[0] offset=3328 size=512 type=bf16
.buffer f6 tsram[0] offset=3840 size=192 type=f6E3M2FN
.buffer y tsram[0] offset=4096 size=128 type=f32
.buffer r tsram[0] offset=4224 size=16 type=f32
.buffer v tsram[1] offset=8192 size=1024 type=f32
.data %h+16 "00ff7f80"
.data %x "0000803f"

.tile 0
  dma q=t0 src=%h dst=%x elem=4 shape=[1,4,64] signal=t0.s0
  dma q=c3 src=%h+4096 dst=%c0 elem=64 shape=[2,4,8] src.strides=[2048,512,64] dst.strides=[2048,512,64] wait=[t0.s0]
  dma q=t1 src=%x dst=%v elem=1024 shape=[1,1,1] mcast=0x3 signal=t1.s7
  vec.quant rows=4 len=64 dst=%q:f4E2M1FN dst.scale=mx/32:%qs src=%x
  vec.quant rows=4 len=64 dst=%nv:f4E2M1FN dst.scale=nvfp4.rows/16:%nvs src=%x
  vec.quant rows=4 len=64 dst=%e8:f8E4M3FN dst.scale=rows:%ts src=%x
  vec.quant rows=4 len=64 dst=%b16:bf16 src=%x
  vec.quant rows=4 len=64 dst=%f6:f6E3M2FN dst.scale=tensor:%ts+4 src=%x
  mm m=4 n=8 k=64 a=%q:f4E2M1FN a.scale=mx/32:%qs b=%w:f4E2M1FN b.scale=mx/32:%ws c=%y acc=1 wait=[t0.s1:2,s2] signal=t3.s31
  mm m=4 n=4 k=64 a=%nv:f4E2M1FN a.scale=nvfp4.rows/16:%nvs b=%nv:f4E2M1FN b.scale=nvfp4/16:%nt c=%y
  mm m=4 n=1 k=64 a=%e8:f8E4M3FN a.scale=rows:%ts b=%b16:bf16 c=%y+64
  vec.add rows=4 len=8 dst=%y a=%y b=%r bcast=col
  vec.sub rows=4 len=4 dst=%y a=%y b=%r bcast=row
  vec.mul rows=4 len=8 dst=%y a=%y b=-0.125
  vec.div rows=4 len=8 dst=%y a=%y b=%y
  vec.max rows=1 len=4 dst=%r a=%r b=1e-05
  vec.copy rows=4 len=8 dst=%y a=%y
  vec.exp rows=4 len=8 dst=%y a=%y
  vec.rsqrt rows=4 len=8 dst=%y a=%y
  vec.silu rows=4 len=8 dst=%y a=%y
  vec.rmax rows=4 len=8 dst=%r a=%y
  vec.rsum rows=4 len=8 dst=%r a=%y
  vec.rsumsq rows=4 len=8 dst=%r a=%y signal=t0.s3
  vec.dequant rows=4 len=64 dst=%x src=%q:f4E2M1FN src.scale=mx/32:%qs
  vec.dequant rows=4 len=64 dst=%x src=%f6:f6E3M2FN src.scale=tensor:%ts+4
  sem.signal sem=t1.s2:3
  sem.signal sem=t63.s0
  sem.wait sem=t0.s4:2
  sem.wait sem=s5
  barrier tiles=[0,1]
  halt

.tile 1
  barrier tiles=[0,1]
  halt
)";

/// Adds buffers for `values` [rows, cols] quantized with `scheme` in the
/// TSRAM of `tile` at `*offset` (advanced past them), with data segments
/// holding the codes and scales, and returns the operand. `rowScales` stores
/// one tensor scale per row (FP8 and NVFP4), quantizing each row alone.
inline TensorOperand placeQuantized(Program &program, const std::string &name,
                                    uint32_t tile, uint64_t &offset,
                                    const std::vector<float> &values,
                                    size_t rows, size_t cols,
                                    const numerics::QuantScheme &scheme,
                                    bool rowScales = false) {
  TensorOperand t;
  t.format = scheme.element;
  switch (scheme.scale) {
  case numerics::ScaleKind::None:
    t.scaleMode = ScaleMode::None;
    break;
  case numerics::ScaleKind::TensorF32:
    t.scaleMode = rowScales ? ScaleMode::Rows : ScaleMode::Tensor;
    break;
  case numerics::ScaleKind::BlockE8M0:
    t.scaleMode = ScaleMode::MX;
    break;
  case numerics::ScaleKind::BlockE4M3WithTensorF32:
    t.scaleMode = rowScales ? ScaleMode::NVFP4Rows : ScaleMode::NVFP4;
    break;
  }
  t.block = hasBlockScales(t.scaleMode) ? scheme.blockSize : 0;
  std::vector<uint8_t> codes, tensorScales, blockScales;
  size_t parts = rowScales ? rows : 1, partRows = rows / parts;
  for (size_t p = 0; p < parts; ++p) {
    numerics::QuantizedMatrix q = numerics::quantize(
        values.data() + p * partRows * cols, partRows, cols, scheme);
    codes.insert(codes.end(), q.codes.begin(), q.codes.end());
    blockScales.insert(blockScales.end(), q.blockScales.begin(),
                       q.blockScales.end());
    uint8_t word[4];
    llvm::support::endian::write32le(word, numerics::floatBits(q.tensorScale));
    tensorScales.insert(tensorScales.end(), word, word + 4);
  }
  unsigned bits = numerics::getFormatInfo(scheme.element).bits;
  if (bits < 8)
    codes = numerics::packCodes(codes, bits);
  auto place = [&](const std::string &bufferName, FloatFormat format,
                   std::vector<uint8_t> bytes) {
    uint64_t size = bytes.size();
    uint32_t index = program.addBuffer(
        Buffer{bufferName, MemoryLevel::TSRAM, tile, offset, size, format});
    program.data.push_back(DataSegment{BufferRef{index, 0}, std::move(bytes)});
    offset += (size + 63) / 64 * 64;
    return BufferRef{index, 0};
  };
  t.data = place(name, scheme.element, codes);
  if (t.scaleMode != ScaleMode::None) {
    std::vector<uint8_t> scales;
    if (t.scaleMode != ScaleMode::MX)
      scales = tensorScales;
    scales.insert(scales.end(), blockScales.begin(), blockScales.end());
    t.scales =
        place(name + ".scales", getScaleBufferFormat(t.scaleMode), scales);
  }
  return t;
}

/// Adds an f32 TSRAM buffer of `count` elements at `*offset`.
inline BufferRef placeF32(Program &program, const std::string &name,
                          uint32_t tile, uint64_t &offset, uint64_t count) {
  uint32_t index = program.addBuffer(Buffer{
      name, MemoryLevel::TSRAM, tile, offset, 4 * count, FloatFormat::F32});
  offset += (4 * count + 63) / 64 * 64;
  return BufferRef{index, 0};
}

inline std::vector<uint8_t> floatBytes(const std::vector<float> &values) {
  std::vector<uint8_t> bytes(4 * values.size());
  for (size_t i = 0; i < values.size(); ++i)
    llvm::support::endian::write32le(bytes.data() + 4 * i,
                                     numerics::floatBits(values[i]));
  return bytes;
}

inline std::vector<float> bytesToFloats(const std::vector<uint8_t> &bytes) {
  std::vector<float> values(bytes.size() / 4);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = numerics::floatFromBits(
        llvm::support::endian::read32le(bytes.data() + 4 * i));
  return values;
}

} // namespace mixtile::maia::testing

#endif // MIXTILE_UNITTESTS_TARGET_MAIA_TESTPROGRAMS_H
