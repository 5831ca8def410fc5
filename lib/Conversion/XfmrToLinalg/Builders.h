//===- Builders.h - small IR-building helpers for the CPU lowering -*- C++ -*-//
//
// Shorthands shared by the kernels of convert-xfmr-to-linalg: constants,
// tensors of a given size, and linalg.generic ops with one result. Private
// to lib/Conversion/XfmrToLinalg.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_CONVERSION_XFMRTOLINALG_BUILDERS_H
#define MIXTILE_LIB_CONVERSION_XFMRTOLINALG_BUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"

namespace mixtile::cpu {

/// Computes the scalar a linalg.generic yields from its block arguments.
using GenericBody = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// Emits scalar constants and the integer views of f32 values at one
/// insertion point; most kernels are written in terms of these.
class ScalarBuilder {
public:
  ScalarBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value f32(float value);
  mlir::Value u32(uint32_t value);
  mlir::Value i32(int32_t value) { return u32(static_cast<uint32_t>(value)); }
  mlir::Value index(int64_t value);
  /// The i32 bit pattern of an f32 value, and back.
  mlir::Value bits(mlir::Value f);
  mlir::Value fromBits(mlir::Value i);
  mlir::Value select(mlir::Value condition, mlir::Value a, mlir::Value b);
  mlir::Value cmpf(mlir::arith::CmpFPredicate predicate, mlir::Value a,
                   mlir::Value b);
  mlir::Value cmpi(mlir::arith::CmpIPredicate predicate, mlir::Value a,
                   mlir::Value b);
  /// The element index `dim` of the enclosing linalg.generic as an index.
  mlir::Value loopIndex(int64_t dim);
  /// An integer or index value converted to f32 as C++ converts an int64_t
  /// (sign-extended, then rounded to nearest).
  mlir::Value toF32(mlir::Value integer);
  /// An integer value (any width, read as signed) as an index.
  mlir::Value toIndex(mlir::Value integer);
  /// An unsigned integer value (a code) as an index.
  mlir::Value codeToIndex(mlir::Value code);
  /// The f32 a bf16 code (i16) stands for: the code is its top half.
  mlir::Value fromBF16Code(mlir::Value code);
  /// The f32s of the high and the low bf16 code of a 32-bit word (a pair
  /// of codes, WeightPack.h): the word with its low half cleared, and
  /// shifted up by 16.
  mlir::Value fromHighBF16(mlir::Value word);
  mlir::Value fromLowBF16(mlir::Value word);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

/// The sizes of every dimension of the ranked tensor `value`.
llvm::SmallVector<mlir::OpFoldResult>
getSizes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value);

/// A tensor.empty of `sizes` and `elementType`.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::Type elementType);

/// A tensor of `sizes` with every element `value` (linalg.fill).
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         mlir::Value value);

/// A linalg.generic over `inputs` into `init` with one result.
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::ValueRange inputs, mlir::Value init,
                         llvm::ArrayRef<mlir::AffineMap> maps,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         GenericBody body);

/// An element-wise linalg.generic over same-shaped `inputs` producing a
/// tensor of their shape with `elementType` elements.
mlir::Value buildMap(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::ValueRange inputs, mlir::Type elementType,
                     GenericBody body);

/// `parallel` parallel iterators followed by `reductions` reduction
/// iterators.
llvm::SmallVector<mlir::utils::IteratorType>
iteratorTypes(unsigned parallel, unsigned reductions = 0);

/// The map from `numDims` loop dimensions to the dimensions `results`.
mlir::AffineMap projection(mlir::MLIRContext *ctx, unsigned numDims,
                           llvm::ArrayRef<unsigned> results);

/// tensor.expand_shape / tensor.collapse_shape with the result shape
/// inferred from `sizes` (static sizes become static dimensions).
mlir::Value expandShape(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value source,
                        llvm::ArrayRef<mlir::ReassociationIndices> groups,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes);
mlir::Value collapseShape(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value source,
                          llvm::ArrayRef<mlir::ReassociationIndices> groups);

} // namespace mixtile::cpu

#endif // MIXTILE_LIB_CONVERSION_XFMRTOLINALG_BUILDERS_H
