// RUN: mixtile-opt %s > %t.expected

/// maia IR -> assembly -> maia IR gives the same IR, and printing the
/// re-imported program gives the same assembly.
// RUN: mixtile-translate --maia-to-asm %s > %t.masm
// RUN: mixtile-translate --import-maia-asm %t.masm | mixtile-opt > %t.from-asm
// RUN: diff %t.expected %t.from-asm
// RUN: mixtile-translate --import-maia-asm %t.masm | mixtile-translate --maia-to-asm | diff %t.masm -

/// maia IR -> binary -> maia IR gives the same IR, and re-encoding gives the
/// same bytes.
// RUN: mixtile-translate --maia-to-bin %s -o %t.mbin
// RUN: mixtile-translate --import-maia-bin %t.mbin | mixtile-opt > %t.from-bin
// RUN: diff %t.expected %t.from-bin
// RUN: mixtile-translate --import-maia-bin %t.mbin | mixtile-translate --maia-to-bin -o %t.again.mbin
// RUN: cmp %t.mbin %t.again.mbin

/// The assembly is the ISA's, field for field.
// RUN: FileCheck %s --input-file=%t.masm

// CHECK: .buffer x_hbm hbm offset=0 size=8192 type=f32
// CHECK: .buffer w_stage csram[0] offset=0 size=2048 type=f4E2M1FN
// CHECK: .buffer x tsram[0] offset=0 size=4096 type=f32
// CHECK: .data %x_hbm "000080bf"
// CHECK: .data %x_hbm+64 "0000000000000000"
// CHECK: .tile 0
// CHECK-NEXT: dma q=t0 src=%x_hbm dst=%x elem=4096 shape=[1,1,1] src.strides=[0,0,0] dst.strides=[0,0,0] signal=t0.s0
// CHECK-NEXT: dma q=c1 src=%w_hbm dst=%w_stage elem=2048 shape=[1,1,1] src.strides=[0,0,0] dst.strides=[0,0,0]
// CHECK-NEXT: dma q=t1 src=%w_stage+64 dst=%w+128 elem=64 shape=[2,4,7] src.strides=[1024,256,0] dst.strides=[512,128,0] mcast=0x3 wait=[t0.s0,t0.s1:2] signal=t1.s3
// CHECK-NEXT: mm m=16 n=64 k=64 a=%q:f8E4M3FN a.scale=rows:%q_scales b=%w:f4E2M1FN b.scale=nvfp4/16:%w_scales c=%acc acc=1 wait=[t0.s2] signal=t0.s3
// CHECK-NEXT: mm m=16 n=16 k=64 a=%h:bf16 b=%t:f16 c=%acc+1024 acc=0
// CHECK-NEXT: mm m=16 n=32 k=64 a=%e:f8E5M2 a.scale=tensor:%q_scales b=%m:f6E2M3FN b.scale=mx/32:%m_scales c=%acc acc=0
// CHECK-NEXT: mm m=16 n=16 k=64 a=%s:f6E3M2FN a.scale=mx/32:%m_scales+16 b=%w:f4E2M1FN b.scale=nvfp4.rows/16:%w_scales+256 c=%acc acc=0
// CHECK-NEXT: vec.add rows=16 len=64 dst=%y a=%acc b=%x
// CHECK-NEXT: vec.sub rows=16 len=64 dst=%y a=%y b=%x+256 bcast=row
// CHECK-NEXT: vec.mul rows=16 len=64 dst=%y a=%y b=0.125 wait=[t0.s3]
// CHECK-NEXT: vec.div rows=16 len=64 dst=%y a=%y b=%x bcast=col signal=t0.s2
// CHECK-NEXT: vec.max rows=16 len=64 dst=%y a=%y b=-0
// CHECK-NEXT: vec.max rows=16 len=64 dst=%y a=%y b=-inf
// CHECK-NEXT: vec.copy rows=16 len=64 dst=%x a=%y
// CHECK-NEXT: vec.exp rows=15 len=64 dst=%x a=%x+64
// CHECK-NEXT: vec.rsqrt rows=1 len=1024 dst=%x a=%x
// CHECK-NEXT: vec.silu rows=16 len=64 dst=%x a=%x signal=t2.s0
// CHECK-NEXT: vec.rmax rows=16 len=64 dst=%y a=%x
// CHECK-NEXT: vec.rsum rows=16 len=64 dst=%y+64 a=%x
// CHECK-NEXT: vec.rsumsq rows=16 len=64 dst=%y a=%x wait=[t0.s1:4]
// CHECK-NEXT: vec.quant rows=16 len=64 dst=%q:f8E4M3FN dst.scale=rows:%q_scales src=%x signal=t0.s1
// CHECK-NEXT: vec.dequant rows=16 len=64 dst=%y src=%q:f8E4M3FN src.scale=rows:%q_scales
// CHECK-NEXT: sem.signal sem=t1.s0
// CHECK-NEXT: sem.signal sem=t1.s1:5
// CHECK-NEXT: sem.wait sem=t0.s2:2
// CHECK-NEXT: barrier tiles=[0,1]
// CHECK-NEXT: halt
// CHECK: .tile 1
// CHECK-NEXT: vec.copy rows=32 len=32 dst=%r a=%r_alias
// CHECK: .tile 3

