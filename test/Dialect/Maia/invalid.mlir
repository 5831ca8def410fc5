// RUN: mixtile-opt %s -split-input-file -verify-diagnostics

/// Every diagnostic of the maia syntax and of the target-independent
/// verifiers has a case here (invalid-target.mlir has the chip-dependent
/// ones).

//===----------------------------------------------------------------------===//
// Syntax
//===----------------------------------------------------------------------===//

maia.program {
  // expected-error @+1 {{expected a memory (hbm, csram[<cluster>] or tsram[<tile>]), got 'sram'}}
  maia.buffer @x sram[0] offset 0 size 64 : f32
}

// -----

maia.program {
  // expected-error @+1 {{expected '['}}
  maia.buffer @x tsram offset 0 size 64 : f32
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{expected a buffer reference @name[offset]}}
    maia.vec.copy rows 1 len 1 dst x a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{expected a DMA queue t<index> or c<index>, got 'q0'}}
    maia.dma q0 @x -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{expected a semaphore t<tile>.s<id>}}
    maia.vec.copy rows 1 len 1 dst @x a @x signal s0
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{expected a broadcast (none, row, col), got 'diag'}}
    maia.vec.add rows 1 len 1 dst @x a @x b @x broadcast diag
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{unknown scaling 'per_row' (none, tensor, rows, mx, nvfp4, nvfp4.rows)}}
    maia.mm m 1 n 1 k 1 a @q : f8E4M3FN scale per_row @acc b @q : f8E4M3FN c @acc
  }
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{tensor format must be a Maia element format, got 'i8'}}
module attributes {test.t = #maia.tensor<@q : i8>} {
}

// -----

// expected-error @+1 {{an unscaled tensor has no scales buffer}}
module attributes {test.t = #maia.tensor<@q : f8E4M3FN scale none @s>} {
}

// -----

// expected-error @+1 {{an unscaled tensor has no block size}}
module attributes {test.t = #maia.tensor<@q : f8E4M3FN scale none 32>} {
}

// -----

// expected-error @+1 {{scaling 'tensor' needs a scales buffer}}
module attributes {test.t = #maia.tensor<@q : f8E4M3FN scale tensor>} {
}

// -----

// expected-error @+1 {{scaling 'rows' has no block scales and takes no block size}}
module attributes {test.t = #maia.tensor<@q : f8E4M3FN scale rows 32 @s>} {
}

//===----------------------------------------------------------------------===//
// Program structure
//===----------------------------------------------------------------------===//

// -----

maia.program {
  maia.tile 0 {
  }
  // expected-error @+1 {{'maia.buffer' op must come before the tile streams of its program}}
  maia.buffer @x tsram[0] offset 0 size 64 : f32
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.data @x = dense<0> : tensor<4xi8>
  // expected-error @+1 {{'maia.buffer' op must come before the data segments of its program}}
  maia.buffer @y tsram[0] offset 0 size 64 : f32
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
  }
  // expected-error @+1 {{'maia.data' op must come before the tile streams of its program}}
  maia.data @x = dense<0> : tensor<4xi8>
}

// -----

maia.program {
  // expected-note @+1 {{the first one}}
  maia.tile 3 {
  }
  // expected-error @+1 {{'maia.tile' op is a second stream for tile 3}}
  maia.tile 3 {
  }
}

// -----

maia.program {
  // expected-error @+1 {{'func.func' op does not belong in a maia.program, which holds maia.buffer, maia.data and maia.tile ops}}
  func.func @f() {
    return
  }
}

// -----

// expected-error @+1 {{'maia.tile' op expects parent op 'maia.program'}}
maia.tile 0 {
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'arith.constant' op is not a maia instruction; a maia.tile holds only instructions}}
    %c = arith.constant 0 : i32
  }
}

// -----

maia.program {
  // expected-error @+1 {{'maia.halt' op expects parent op 'maia.tile'}}
  maia.halt
}

//===----------------------------------------------------------------------===//
// Buffers and data
//===----------------------------------------------------------------------===//

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op invalid buffer name 'a-b' (expected [A-Za-z_][A-Za-z0-9_.]*)}}
  maia.buffer @"a-b" hbm offset 0 size 64 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op HBM buffers have unit 0, not 3}}
  maia.buffer @x hbm[3] offset 0 size 64 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op size must be at least 1 byte}}
  maia.buffer @x hbm offset 0 size 0 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op attribute 'format' failed to satisfy constraint: type attribute of a Maia element format}}
  maia.buffer @x hbm offset 0 size 64 : f64
}

