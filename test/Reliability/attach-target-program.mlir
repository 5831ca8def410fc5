// Found by fuzzing the pipelines: attaching a target to a module whose
// maia.program does not fit it left IR that no longer verified (the pass
// succeeded; only a later verifier noticed). The pass now fails at the op
// that does not fit. The pass manager's verifier is off, as in the fuzz
// target, so that the pass itself must report it.
// RUN: rm -f %t.mlir
// RUN: not mixtile-opt %s --verify-each=false --xfmr-attach-target -o %t.mlir 2>&1 | FileCheck %s
// RUN: not test -e %t.mlir
// CHECK: error: 'maia.dma' op multicast mask 0x1 does not include the destination's tile 1

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[1] offset 0 size 64 : f32
  maia.tile 0 {
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0x1
  }
}
