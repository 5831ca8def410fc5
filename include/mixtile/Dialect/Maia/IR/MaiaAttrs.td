//===- MaiaAttrs.td - maia attributes and enums ------------*- tablegen -*-===//
//
// The enums of the maia ops, semaphore references and coded tensor operands.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIAATTRS_TD
#define MIXTILE_DIALECT_MAIA_IR_MAIAATTRS_TD

include "mixtile/Dialect/Maia/IR/MaiaDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

// The C++ names differ from the ISA's enums (maia::MemoryLevel, ScaleMode,
// Broadcast), which live in the same namespace.

def Maia_Memory : I32EnumAttr<"Memory", "a software-managed memory", [
      I32EnumAttrCase<"hbm", 0>,
      I32EnumAttrCase<"csram", 1>,
      I32EnumAttrCase<"tsram", 2>
    ]> {
  let cppNamespace = "::mixtile::maia";
  let genSpecializedAttr = 0;
}
def Maia_MemoryAttr : EnumAttr<Maia_Dialect, Maia_Memory, "memory"> {
  let assemblyFormat = "`<` $value `>`";
}

def Maia_Scaling : I32EnumAttr<"Scaling",
    "how a coded tensor operand is scaled (maia::ScaleMode)", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tensor", 1>,
      I32EnumAttrCase<"rows", 2>,
      I32EnumAttrCase<"mx", 3>,
      I32EnumAttrCase<"nvfp4", 4>,
      I32EnumAttrCase<"nvfp4_rows", 5, "nvfp4.rows">
    ]> {
  let cppNamespace = "::mixtile::maia";
  let genSpecializedAttr = 0;
}

def Maia_BroadcastMode : I32EnumAttr<"BroadcastMode",
    "how operand b of a binary vector op covers [rows, len]", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"row", 1>,
      I32EnumAttrCase<"col", 2>
    ]> {
  let cppNamespace = "::mixtile::maia";
  let genSpecializedAttr = 0;
}
def Maia_BroadcastModeAttr
    : EnumAttr<Maia_Dialect, Maia_BroadcastMode, "broadcast"> {
  let assemblyFormat = "`<` $value `>`";
}

def Maia_QueueKind : I32EnumAttr<"QueueKind",
    "whose DMA queue runs a transfer", [
      I32EnumAttrCase<"tile", 0>,
      I32EnumAttrCase<"cluster", 1>
    ]> {
  let cppNamespace = "::mixtile::maia";
  let genSpecializedAttr = 0;
}
def Maia_QueueKindAttr : EnumAttr<Maia_Dialect, Maia_QueueKind, "queue_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Maia_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Maia_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Maia_SemAttr : Maia_Attr<"Sem", "sem"> {
  let summary = "A semaphore of a tile, with a count";
  let description = [{
    Semaphore `id` of tile `tile` (maia::SemRef) and a count: what a wait
    takes (maia::SemWait, `maia.sem.wait`) or what `maia.sem.signal` adds.
    The completion `signal` of a command always adds 1 and has count 1. The
    syntax is the assembly's: `t<tile>.s<id>`, then `:<count>` unless the
    count is 1.

    ```mlir
    #maia.sem<t0.s3>      // tile 0, semaphore 3, count 1
    #maia.sem<t12.s0:4>   // tile 12, semaphore 0, count 4
    ```
  }];
  let parameters = (ins "uint32_t":$tile, "uint32_t":$id,
                        DefaultValuedParameter<"uint32_t", "1">:$count);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    /// Parses and prints the body without the angle brackets, as the op
    /// syntax writes semaphores.
    static SemAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

def Maia_TensorAttr : Maia_Attr<"Tensor", "tensor"> {
  let summary = "A coded tensor operand with its scales";
  let description = [{
    A maia::TensorOperand: element codes of type `format` at byte `offset`
    of `buffer`, and unless `scaling` is `none` the scales at
    `scales_offset` of `scales`. `block` is the number of columns per block
    scale for the block scalings (`mx`, `nvfp4`, `nvfp4.rows`) and 0
    otherwise.

    ```mlir
    #maia.tensor<@x : bf16>
    #maia.tensor<@w[512] : f4E2M1FN scale nvfp4 16 @w_scales[8]>
    #maia.tensor<@q : f8E4M3FN scale rows @q_scales>
    ```
  }];
  let parameters = (ins
    "::mlir::FlatSymbolRefAttr":$buffer,
    "uint64_t":$offset,
    "::mlir::Type":$format,
    EnumParameter<Maia_Scaling>:$scaling,
    "uint32_t":$block,
    OptionalParameter<"::mlir::FlatSymbolRefAttr">:$scales,
    "uint64_t":$scales_offset
  );
  let builders = [
    // An unscaled operand.
    AttrBuilderWithInferredContext<(ins "::mlir::FlatSymbolRefAttr":$buffer,
                                        "uint64_t":$offset,
                                        "::mlir::Type":$format), [{
      return $_get(buffer.getContext(), buffer, offset, format,
                   Scaling::none, 0, nullptr, 0);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Parses and prints the body without the angle brackets, as the op
    /// syntax writes tensor operands.
    static TensorAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

#endif // MIXTILE_DIALECT_MAIA_IR_MAIAATTRS_TD
