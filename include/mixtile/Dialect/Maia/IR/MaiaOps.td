//===- MaiaOps.td - maia operations ------------------------*- tablegen -*-===//
//
// One op per piece of a Maia program: the program, its buffers, data
// segments and tile streams, and one op per instruction kind. Attribute names
// are the field names of the C++ structs of mixtile/Target/Maia/ISA.h; the
// custom syntax uses the keys of the assembly (docs/MaiaISA.md).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIAOPS_TD
#define MIXTILE_DIALECT_MAIA_IR_MAIAOPS_TD

include "mixtile/Dialect/Maia/IR/MaiaDialect.td"
include "mixtile/Dialect/Maia/IR/MaiaAttrs.td"
include "mixtile/Dialect/Maia/IR/MaiaInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/SymbolInterfaces.td"

//===----------------------------------------------------------------------===//
// Common constraints
//===----------------------------------------------------------------------===//

// The element formats of numerics::FloatFormat.
def Maia_ElementType : AnyTypeOf<[F32, BF16, F16, F8E4M3FN, F8E5M2, F6E2M3FN,
                                  F6E3M2FN, F4E2M1FN, F8E8M0FNU],
                                 "a Maia element format">;

def Maia_SemArrayAttr : TypedArrayAttrBase<Maia_SemAttr,
                                           "list of #maia.sem waits">;

// A 3-D extent or stride list of a DMA; the elements are the ISA's uint64
// values (the custom syntax prints them unsigned).
def Maia_Dims3Attr : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<3>]>;

// The synchronisation of a command (maia::Sync) and its syntax.
defvar Maia_SyncArgs = (ins OptionalAttr<Maia_SemArrayAttr>:$waits,
                            OptionalAttr<Maia_SemAttr>:$signal);
defvar Maia_SyncFormat = [{
  (`wait` custom<SemList>($waits)^)? (`signal` custom<Sem>($signal)^)?
  attr-dict
}];

//===----------------------------------------------------------------------===//
// Program structure
//===----------------------------------------------------------------------===//

