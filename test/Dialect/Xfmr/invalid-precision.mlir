// RUN: mixtile-opt %s -split-input-file -verify-diagnostics

/// Every verifier message of #xfmr.precision has a case here.

// expected-error @+1 {{unsupported weight format 'i8'}}
#p = #xfmr.precision<weights = i8, activations = bf16, accumulator = f32>

// -----

// expected-error @+1 {{unsupported activation format 'f64'}}
#p = #xfmr.precision<weights = bf16, activations = f64, accumulator = f32>

// -----

// expected-error @+1 {{accumulator must be f32 or f16, got 'bf16'}}
#p = #xfmr.precision<weights = bf16, activations = bf16, accumulator = bf16>

// -----

// expected-error @+1 {{unsupported KV cache format 'f4E2M1FN'}}
#p = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32, kv_cache = f4E2M1FN>

// -----

// expected-error @+1 {{block size must be non-negative, got -32}}
#p = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = -32, accumulator = f32>

// -----

// expected-error @+1 {{formats narrower than 16 bits need a scale}}
#p = #xfmr.precision<weights = f8E4M3FN, activations = bf16, accumulator = f32>

// -----

// expected-error @+1 {{a block size needs a block scale type}}
#p = #xfmr.precision<weights = bf16, activations = bf16, block = 32, accumulator = f32>

// -----

// expected-error @+1 {{scale 'f8E8M0FNU' given but no operand is narrower than 16 bits}}
#p = #xfmr.precision<weights = bf16, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>

// -----

// expected-error @+1 {{an f32 scale is per tensor and takes no block size}}
#p = #xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f32, block = 32, accumulator = f32>

// -----

// expected-error @+1 {{fp4 and fp6 formats need a block scale (f8E8M0FNU or f8E4M3FN)}}
#p = #xfmr.precision<weights = f6E2M3FN, activations = bf16, scale = f32, accumulator = f32>

// -----

// expected-error @+1 {{scale must be f32, f8E8M0FNU or f8E4M3FN, got 'f16'}}
#p = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f16, block = 32, accumulator = f32>

// -----

// expected-error @+1 {{block scales need a power-of-two block size, got 24}}
#p = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 24, accumulator = f32>

// -----

// expected-error @+1 {{f8E4M3FN block scales (NVFP4) apply to f4E2M1FN operands only, got 'f8E4M3FN'}}
#p = #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E4M3FN, block = 16, accumulator = f32>