// -----

maia.program {
  // expected-note @+1 {{see existing symbol definition here}}
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{redefinition of symbol named 'x'}}
  maia.buffer @x hbm offset 64 size 64 : f32
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op takes its bytes from the IR or from a file, not both}}
  maia.data @x = dense<0> : tensor<4xi8> from "x.bin" offset 0 size 4
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op needs bytes, in the IR or from a file}}
  maia.data @x
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op file_offset and file_size need a file}}
  "maia.data"() <{buffer = @x, offset = 0 : ui64, bytes = dense<0> : tensor<4xi8>, file_size = 4 : ui64}> : () -> ()
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op bytes must be a 1-D tensor of i8, got 'tensor<2x2xi8>'}}
  maia.data @x = dense<0> : tensor<2x2xi8>
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op bytes must be a 1-D tensor of i8, got 'tensor<4xf32>'}}
  maia.data @x = dense<1.0> : tensor<4xf32>
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op bytes must be dense<...> or dense_resource<...>}}
  maia.data @x = sparse<[[1]], [7]> : tensor<4xi8>
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op file name must not be empty}}
  maia.data @x from "" offset 0 size 4
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op a file segment needs file_offset and file_size}}
  "maia.data"() <{buffer = @x, offset = 0 : ui64, file = "x.bin", file_offset = 0 : ui64}> : () -> ()
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op names @y, which is not a buffer of the program}}
  maia.data @y = dense<0> : tensor<4xi8>
}

// -----

maia.program {
  maia.buffer @x hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op 8 bytes at offset 60 do not fit buffer @x of 64 bytes}}
  maia.data @x[60] from "x.bin" offset 0 size 8
}

//===----------------------------------------------------------------------===//
// Synchronisation
//===----------------------------------------------------------------------===//

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op a wait count must be at least 1}}
    maia.vec.copy rows 1 len 1 dst @x a @x wait [t0.s1:0]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op tile 0 waits on semaphore t1.s0 of another tile; a tile only waits on its own}}
    maia.vec.copy rows 1 len 1 dst @x a @x wait [t1.s0]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op semaphore t0.s1 is waited on twice}}
    maia.vec.copy rows 1 len 1 dst @x a @x wait [t0.s1, t0.s2, t0.s1:3]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op a completion signal adds 1 and takes no count, got t2.s1:2}}
    maia.vec.copy rows 1 len 1 dst @x a @x signal t2.s1:2
  }
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'maia.sem.signal' op a signal count must be at least 1}}
    maia.sem.signal t1.s0:0
  }
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'maia.sem.wait' op a wait count must be at least 1}}
    maia.sem.wait t0.s0:0
  }
}

// -----

maia.program {
  maia.tile 2 {
    // expected-error @+1 {{'maia.sem.wait' op tile 2 waits on semaphore t0.s0 of another tile; a tile only waits on its own}}
    maia.sem.wait t0.s0
  }
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'maia.barrier' op a barrier needs tiles}}
    maia.barrier []
  }
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'maia.barrier' op barrier tiles must be ascending and distinct}}
    maia.barrier [0, 2, 2]
  }
}

// -----

maia.program {
  maia.tile 1 {
    // expected-error @+1 {{'maia.barrier' op the barrier does not include its own tile 1}}
    maia.barrier [0, 2, 4294967295]
  }
}

// -----

maia.program {
  maia.tile 0 {
    // expected-error @+1 {{'maia.halt' op must be the last instruction of its tile; instructions after a halt would never run}}
    maia.halt
    maia.sem.signal t0.s0
  }
}

