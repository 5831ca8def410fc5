//===- CostModelTest.cpp - the kernel cost model
//---------------------------===//
//
// The cost model times the kernels the lowering emits: it grows with the
// bytes and MACs of a kernel, never beats the rooflines, picks the kernel
// the simulator finds faster in both regimes, and agrees with the
// simulator's cycles (deterministic, so no wall time is involved) within
// the tolerance docs/MaiaKernels.md states, on products, attention and the
// row-wise kernels.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/CostModel.h"
#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Target/Maia/Simulator.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mixtile;
using maia::ScaleMode;
using numerics::FloatFormat;

namespace {

TargetModel maia() {
  auto target = TargetModel::load("maia200");
  EXPECT_TRUE(bool(target)) << llvm::toString(target.takeError());
  return *target;
}

const OperandStorage kMxfp4{4, 8, 32};
const OperandStorage kMxfp8{8, 8, 32};
const OperandStorage kBf16{16, 0, 0};
const MaiaOperandFormat kMxfp4Operand{FloatFormat::F4E2M1FN, ScaleMode::MX, 32};
const MaiaOperandFormat kMxfp8Operand{FloatFormat::F8E4M3FN, ScaleMode::MX, 32};

/// The largest error the model may make on one kernel.
constexpr double kTolerance = 0.15;

MatmulProblem product(int64_t m, int64_t n, int64_t k, OperandStorage x,
                      OperandStorage w) {
  MatmulProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.x = x;
  p.w = w;
  return p;
}

double modeledCycles(const TargetModel &t, const MatmulProblem &p,
                     MatmulKernel kernel = MatmulKernel::Auto) {
  llvm::Expected<LayerCost> c = estimateMatmul(t, 0, p, kernel);
  EXPECT_TRUE(bool(c)) << llvm::toString(c.takeError());
  return c ? c->cycles : 0;
}

uint64_t simulatedCycles(const TargetModel &t,
                         llvm::Expected<maia::Program> program) {
  EXPECT_TRUE(bool(program)) << llvm::toString(program.takeError());
  if (!program)
    return 0;
  maia::SimOptions options;
  options.functional = false;
  llvm::Expected<maia::SimResult> result = maia::simulate(*program, t, options);
  EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
  return result ? result->report.cycles : 0;
}

void expectAgreement(double modeled, uint64_t simulated) {
  ASSERT_GT(simulated, 0u);
  double error = (modeled - double(simulated)) / double(simulated);
  EXPECT_LE(std::fabs(error), kTolerance)
      << "modeled " << modeled << " cycles, simulated " << simulated;
}

TEST(CostModelTest, GrowsWithBytesAndMacs) {
  TargetModel t = maia();
  // More weight bytes at one token: a longer GEMV.
  EXPECT_LT(modeledCycles(t, product(1, 8192, 8192, kMxfp4, kMxfp4)),
            modeledCycles(t, product(1, 8192, 8192, kMxfp8, kMxfp8)));
  EXPECT_LT(modeledCycles(t, product(1, 8192, 8192, kMxfp8, kMxfp8)),
            modeledCycles(t, product(1, 8192, 8192, kBf16, kBf16)));
  // More MACs at one format: a longer product, in both regimes.
  for (OperandStorage s : {kMxfp4, kBf16}) {
    EXPECT_LT(modeledCycles(t, product(1024, 4096, 4096, s, s)),
              modeledCycles(t, product(2048, 4096, 4096, s, s)));
    EXPECT_LT(modeledCycles(t, product(2048, 4096, 4096, s, s)),
              modeledCycles(t, product(2048, 4096, 8192, s, s)));
  }
  // More rows of a row-wise kernel.
  EXPECT_LT(estimateRMSNorm(t, 0, 512, 4096).cycles,
            estimateRMSNorm(t, 0, 2048, 4096).cycles);
  EXPECT_LT(estimateElementwise(t, 0, ElementwiseKind::Add, 512, 4096).cycles,
            estimateElementwise(t, 0, ElementwiseKind::Add, 2048, 4096).cycles);
}

TEST(CostModelTest, NeverBeatsTheRooflines) {
  TargetModel t = maia();
  for (MatmulProblem p : {product(1, 8192, 8192, kMxfp4, kMxfp4),
                          product(8192, 8192, 8192, kMxfp4, kMxfp4),
                          product(4096, 4096, 172, kBf16, kBf16)}) {
    llvm::Expected<LayerCost> c = estimateMatmul(t, 0, p);
    ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
    EXPECT_GE(c->seconds, c->computeSeconds);
    EXPECT_GE(c->seconds, c->memorySeconds);
    // The kernel reads every operand byte at least once.
    EXPECT_GE(c->hbmBytes, c->bytes);
    EXPECT_DOUBLE_EQ(c->cycles, c->seconds * t.clockHz);
  }
}

TEST(CostModelTest, PicksTheKernelTheSimulatorFindsFaster) {
  TargetModel t = maia();
  // One token: each tile streams its own slice of the weights. A large
  // square product: the cluster kernel shares operands within a cluster.
  struct Shape {
    int64_t m, n, k;
    MatmulKernel expected;
  };
  for (Shape s : {Shape{1, 8192, 8192, MatmulKernel::PerTile},
                  Shape{4096, 4096, 4096, MatmulKernel::Cluster}}) {
    MatmulProblem p = product(s.m, s.n, s.k, kMxfp4, kMxfp4);
    llvm::Expected<MatmulPlan> plan =
        chooseMatmulPlan(t, 0, p, MatmulKernel::Auto);
    ASSERT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
    EXPECT_EQ(plan->kernel, s.expected);
    uint64_t cycles[2];
    for (MatmulKernel k : {MatmulKernel::PerTile, MatmulKernel::Cluster}) {
      MaiaKernelOptions options;
      options.kernel = k;
      cycles[k == MatmulKernel::Cluster] =
          simulatedCycles(t, buildMatmulProgram(t, s.m, s.n, s.k, kMxfp4Operand,
                                                kMxfp4Operand, options));
    }
    EXPECT_EQ(cycles[1] < cycles[0], s.expected == MatmulKernel::Cluster);
  }
}

TEST(CostModelTest, AgreesWithTheSimulatorOnProducts) {
  TargetModel t = maia();
  struct Shape {
    int64_t m, n, k;
    MaiaOperandFormat x, w;
    OperandStorage xs, ws;
    unsigned tiles;
  };
  for (Shape s :
       {Shape{1, 8192, 8192, kMxfp8Operand, kMxfp4Operand, kMxfp8, kMxfp4, 0},
        Shape{4096, 4096, 4096, kMxfp4Operand, kMxfp4Operand, kMxfp4, kMxfp4,
              0},
        Shape{2048, 1024, 4096, kMxfp8Operand, kMxfp8Operand, kMxfp8, kMxfp8,
              16}}) {
    MatmulProblem p = product(s.m, s.n, s.k, s.xs, s.ws);
    llvm::Expected<LayerCost> c = estimateMatmul(t, s.tiles, p);
    ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
    expectAgreement(c->cycles,
                    simulatedCycles(t, buildMatmulProgram(t, s.m, s.n, s.k, s.x,
                                                          s.w, s.tiles)));
  }
}

TEST(CostModelTest, AgreesWithTheSimulatorOnOtherKernels) {
  TargetModel t = maia();
  AttentionShape decode{1, 1024, 1023, 32, 8, 128, true};
  expectAgreement(estimateAttention(t, 0, decode).cycles,
                  simulatedCycles(t, buildAttentionProgram(t, decode)));
  AttentionShape prefill{256, 256, 0, 16, 4, 64, true};
  expectAgreement(estimateAttention(t, 0, prefill).cycles,
                  simulatedCycles(t, buildAttentionProgram(t, prefill)));
  expectAgreement(estimateRMSNorm(t, 0, 1024, 4096).cycles,
                  simulatedCycles(t, buildRMSNormProgram(t, 1024, 4096)));
  expectAgreement(
      estimateElementwise(t, 0, ElementwiseKind::Silu, 1024, 8192).cycles,
      simulatedCycles(
          t, buildElementwiseProgram(t, ElementwiseKind::Silu, 1024, 8192)));
  expectAgreement(estimateRope(t, 0, 1024, 4096).cycles,
                  simulatedCycles(t, buildRopeProgram(t, 1024, 4096, 128,
                                                      /*interleaved=*/true)));
  expectAgreement(
      estimateQuantize(t, 0, 1024, 4096, kMxfp8).cycles,
      simulatedCycles(t, buildQuantizeProgram(t, 1024, 4096, kMxfp8Operand)));
}

TEST(CostModelTest, ShapesNoKernelRunsGetTheRoofline) {
  TargetModel t = maia();
  // One FP4 code per row does not fill a byte (the precision search asks
  // for embeddings as [tokens, dim] x [dim, 1]).
  ProductFormats fp4{kMxfp4, kMxfp4, 16};
  LayerCost c = estimateMatmul(t, 16, 4096, 1, fp4);
  EXPECT_DOUBLE_EQ(c.seconds, std::max(c.computeSeconds, c.memorySeconds));
  EXPECT_GT(c.seconds, 0);
}

} // namespace