def Maia_ProgramOp : Maia_Op<"program", [IsolatedFromAbove, NoTerminator,
    SingleBlock, SymbolTable, NoRegionArguments]> {
  let summary = "A Maia program: buffers, data segments and tile streams";
  let description = [{
    A maia::Program. The body holds, in this order, the buffer table
    (`maia.buffer`, in maia::Program::buffers order), the data segments
    (`maia.data`) and the tile streams (`maia.tile`, at most one per tile).
    The order is fixed so that a program and its IR correspond one to one.

    Besides the checks of its ops, the program is verified against the chip
    described by the `xfmr.target` attribute of the enclosing module, when
    there is one (maia::verifyProgram); the failures are reported at the op
    they concern.

    ```mlir
    maia.program {
      maia.buffer @x_hbm hbm offset 0 size 1024 : f32
      maia.buffer @x tsram[0] offset 0 size 1024 : f32
      maia.tile 0 {
        maia.dma t0 @x_hbm -> @x elem 1024 shape [1, 1, 1]
            src_strides [0, 0, 0] dst_strides [0, 0, 0]
        maia.halt
      }
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$bodyRegion);
  let assemblyFormat = "attr-dict-with-keyword $bodyRegion";
  let hasRegionVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins), [{
      $_state.addRegion()->emplaceBlock();
    }]>
  ];
}

def Maia_BufferOp : Maia_Op<"buffer", [Symbol, HasParent<"ProgramOp">]> {
  let summary = "A named region of one memory";
  let description = [{
    A maia::Buffer: `size` bytes at byte `offset` of the HBM, of the CSRAM
    of cluster `unit` or of the TSRAM of the chip-wide tile `unit`, holding
    `format` elements. Buffers may overlap (two views of the same bytes).
    The symbol name is the buffer's name and must be an assembly identifier
    (`[A-Za-z_][A-Za-z0-9_.]*`).

    ```mlir
    maia.buffer @w hbm offset 4096 size 8192 : f4E2M1FN
    maia.buffer @w_stage csram[1] offset 0 size 8192 : f4E2M1FN
    maia.buffer @acc tsram[5] offset 65536 size 4096 : f32
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, Maia_MemoryAttr:$level,
                       UI32Attr:$unit, UI64Attr:$offset, UI64Attr:$size,
                       TypeAttrOf<Maia_ElementType>:$format);
  let assemblyFormat = [{
    $sym_name custom<Memory>($level, $unit) `offset` $offset `size` $size `:`
    $format attr-dict
  }];
  let hasVerifier = 1;
}

def Maia_DataOp : Maia_Op<"data", [HasParent<"ProgramOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Bytes written into a buffer before the program runs";
  let description = [{
    A maia::DataSegment: initial bytes at byte `offset` of `buffer`. The
    bytes are either in the IR, as a 1-D `i8` tensor (`dense` for small
    segments, `dense_resource` for blobs the IR text should not spell out),
    or named in a file: `file_size` bytes at `file_offset` of `file`, read
    when the program is exported, so that the weights of a large model never
    land in the IR. A relative file name is looked up in the working
    directory, then in the export's base directory (mixtile-translate: the
    directory of the input).

    ```mlir
    maia.data @bias = dense<[0, 0, -128, 63]> : tensor<4xi8>
    maia.data @w[4096] from "layer0.bin" offset 0 size 8192
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$buffer, UI64Attr:$offset,
                       OptionalAttr<ElementsAttr>:$bytes,
                       OptionalAttr<StrAttr>:$file,
                       OptionalAttr<UI64Attr>:$file_offset,
                       OptionalAttr<UI64Attr>:$file_size);
  let assemblyFormat = [{
    custom<BufferRef>($buffer, $offset) (`=` $bytes^)?
    (`from` $file^ `offset` $file_offset `size` $file_size)? attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of bytes the segment writes.
    uint64_t getByteCount();
  }];
}

def Maia_TileOp : Maia_Op<"tile", [HasParent<"ProgramOp">, NoTerminator,
    SingleBlock, NoRegionArguments]> {
  let summary = "The command stream of one tile";
  let description = [{
    A maia::TileProgram: the instructions tile `tile` (a chip-wide id) runs,
    in order. There is no terminator: as in the ISA, a stream may end with
    `maia.halt` or simply run out of instructions.

    ```mlir
    maia.tile 3 {
      maia.sem.wait t3.s0
      maia.halt
    }
    ```
  }];
  let arguments = (ins UI32Attr:$tile);
  let regions = (region SizedRegion<1>:$bodyRegion);
  let assemblyFormat = "$tile attr-dict-with-keyword $bodyRegion";
  let hasRegionVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "uint32_t":$tile), [{
      $_state.addAttribute(getTileAttrName($_state.name),
                           $_builder.getUI32IntegerAttr(tile));
      $_state.addRegion()->emplaceBlock();
    }]>
  ];
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

class Maia_InstructionOp<string mnemonic, list<Trait> traits = []>
    : Maia_Op<mnemonic, !listconcat([HasParent<"TileOp">,
                                     Maia_InstructionOpInterface], traits)>;

// An asynchronous command: it names buffers and has a maia::Sync.
class Maia_CommandOp<string mnemonic, list<Trait> traits = []>
    : Maia_InstructionOp<mnemonic, !listconcat([Maia_CommandOpInterface,
          DeclareOpInterfaceMethods<SymbolUserOpInterface>], traits)>;

def Maia_DmaOp : Maia_CommandOp<"dma"> {
  let summary = "Strided 3-D copy on a DMA queue";
  let description = [{
    A maia::DmaInst. For every index (i0, i1, i2) < `counts` (dimension 0
    outermost), `element_bytes` bytes move from `src` + `src_offset` +
    sum(i_d * src_strides[d]) to `dst` + `dst_offset` + sum(i_d *
    dst_strides[d]). `queue_kind` and `queue` choose one of the executing
    tile's queues (`t<i>`) or one of its cluster's (`c<i>`). A nonzero
    `multicast` mask (tile indices within the destination's cluster) writes
    the bytes at the same TSRAM address of every tile in the mask.

    Syntax keys: `elem` is `element_bytes`, `shape` is `counts`, `mcast` is
    `multicast`.

    ```mlir
    maia.dma t0 @w_hbm[512] -> @w elem 64 shape [1, 4, 8]
        src_strides [0, 1024, 64] dst_strides [0, 512, 64]
        wait [t0.s1] signal t0.s2
    maia.dma c1 @w_stage -> @w elem 4096 shape [1, 1, 1]
        src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0xf
    ```
  }];
  let arguments = !con((ins Maia_QueueKindAttr:$queue_kind, UI32Attr:$queue,
                            FlatSymbolRefAttr:$src, UI64Attr:$src_offset,
                            FlatSymbolRefAttr:$dst, UI64Attr:$dst_offset,
                            UI32Attr:$element_bytes, Maia_Dims3Attr:$counts,
                            Maia_Dims3Attr:$src_strides,
                            Maia_Dims3Attr:$dst_strides,
                            DefaultValuedAttr<UI32Attr, "0">:$multicast),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    custom<Queue>($queue_kind, $queue) custom<BufferRef>($src, $src_offset)
    `->` custom<BufferRef>($dst, $dst_offset) `elem` $element_bytes
    `shape` custom<U64Array>($counts)
    `src_strides` custom<U64Array>($src_strides)
    `dst_strides` custom<U64Array>($dst_strides)
    (`mcast` custom<Hex>($multicast)^)?
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
}

def Maia_MmOp : Maia_CommandOp<"mm"> {
  let summary = "Matrix product on the tensor unit";
  let description = [{
    A maia::MatmulInst: `acc`[M, N] (+)= `a`[M, K] * `b`[N, K]^T with an
    f32 accumulator in the executing tile's TSRAM. Each element starts from
    0, or from its current value with `accumulate`, and adds the products
    for k ascending, one fused multiply-add per term, after decoding `a` and
    `b` with their scales.

    Syntax keys: `c` is `acc`.

    ```mlir
    maia.mm m 16 n 64 k 64 a @x : f8E4M3FN scale rows @x_scales
        b @w : f4E2M1FN scale nvfp4 16 @w_scales c @acc accumulate
        wait [t0.s1] signal t0.s2
    ```
  }];
  let arguments = !con((ins UI32Attr:$m, UI32Attr:$n, UI32Attr:$k,
                            Maia_TensorAttr:$a, Maia_TensorAttr:$b,
                            FlatSymbolRefAttr:$acc, UI64Attr:$acc_offset,
                            UnitAttr:$accumulate),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `m` $m `n` $n `k` $k `a` custom<Tensor>($a) `b` custom<Tensor>($b)
    `c` custom<BufferRef>($acc, $acc_offset) (`accumulate` $accumulate^)?
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
}

// vec.add|sub|mul|div|max: one op per mnemonic, `kind` is the ISA's op.
class Maia_VecBinaryOp<string name, string kind>
    : Maia_CommandOp<"vec." # name> {
  let summary = "Element-wise binary op on the vector unit (vec." # name # ")";
  let description = [{
    A maia::VecBinaryInst: `dst` = `a` OP `b` on f32 [`rows`, `len`]
    operands. `b` is a buffer ([rows, len]; with `broadcast = row` one row
    [len] reused by every row, with `broadcast = col` one value per row
    [rows]) or the f32 immediate `scalar` (maia::Broadcast::Scalar).

    ```mlir
    maia.vec.add rows 16 len 64 dst @y a @acc b @bias broadcast row
    maia.vec.mul rows 16 len 64 dst @y a @y b 1.250000e-01
    ```
  }];
  let arguments = !con((ins UI32Attr:$rows, UI32Attr:$len,
                            FlatSymbolRefAttr:$dst, UI64Attr:$dst_offset,
                            FlatSymbolRefAttr:$a, UI64Attr:$a_offset,
                            OptionalAttr<FlatSymbolRefAttr>:$b,
                            OptionalAttr<UI64Attr>:$b_offset,
                            DefaultValuedAttr<Maia_BroadcastModeAttr,
                                "::mixtile::maia::BroadcastMode::none">:
                                $broadcast,
                            OptionalAttr<F32Attr>:$scalar),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `rows` $rows `len` $len `dst` custom<BufferRef>($dst, $dst_offset)
    `a` custom<BufferRef>($a, $a_offset)
    `b` custom<BinaryOperand>($b, $b_offset, $broadcast, $scalar)
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return verifyVecBinaryOp(*this);
    }
    ::llvm::LogicalResult
    $cppClass::verifySymbolUses(::mlir::SymbolTableCollection &symbols) {
      return verifyVecBinarySymbolUses(*this, symbols);
    }
  }];
  let extraClassDeclaration = [{
    /// The ISA operation of this op.
    static constexpr ::mixtile::maia::VecBinaryOp getKind() {
      return ::mixtile::maia::VecBinaryOp::}] # kind # [{;
    }
  }];
}

def Maia_VecAddOp : Maia_VecBinaryOp<"add", "Add">;
def Maia_VecSubOp : Maia_VecBinaryOp<"sub", "Sub">;
def Maia_VecMulOp : Maia_VecBinaryOp<"mul", "Mul">;
def Maia_VecDivOp : Maia_VecBinaryOp<"div", "Div">;
def Maia_VecMaxOp : Maia_VecBinaryOp<"max", "Max">;

// vec.copy|exp|rsqrt|silu.
class Maia_VecUnaryOp<string name, string kind>
    : Maia_CommandOp<"vec." # name> {
  let summary = "Element-wise unary op on the vector unit (vec." # name # ")";
  let description = [{
    A maia::VecUnaryInst: `dst` = OP(`a`) on f32 [`rows`, `len`] operands.

    ```mlir
    maia.vec.exp rows 16 len 64 dst @p a @s wait [t0.s4]
    ```
  }];
  let arguments = !con((ins UI32Attr:$rows, UI32Attr:$len,
                            FlatSymbolRefAttr:$dst, UI64Attr:$dst_offset,
                            FlatSymbolRefAttr:$a, UI64Attr:$a_offset),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `rows` $rows `len` $len `dst` custom<BufferRef>($dst, $dst_offset)
    `a` custom<BufferRef>($a, $a_offset)
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return verifyVecRowsLen(*this);
    }
    ::llvm::LogicalResult
    $cppClass::verifySymbolUses(::mlir::SymbolTableCollection &symbols) {
      return verifyVecUnarySymbolUses(*this, symbols);
    }
  }];
  let extraClassDeclaration = [{
    /// The ISA operation of this op.
    static constexpr ::mixtile::maia::VecUnaryOp getKind() {
      return ::mixtile::maia::VecUnaryOp::}] # kind # [{;
    }
  }];
}

def Maia_VecCopyOp : Maia_VecUnaryOp<"copy", "Copy">;
def Maia_VecExpOp : Maia_VecUnaryOp<"exp", "Exp">;
def Maia_VecRsqrtOp : Maia_VecUnaryOp<"rsqrt", "Rsqrt">;
def Maia_VecSiluOp : Maia_VecUnaryOp<"silu", "Silu">;

// vec.rmax|rsum|rsumsq.
class Maia_VecReduceOp<string name, string kind>
    : Maia_CommandOp<"vec." # name> {
  let summary = "Row-wise reduction on the vector unit (vec." # name # ")";
  let description = [{
    A maia::VecReduceInst: `dst`[r] = the reduction of `a`[r][0..`len`)
    for every r < `rows` (f32).

    ```mlir
    maia.vec.rsumsq rows 16 len 64 dst @ss a @x
    ```
  }];
  let arguments = !con((ins UI32Attr:$rows, UI32Attr:$len,
                            FlatSymbolRefAttr:$dst, UI64Attr:$dst_offset,
                            FlatSymbolRefAttr:$a, UI64Attr:$a_offset),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `rows` $rows `len` $len `dst` custom<BufferRef>($dst, $dst_offset)
    `a` custom<BufferRef>($a, $a_offset)
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return verifyVecRowsLen(*this);
    }
    ::llvm::LogicalResult
    $cppClass::verifySymbolUses(::mlir::SymbolTableCollection &symbols) {
      return verifyVecReduceSymbolUses(*this, symbols);
    }
  }];
  let extraClassDeclaration = [{
    /// The ISA operation of this op.
    static constexpr ::mixtile::maia::VecReduceOp getKind() {
      return ::mixtile::maia::VecReduceOp::}] # kind # [{;
    }
  }];
}

def Maia_VecRmaxOp : Maia_VecReduceOp<"rmax", "Max">;
def Maia_VecRsumOp : Maia_VecReduceOp<"rsum", "Sum">;
def Maia_VecRsumsqOp : Maia_VecReduceOp<"rsumsq", "SumSquares">;

def Maia_VecQuantOp : Maia_CommandOp<"vec.quant"> {
  let summary = "Quantization of f32 rows into codes and scales";
  let description = [{
    A maia::VecQuantizeInst: quantizes the f32 [`rows`, `len`] `src` into
    the codes and scales of `dst` (the `rows` scalings scale each row on its
    own).

    ```mlir
    maia.vec.quant rows 16 len 64 dst @q : f8E4M3FN scale rows @q_scales
        src @y
    ```
  }];
  let arguments = !con((ins UI32Attr:$rows, UI32Attr:$len,
                            Maia_TensorAttr:$dst,
                            FlatSymbolRefAttr:$src, UI64Attr:$src_offset),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `rows` $rows `len` $len `dst` custom<Tensor>($dst)
    `src` custom<BufferRef>($src, $src_offset)
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
}

def Maia_VecDequantOp : Maia_CommandOp<"vec.dequant"> {
  let summary = "Decoding of codes and scales into f32";
  let description = [{
    A maia::VecDequantizeInst: decodes the [`rows`, `len`] `src` with its
    scales into the f32 `dst`.

    ```mlir
    maia.vec.dequant rows 16 len 64 dst @y src @q : f8E4M3FN scale rows
        @q_scales
    ```
  }];
  let arguments = !con((ins UI32Attr:$rows, UI32Attr:$len,
                            FlatSymbolRefAttr:$dst, UI64Attr:$dst_offset,
                            Maia_TensorAttr:$src),
                       Maia_SyncArgs);
  let assemblyFormat = !strconcat([{
    `rows` $rows `len` $len `dst` custom<BufferRef>($dst, $dst_offset)
    `src` custom<Tensor>($src)
  }],
      Maia_SyncFormat);
  let hasVerifier = 1;
}

def Maia_SemSignalOp : Maia_InstructionOp<"sem.signal"> {
  let summary = "Adds to a semaphore";
  let description = [{
    A maia::SemSignalInst: adds the count of `sem` to a semaphore of any
    tile.

    ```mlir
    maia.sem.signal t1.s0:2
    ```
  }];
  let arguments = (ins Maia_SemAttr:$sem);
  let assemblyFormat = "custom<Sem>($sem) attr-dict";
  let hasVerifier = 1;
}

def Maia_SemWaitOp : Maia_InstructionOp<"sem.wait"> {
  let summary = "Blocks until a semaphore of the tile holds a count";
  let description = [{
    A maia::SemWaitInst: blocks the stream until the executing tile's
    semaphore holds the count of `sem`, then takes it.

    ```mlir
    maia.sem.wait t0.s3
    ```
  }];
  let arguments = (ins Maia_SemAttr:$sem);
  let assemblyFormat = "custom<Sem>($sem) attr-dict";
  let hasVerifier = 1;
}

def Maia_BarrierOp : Maia_InstructionOp<"barrier"> {
  let summary = "Blocks until a set of tiles reach the same barrier";
  let description = [{
    A maia::BarrierInst: `tiles` are chip-wide tile ids, ascending, and
    include the executing tile.

    ```mlir
    maia.barrier [0, 1, 2, 3]
    ```
  }];
  let arguments = (ins DenseI32ArrayAttr:$tiles);
  let assemblyFormat = "custom<U32Array>($tiles) attr-dict";
  let hasVerifier = 1;
}

def Maia_HaltOp : Maia_InstructionOp<"halt"> {
  let summary = "Ends the stream";
  let description = [{
    A maia::HaltInst. When present it is the last instruction of its tile.

    ```mlir
    maia.halt
    ```
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

#endif // MIXTILE_DIALECT_MAIA_IR_MAIAOPS_TD
