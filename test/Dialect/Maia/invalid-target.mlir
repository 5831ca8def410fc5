// RUN: mixtile-opt %s -split-input-file -verify-diagnostics --xfmr-attach-target=target=%S/Inputs/tiny-chip.json

/// The checks against the chip of the module's xfmr.target (here 2 clusters
/// of 2 tiles, 64 KiB of TSRAM per tile, 256 KiB of CSRAM per cluster, 1 MiB
/// of HBM, 2 DMA queues per tile and 3 per cluster, 4 semaphores per tile,
/// MX blocks of 32). The IR parses without a target; attaching one makes
/// the verifier after the pass check it. Every failure of
/// maia::verifyProgram is reported at the op it names.

// A program that fits the chip.
module {
  maia.program {
    maia.buffer @h hbm offset 0 size 1048576 : f32
    maia.buffer @c csram[1] offset 0 size 262144 : f32
    maia.buffer @x tsram[3] offset 0 size 65536 : f32
    maia.buffer @y tsram[2] offset 0 size 4096 : f32
    maia.tile 3 {
      maia.dma c2 @h -> @c elem 4096 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] signal t3.s3
      maia.dma t1 @c -> @y elem 4096 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0x3 wait [t3.s3]
      maia.barrier [2, 3]
      maia.halt
    }
  }
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op bytes [65000, 66024) exceed the 65536 bytes of tsram}}
  maia.buffer @x tsram[0] offset 65000 size 1024 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op bytes [0, 1048577) exceed the 1048576 bytes of hbm}}
  maia.buffer @x hbm offset 0 size 1048577 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op cluster 2 does not exist (2 clusters)}}
  maia.buffer @x csram[2] offset 0 size 64 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.buffer' op tile 4 does not exist (4 tiles)}}
  maia.buffer @x tsram[4] offset 0 size 64 : f32
}

// -----

maia.program {
  // expected-error @+1 {{'maia.tile' op stream for tile 4, but the target has 4 tiles}}
  maia.tile 4 {
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    maia.vec.copy rows 1 len 4 dst @x a @x
    // expected-error @+1 {{'maia.vec.copy' op signalled semaphore t0.s4: a tile has 4 semaphores}}
    maia.vec.copy rows 1 len 4 dst @x a @x signal t0.s4
  }
}

// -----

maia.program {
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.vec.exp' op waited semaphore t0.s7: a tile has 4 semaphores}}
    maia.vec.exp rows 1 len 4 dst @x a @x wait [t0.s7]
  }
}

// -----

maia.program {
  maia.tile 1 {
    // expected-error @+1 {{'maia.sem.signal' op signalled semaphore t9.s0: the target has 4 tiles}}
    maia.sem.signal t9.s0
  }
}

// -----

maia.program {
  maia.tile 1 {
    // expected-error @+1 {{'maia.sem.wait' op waited semaphore t1.s4: a tile has 4 semaphores}}
    maia.sem.wait t1.s4
  }
}

// -----

maia.program {
  maia.tile 1 {
    // expected-error @+1 {{'maia.barrier' op barrier tile 5: the target has 4 tiles}}
    maia.barrier [1, 5]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op queue t2 does not exist: a tile has 2 DMA queues}}
    maia.dma t2 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op queue c3 does not exist: a cluster has 3 DMA queues}}
    maia.dma c3 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @c csram[1] offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op buffer 'c' is in cluster 1 but tile 0 is in cluster 0; clusters exchange data through HBM}}
    maia.dma t0 @c -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0]
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[0] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op multicast mask 0x5 names tiles beyond the 2 of a cluster}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0x5
  }
}

// -----

maia.program {
  maia.buffer @h hbm offset 0 size 64 : f32
  maia.buffer @x tsram[1] offset 0 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.dma' op multicast mask 0x1 does not include the destination's tile 1}}
    maia.dma t0 @h -> @x elem 4 shape [1, 1, 1] src_strides [0, 0, 0] dst_strides [0, 0, 0] mcast 0x1
  }
}

// -----

maia.program {
  maia.buffer @q tsram[0] offset 0 size 64 : f8E4M3FN
  maia.buffer @s tsram[0] offset 64 size 64 : f8E8M0FNU
  maia.buffer @acc tsram[0] offset 128 size 64 : f32
  maia.tile 0 {
    // expected-error @+1 {{'maia.mm' op a: the target's MX block is 32, not 16}}
    maia.mm m 1 n 1 k 32 a @q : f8E4M3FN scale mx 16 @s b @q : f8E4M3FN c @acc
  }
}