maia.program {
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
  maia.buffer @r_alias tsram[1] offset 0 size 4096 : f32
  maia.data @x_hbm = dense<[0, 0, -128, -65]> : tensor<4xi8>
  maia.data @x_hbm[64] = dense<0> : tensor<8xi8>
  maia.tile 0 {
    maia.dma t0 @x_hbm -> @x elem 4096 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] signal t0.s0
    maia.dma c1 @w_hbm -> @w_stage elem 2048 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
    maia.dma t1 @w_stage[64] -> @w[128] elem 64 shape [2, 4, 7] src_strides [1024, 256, 0] dst_strides [512, 128, 0] mcast 0x3 wait [t0.s0, t0.s1:2] signal t1.s3
    maia.mm m 16 n 64 k 64 a @q : f8E4M3FN scale rows @q_scales b @w : f4E2M1FN scale nvfp4 16 @w_scales c @acc accumulate wait [t0.s2] signal t0.s3
    maia.mm m 16 n 16 k 64 a @h : bf16 b @t : f16 c @acc[1024]
    maia.mm m 16 n 32 k 64 a @e : f8E5M2 scale tensor @q_scales b @m : f6E2M3FN scale mx 32 @m_scales c @acc
    maia.mm m 16 n 16 k 64 a @s : f6E3M2FN scale mx 32 @m_scales[16] b @w : f4E2M1FN scale nvfp4.rows 16 @w_scales[256] c @acc
    maia.vec.add rows 16 len 64 dst @y a @acc b @x
    maia.vec.sub rows 16 len 64 dst @y a @y b @x[256] broadcast row
    maia.vec.mul rows 16 len 64 dst @y a @y b 0.125 wait [t0.s3]
    maia.vec.div rows 16 len 64 dst @y a @y b @x broadcast col signal t0.s2
    maia.vec.max rows 16 len 64 dst @y a @y b -0.0
    maia.vec.max rows 16 len 64 dst @y a @y b 0xFF800000
    maia.vec.copy rows 16 len 64 dst @x a @y
    maia.vec.exp rows 15 len 64 dst @x a @x[64]
    maia.vec.rsqrt rows 1 len 1024 dst @x a @x
    maia.vec.silu rows 16 len 64 dst @x a @x signal t2.s0
    maia.vec.rmax rows 16 len 64 dst @y a @x
    maia.vec.rsum rows 16 len 64 dst @y[64] a @x
    maia.vec.rsumsq rows 16 len 64 dst @y a @x wait [t0.s1:4]
    maia.vec.quant rows 16 len 64 dst @q : f8E4M3FN scale rows @q_scales src @x signal t0.s1
    maia.vec.dequant rows 16 len 64 dst @y src @q : f8E4M3FN scale rows @q_scales
    maia.sem.signal t1.s0
    maia.sem.signal t1.s1:5
    maia.sem.wait t0.s2:2
    maia.barrier [0, 1]
    maia.halt
  }
  maia.tile 1 {
    maia.vec.copy rows 32 len 32 dst @r a @r_alias
  }
  maia.tile 3 {
  }
}