//===----------------------------------------------------------------------===//
// Operands
//===----------------------------------------------------------------------===//

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op a names @nope, which is not a buffer of the program}}
    maia.vec.copy rows 1 len 1 dst @x a @nope
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.exp' op dst needs 64 bytes at offset 4 of buffer @x, which has 64}}
    maia.vec.exp rows 4 len 4 dst @x[4] a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.exp' op a needs 16 bytes at offset 128 of buffer @x, which has 64}}
    maia.vec.exp rows 1 len 4 dst @x a @x[128]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.rsqrt' op a at address 2 is not aligned to 4 bytes}}
    maia.vec.rsqrt rows 1 len 4 dst @x[16] a @x[2]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.buffer @y tsram[1] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.silu' op dst buffer @y is not in the TSRAM of tile 0}}
    maia.vec.silu rows 1 len 4 dst @y a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.buffer @y csram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.silu' op a buffer @y is not in the TSRAM of tile 0}}
    maia.vec.silu rows 1 len 4 dst @x a @y
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.buffer @h tsram[0] offset 64 size 64 : bf16
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.rmax' op a is 'f32' but buffer @h holds 'bf16'}}
    maia.vec.rmax rows 1 len 4 dst @x a @h
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op dst is too large}}
    maia.vec.copy rows 4294967295 len 4294967295 dst @x a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.copy' op every dimension must be at least 1}}
    maia.vec.copy rows 0 len 4 dst @x a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.rsum' op every dimension must be at least 1}}
    maia.vec.rsum rows 1 len 0 dst @x a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.rsum' op dst needs 8 bytes at offset 60 of buffer @x, which has 64}}
    maia.vec.rsum rows 2 len 8 dst @x[60] a @x
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.buffer @b tsram[0] offset 64 size 8 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.add' op b needs 16 bytes at offset 0 of buffer @b, which has 8}}
    maia.vec.add rows 2 len 4 dst @x a @x b @b broadcast row
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.buffer @b tsram[0] offset 64 size 4 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.add' op b needs 8 bytes at offset 0 of buffer @b, which has 4}}
    maia.vec.add rows 2 len 4 dst @x a @x b @b broadcast col
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.sub' op b needs 32 bytes at offset 48 of buffer @x, which has 64}}
    maia.vec.sub rows 2 len 4 dst @x a @x b @x[48]
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.mul' op a scalar b cannot be broadcast}}
    maia.vec.mul rows 2 len 4 dst @x a @x b 2.0 broadcast row
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.mul' op b is a buffer or a scalar, not both}}
    "maia.vec.mul"() <{rows = 1 : ui32, len = 1 : ui32, dst = @x, dst_offset = 0 : ui64, a = @x, a_offset = 0 : ui64, b = @x, b_offset = 0 : ui64, scalar = 2.0 : f32}> : () -> ()
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.div' op needs an operand b, a buffer or a scalar}}
    "maia.vec.div"() <{rows = 1 : ui32, len = 1 : ui32, dst = @x, dst_offset = 0 : ui64, a = @x, a_offset = 0 : ui64}> : () -> ()
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.max' op b_offset needs a b buffer}}
    "maia.vec.max"() <{rows = 1 : ui32, len = 1 : ui32, dst = @x, dst_offset = 0 : ui64, a = @x, a_offset = 0 : ui64, b_offset = 4 : ui64, scalar = 2.0 : f32}> : () -> ()
  }
}

//===----------------------------------------------------------------------===//
// Tensor operands
//===----------------------------------------------------------------------===//

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op every dimension must be at least 1}}
    maia.mm m 1 n 0 k 4 a @q : f8E4M3FN b @q : f8E4M3FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E8M0FNU
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a: f8E8M0FNU is a scale format, not an element format}}
    maia.mm m 1 n 1 k 4 a @q : f8E8M0FNU b @q : f8E8M0FNU c @acc
  }
}

// -----

maia.program {
  maia.buffer @h tsram[0] offset 0 size 64 : bf16
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op b: f32 scales need elements of at most 8 bits, not 'bf16'}}
    maia.mm m 1 n 1 k 4 a @h : bf16 b @h : bf16 scale tensor @acc c @acc
  }
}

// -----

maia.program {
  maia.buffer @h tsram[0] offset 0 size 64 : bf16
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.quant' op dst: f32 scales need elements of at most 8 bits, not 'bf16'}}
    maia.vec.quant rows 1 len 4 dst @h : bf16 scale rows @acc src @acc
  }
}

// -----

maia.program {
  maia.buffer @h tsram[0] offset 0 size 64 : bf16
  maia.buffer @s tsram[0] offset 64 size 64 : f8E8M0FNU
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.dequant' op src: MX needs FP8, FP6 or FP4 elements, not 'bf16'}}
    maia.vec.dequant rows 1 len 4 dst @acc src @h : bf16 scale mx 32 @s
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @s tsram[0] offset 64 size 64 : f8E8M0FNU
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a: MX scales need a block of at least 1 column}}
    maia.mm m 1 n 1 k 4 a @q : f8E4M3FN scale mx 0 @s b @q : f8E4M3FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @s tsram[0] offset 64 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a: NVFP4 needs f4E2M1FN elements, not 'f8E4M3FN'}}
    maia.mm m 1 n 1 k 4 a @q : f8E4M3FN scale nvfp4 16 @s b @q : f8E4M3FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @w tsram[0] offset 0 size 64 : f4E2M1FN
  maia.buffer @s tsram[0] offset 64 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op b: the NVFP4 block is 16, not 32}}
    maia.mm m 1 n 1 k 32 a @w : f4E2M1FN b @w : f4E2M1FN scale nvfp4.rows 32 @s c @acc
  }
}

