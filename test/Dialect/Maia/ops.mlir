// RUN: mixtile-opt %s | mixtile-opt | FileCheck %s
// RUN: mixtile-opt %s --mlir-print-op-generic | mixtile-opt | FileCheck %s

/// Every maia op, attribute and syntax variant prints in a form that parses
/// back to the same op.

// CHECK-LABEL: maia.program {
maia.program {
  // CHECK-NEXT: maia.buffer @x_hbm hbm offset 0 size 8192 : f32
  // CHECK-NEXT: maia.buffer @w_hbm hbm offset 8192 size 2048 : f4E2M1FN
  // CHECK-NEXT: maia.buffer @w_stage csram[0] offset 0 size 2048 : f4E2M1FN
  // CHECK-NEXT: maia.buffer @x tsram[0] offset 0 size 4096 : f32
  // CHECK-NEXT: maia.buffer @y tsram[0] offset 4096 size 4096 : f32
  // CHECK-NEXT: maia.buffer @acc tsram[0] offset 8192 size 4096 : f32
  // CHECK-NEXT: maia.buffer @q tsram[0] offset 12288 size 1024 : f8E4M3FN
  // CHECK-NEXT: maia.buffer @q_scales tsram[0] offset 13312 size 64 : f32
  // CHECK-NEXT: maia.buffer @w tsram[0] offset 16384 size 2048 : f4E2M1FN
  // CHECK-NEXT: maia.buffer @w_scales tsram[0] offset 18432 size 512 : f8E4M3FN
  // CHECK-NEXT: maia.buffer @m tsram[0] offset 20480 size 2048 : f6E2M3FN
  // CHECK-NEXT: maia.buffer @m_scales tsram[0] offset 22528 size 64 : f8E8M0FNU
  // CHECK-NEXT: maia.buffer @h tsram[0] offset 24576 size 2048 : bf16
  // CHECK-NEXT: maia.buffer @e tsram[0] offset 26624 size 1024 : f8E5M2
  // CHECK-NEXT: maia.buffer @s tsram[0] offset 27648 size 1536 : f6E3M2FN
  // CHECK-NEXT: maia.buffer @t tsram[0] offset 29184 size 2048 : f16
  // CHECK-NEXT: maia.buffer @r tsram[1] offset 0 size 4096 : f32
  // CHECK-NEXT: maia.buffer @v.view_2 tsram[1] offset 0 size 4096 : f32
  maia.buffer @x_hbm hbm offset 0 size 8192 : f32
  maia.buffer @w_hbm hbm offset 8192 size 2048 : f4E2M1FN
  maia.buffer @w_stage csram[0] offset 0 size 2048 : f4E2M1FN
  maia.buffer @x tsram[0] offset 0 size 4096 : f32
  maia.buffer @y tsram[0] offset 4096 size 4096 : f32
  maia.buffer @acc tsram[0] offset 8192 size 4096 : f32
  maia.buffer @q tsram[0] offset 12288 size 1024 : f8E4M3FN
  maia.buffer @q_scales tsram[0] offset 13312 size 64 : f32
  maia.buffer @w tsram[0] offset 16384 size 2048 : f4E2M1FN
  maia.buffer @w_scales tsram[0] offset 18432 size 512 : f8E4M3FN
  maia.buffer @m tsram[0] offset 20480 size 2048 : f6E2M3FN
  maia.buffer @m_scales tsram[0] offset 22528 size 64 : f8E8M0FNU
  maia.buffer @h tsram[0] offset 24576 size 2048 : bf16
  maia.buffer @e tsram[0] offset 26624 size 1024 : f8E5M2
  maia.buffer @s tsram[0] offset 27648 size 1536 : f6E3M2FN
  maia.buffer @t tsram[0] offset 29184 size 2048 : f16
  maia.buffer @r tsram[1] offset 0 size 4096 : f32
  maia.buffer @v.view_2 tsram[1] offset 0 size 4096 : f32

  // A splat stays a splat; other bytes print as a list (or hex when long).
  // CHECK-NEXT: maia.data @x_hbm = dense<[0, 0, -128, 63]> : tensor<4xi8>
  // CHECK-NEXT: maia.data @x_hbm[16] = dense<0> : tensor<64xi8>
  // CHECK-NEXT: maia.data @x_hbm[128] = dense_resource<ones> : tensor<4xi8>
  // CHECK-NEXT: maia.data @w_hbm from "weights.bin" offset 4096 size 2048
  maia.data @x_hbm[0] = dense<[0, 0, -128, 63]> : tensor<4xi8>
  maia.data @x_hbm[16] = dense<0> : tensor<64xi8>
  maia.data @x_hbm[128] = dense_resource<ones> : tensor<4xi8>
  maia.data @w_hbm from "weights.bin" offset 4096 size 2048

  // CHECK-NEXT: maia.tile 0 {
  maia.tile 0 {
    // CHECK-NEXT: maia.dma t0 @x_hbm -> @x elem 4096 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] signal t0.s0
    maia.dma t0 @x_hbm -> @x elem 4096 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] signal t0.s0
    // CHECK-NEXT: maia.dma c1 @w_hbm -> @w_stage elem 2048 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
    maia.dma c1 @w_hbm -> @w_stage elem 2048 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0
    // CHECK-NEXT: maia.dma t3 @w_stage[64] -> @w[128] elem 64 shape [2, 4, 7] src_strides [1024, 256, 0] dst_strides [512, 128, 0] mcast 0x3 wait [t0.s0, t0.s1:2] signal t1.s31
    maia.dma t3 @w_stage[64] -> @w[128] elem 64 shape [2, 4, 7] src_strides [1024, 256, 0] dst_strides [512, 128, 0] mcast 3 wait [t0.s0, t0.s1:2] signal t1.s31
    // CHECK-NEXT: maia.dma t0 @x -> @x_hbm elem 4 shape [1, 1, 1] src_strides [18446744073709551615, 0, 0] dst_strides [0, 0, 0]
    maia.dma t0 @x -> @x_hbm elem 4 shape [1, 1, 1] src_strides [18446744073709551615, 0, 0] dst_strides [0, 0, 0]

    // Every scaling of a coded operand.
    // CHECK-NEXT: maia.mm m 16 n 64 k 64 a @q : f8E4M3FN scale rows @q_scales b @w : f4E2M1FN scale nvfp4 16 @w_scales c @acc accumulate wait [t0.s2] signal t0.s3
    maia.mm m 16 n 64 k 64 a @q : f8E4M3FN scale rows @q_scales b @w : f4E2M1FN scale nvfp4 16 @w_scales c @acc accumulate wait [t0.s2] signal t0.s3
    // CHECK-NEXT: maia.mm m 16 n 16 k 64 a @h : bf16 b @t : f16 c @acc[1024]
    maia.mm m 16 n 16 k 64 a @h : bf16 b @t : f16 c @acc[1024]
    // CHECK-NEXT: maia.mm m 16 n 32 k 64 a @e : f8E5M2 scale tensor @q_scales b @m : f6E2M3FN scale mx 32 @m_scales c @acc
    maia.mm m 16 n 32 k 64 a @e : f8E5M2 scale tensor @q_scales[0] b @m : f6E2M3FN scale mx 32 @m_scales c @acc
    // CHECK-NEXT: maia.mm m 16 n 16 k 64 a @s : f6E3M2FN scale mx 32 @m_scales[16] b @w : f4E2M1FN scale nvfp4.rows 16 @w_scales[256] c @acc
    maia.mm m 16 n 16 k 64 a @s : f6E3M2FN scale mx 32 @m_scales[16] b @w : f4E2M1FN scale nvfp4.rows 16 @w_scales[256] c @acc

    // CHECK-NEXT: maia.vec.add rows 16 len 64 dst @y a @acc b @x
    maia.vec.add rows 16 len 64 dst @y a @acc b @x broadcast none
    // CHECK-NEXT: maia.vec.sub rows 16 len 64 dst @y a @y b @x[256] broadcast row
    maia.vec.sub rows 16 len 64 dst @y a @y b @x[256] broadcast row
    // CHECK-NEXT: maia.vec.mul rows 16 len 64 dst @y a @y b 1.250000e-01 wait [t0.s4]
    maia.vec.mul rows 16 len 64 dst @y a @y b 0.125 wait [t0.s4]
    // CHECK-NEXT: maia.vec.div rows 16 len 64 dst @y a @y b @x broadcast col signal t0.s5
    maia.vec.div rows 16 len 64 dst @y a @y b @x broadcast col signal t0.s5
    // Immediates keep their bits: -0, infinities and NaN payloads.
    // CHECK-NEXT: maia.vec.max rows 16 len 64 dst @y a @y b -0.000000e+00
    maia.vec.max rows 16 len 64 dst @y a @y b -0.0
    // CHECK-NEXT: maia.vec.max rows 16 len 64 dst @y a @y b 0xFF800000
    maia.vec.max rows 16 len 64 dst @y a @y b 0xFF800000
    // CHECK-NEXT: maia.vec.mul rows 16 len 64 dst @y a @y b 0x7FC00001
    maia.vec.mul rows 16 len 64 dst @y a @y b 0x7FC00001
    // CHECK-NEXT: maia.vec.mul rows 16 len 64 dst @y a @y b 1.401300e-45
    maia.vec.mul rows 16 len 64 dst @y a @y b 1.401298464e-45

    // CHECK-NEXT: maia.vec.copy rows 16 len 64 dst @x a @y
    maia.vec.copy rows 16 len 64 dst @x a @y
    // CHECK-NEXT: maia.vec.exp rows 15 len 64 dst @x a @x[64] wait [t0.s6]
    maia.vec.exp rows 15 len 64 dst @x a @x[64] wait [t0.s6]
    // CHECK-NEXT: maia.vec.rsqrt rows 1 len 1024 dst @x a @x
    maia.vec.rsqrt rows 1 len 1024 dst @x a @x
    // CHECK-NEXT: maia.vec.silu rows 16 len 64 dst @x a @x signal t2.s0
    maia.vec.silu rows 16 len 64 dst @x a @x signal t2.s0

    // CHECK-NEXT: maia.vec.rmax rows 16 len 64 dst @y a @x
    maia.vec.rmax rows 16 len 64 dst @y a @x
    // CHECK-NEXT: maia.vec.rsum rows 16 len 64 dst @y[64] a @x
    maia.vec.rsum rows 16 len 64 dst @y[64] a @x
    // CHECK-NEXT: maia.vec.rsumsq rows 16 len 64 dst @y a @x wait [t0.s7:4]
    maia.vec.rsumsq rows 16 len 64 dst @y a @x wait [t0.s7:4]

    // CHECK-NEXT: maia.vec.quant rows 16 len 64 dst @q : f8E4M3FN scale rows @q_scales src @x signal t0.s8
    maia.vec.quant rows 16 len 64 dst @q : f8E4M3FN scale rows @q_scales src @x signal t0.s8
    // CHECK-NEXT: maia.vec.dequant rows 16 len 64 dst @y src @q : f8E4M3FN scale rows @q_scales
    maia.vec.dequant rows 16 len 64 dst @y src @q : f8E4M3FN scale rows @q_scales
    // CHECK-NEXT: maia.vec.dequant rows 16 len 64 dst @y src @h : bf16
    maia.vec.dequant rows 16 len 64 dst @y src @h : bf16

    // CHECK-NEXT: maia.sem.signal t1.s0
    maia.sem.signal t1.s0:1
    // CHECK-NEXT: maia.sem.signal t1.s1:5
    maia.sem.signal t1.s1:5
    // CHECK-NEXT: maia.sem.wait t0.s9:2
    maia.sem.wait t0.s9:2
    // CHECK-NEXT: maia.barrier [0, 1]
    maia.barrier [0, 1]
    // CHECK-NEXT: maia.halt
    maia.halt
  // CHECK-NEXT: }
  }

  // A stream may simply run out of instructions, or be empty.
  // CHECK-NEXT: maia.tile 1 {
  // CHECK-NEXT:   maia.vec.copy rows 32 len 32 dst @r a @v.view_2
  // CHECK-NEXT: }
  maia.tile 1 {
    maia.vec.copy rows 32 len 32 dst @r a @v.view_2
  }
  // CHECK-NEXT: maia.tile 7 {
  // CHECK-NEXT: }
  maia.tile 7 {
  }
}

// An empty program, and a program with extra attributes.
// CHECK: maia.program {
// CHECK-NEXT: }
maia.program {
}
// CHECK: maia.program attributes {note = "kept"} {
// CHECK-NEXT: maia.buffer @a hbm offset 0 size 1 : f32 {tag}
maia.program attributes {note = "kept"} {
  maia.buffer @a hbm offset 0 size 1 : f32 {tag}
}

{-#
  dialect_resources: {
    builtin: {
      ones: "0x0100000001010101"
    }
  }
#-}