// -----

maia.program {
  maia.buffer @w tsram[0] offset 0 size 64 : f4E2M1FN
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a: a row of 3 'f4E2M1FN' codes does not fill whole bytes}}
    maia.mm m 1 n 1 k 3 a @w : f4E2M1FN b @w : f4E2M1FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a is too large}}
    maia.mm m 4294967295 n 1 k 4294967295 a @x : f32 b @x : f32 c @x
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op b is 'f8E5M2' but buffer @q holds 'f8E4M3FN'}}
    maia.mm m 1 n 1 k 4 a @q : f8E4M3FN b @q : f8E5M2 c @acc
  }
}

// -----

maia.program {
  maia.buffer @h tsram[0] offset 0 size 64 : bf16
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a at address 1 is not aligned to 2 bytes}}
    maia.mm m 1 n 1 k 4 a @h[1] : bf16 b @h : bf16 c @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op c needs 64 bytes at offset 16 of buffer @acc, which has 64}}
    maia.mm m 4 n 4 k 4 a @q : f8E4M3FN b @q : f8E4M3FN c @acc[16]
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a.scale names @nope, which is not a buffer of the program}}
    maia.mm m 1 n 1 k 4 a @q : f8E4M3FN scale tensor @nope b @q : f8E4M3FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a.scale is 'f8E8M0FNU' but buffer @acc holds 'f32'}}
    maia.mm m 1 n 1 k 4 a @q : f8E4M3FN scale mx 32 @acc b @q : f8E4M3FN c @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.quant' op dst.scale needs 16 bytes at offset 56 of buffer @acc, which has 64}}
    maia.vec.quant rows 4 len 4 dst @q : f8E4M3FN scale rows @acc[56] src @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.quant' op dst.scale at address 66 is not aligned to 4 bytes}}
    maia.vec.quant rows 1 len 4 dst @q : f8E4M3FN scale tensor @acc[2] src @acc
  }
}

// -----

maia.program {
  maia.buffer @q tsram[1] offset 0 size 64 : f8E4M3FN
  maia.buffer @acc tsram[0] offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.dequant' op src buffer @q is not in the TSRAM of tile 0}}
    maia.vec.dequant rows 1 len 4 dst @acc src @q : f8E4M3FN
  }
}

//===----------------------------------------------------------------------===//
// DMA
//===----------------------------------------------------------------------===//

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op elem must be at least 1 byte}}
    maia.dma t0 @h -> @x elem 0 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op every dimension of the shape must be at least 1}}
    maia.dma t0 @h -> @x elem 4 shape [1, 0, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op attribute 'counts' failed to satisfy constraint: i64 dense array attribute with exactly 3 elements}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op the transfer is too large}}
    maia.dma t0 @h -> @x elem 4294967295 shape [4294967296, 4294967296, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op the strides overflow}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 2] src_strides [0, 0, 18446744073709551615] dst_strides [0, 0, 4]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op src needs 68 bytes at offset 0 of buffer @h, which has 64}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 2] src_strides [0, 0, 64] dst_strides [0, 0, 4]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op dst needs 32 bytes at offset 40 of buffer @x, which has 64}}
    maia.dma t0 @h -> @x[40] elem 32 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op dst names @x, which is not a buffer of the program}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @g hbm offset 64 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op HBM to HBM copies have no modeled path; stage them through CSRAM}}
    maia.dma t0 @h -> @g elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @c csram[0] offset 0 size 64 : f32
  maia.buffer @d csram[1] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op CSRAM to CSRAM copies have no modeled path; stage them through TSRAM}}
    maia.dma c0 @c -> @d elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @c csram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op multicast needs a TSRAM destination}}
    maia.dma c0 @h -> @c elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0x1
  }
}

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

// -----

module attributes {xfmr.target = {name = "broken"}} {
  // expected-error @+1 {{'maia.program' op cannot check the program against the module's target: 'xfmr.target': missing or non-numeric field 'clock_hz'}}
  maia.program {
  }
}
