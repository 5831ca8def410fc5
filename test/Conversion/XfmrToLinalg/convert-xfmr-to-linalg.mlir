// RUN: mixtile-opt %s --split-input-file --convert-xfmr-to-linalg | FileCheck %s

// The calling convention: buffers in, tensors inside. Caches are writable
// views of the state buffer, weights read-only views of the weight pack
// (64-byte aligned, in program order), and the results leave through
// materialize_in_destination. An f32 linear is an FMA reduction over k
// (the last, innermost dimension) of a K-major weight ([K, N] in the pack,
// so that consecutive outputs n read consecutive weights); the bias is
// added after the sum.

// CHECK-DAG:   #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @mixtile_forward(
// CHECK-SAME:      %[[TOKENS:.*]]: memref<?xi32>, %[[POSITIONS:.*]]: memref<?xi32>, %[[START:.*]]: index,
// CHECK-SAME:      %[[WEIGHTS:.*]]: memref<?xi8>, %[[STATE:.*]]: memref<?xi8>, %[[LOGITS:.*]]: memref<?x16xf32>)
// CHECK-SAME:      attributes {llvm.emit_c_interface}
// CHECK:         bufferization.to_tensor %[[TOKENS]] restrict : memref<?xi32> to tensor<?xi32>
// CHECK:         %[[KV:.*]] = memref.view %[[STATE]][%{{.*}}][] : memref<?xi8> to memref<8x16xf32>
// CHECK:         %[[K:.*]] = bufferization.to_tensor %[[KV]] restrict writable
// CHECK:         %[[C512:.*]] = arith.constant 512 : index
// CHECK:         %[[VV:.*]] = memref.view %[[STATE]][%[[C512]]][] : memref<?xi8> to memref<8x16xf32>
// CHECK:         %[[V:.*]] = bufferization.to_tensor %[[VV]] restrict writable
// CHECK:         memref.view %[[WEIGHTS]][%{{.*}}][] : memref<?xi8> to memref<16x32xf32>
// CHECK:         %[[C2048:.*]] = arith.constant 2048 : index
// CHECK:         %[[WV:.*]] = memref.view %[[WEIGHTS]][%[[C2048]]][] : memref<?xi8> to memref<32x16xf32>
// CHECK:         %[[WT:.*]] = bufferization.to_tensor %[[WV]] restrict
// CHECK:         %[[C4096:.*]] = arith.constant 4096 : index
// CHECK:         memref.view %[[WEIGHTS]][%[[C4096]]][] : memref<?xi8> to memref<16xf32>
// CHECK:         %[[ZERO:.*]] = linalg.fill
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%{{.*}}, %[[WT]] : tensor<?x32xf32>, tensor<32x16xf32>) outs(%[[ZERO]] : tensor<?x16xf32>)
// CHECK-NEXT:    ^bb0(%[[XE:.*]]: f32, %[[WE:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      %[[FMA:.*]] = math.fma %[[XE]], %[[WE]], %[[ACC]] : f32
// CHECK-NEXT:      linalg.yield %[[FMA]] : f32
// CHECK:         %[[BIASED:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[SUM]], %{{.*}} : tensor<?x16xf32>, tensor<16xf32>)
// CHECK:           arith.addf
// CHECK:         bufferization.materialize_in_destination %[[BIASED]] in restrict writable %[[LOGITS]]
// CHECK:         bufferization.materialize_in_destination %[[K]] in restrict writable %[[KV]]
// CHECK:         bufferization.materialize_in_destination %[[V]] in restrict writable %[[VV]]
// CHECK:         return

// The model's description for the runtime.
// CHECK-LABEL: func.func @mixtile_info_abi_version() -> i64
// CHECK:         arith.constant 1 : i64
// CHECK-LABEL: func.func @mixtile_info_vocab_size() -> i64
// CHECK:         arith.constant 16 : i64
// CHECK-LABEL: func.func @mixtile_info_max_seq_len() -> i64
// CHECK:         arith.constant 8 : i64
// CHECK-LABEL: func.func @mixtile_info_state_bytes() -> i64
// CHECK:         arith.constant 1024 : i64
// CHECK-LABEL: func.func @mixtile_info_weight_bytes() -> i64
// CHECK:         arith.constant 4160 : i64
// CHECK-LABEL: func.func @mixtile_info_weight_fingerprint() -> i64
// CHECK-LABEL: func.func @mixtile_info_token_limit() -> i64
// CHECK:         arith.constant 16 : i64
// CHECK-LABEL: func.func @mixtile_info_position_limit() -> i64
// CHECK:         arith.constant 9223372036854775807 : i64
// CHECK-NOT:   func.func @forward
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index, %kc: tensor<8x16xf32>, %vc: tensor<8x16xf32>) -> (tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = xfmr.weight "output" from "model.bin" {offset = 2048 : i64} : tensor<16x32xf32>
  %b = xfmr.weight "output.bias" from "model.bin" {offset = 4096 : i64} : tensor<16xf32>
  %y = xfmr.linear %x, %w, %b : (tensor<?x32xf32>, tensor<16x32xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y, %kc, %vc : tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// W4A8 (MXFP4 weights, MXFP8 activations) and a BF16 embedding. The pack
// holds the weight K-major as fp4 codes in nibble lanes (output n at bit
// 4 ((n / 16) mod 8) of word 16 (n / 128) + n mod 16: [48, 16] words for
// N = 8), and E8M0 scales ([2 blocks, 8]); the linear decodes them
// as it multiplies: the nibble of output n looked up in the table of the 16
// E2M1 values (a vpermps once vectorized for AVX-512), times the block scale
// (the code shifted into an f32 exponent, with 0 and 255 patched to 2^-127
// and NaN where the pack's fixUpFlag says some scale is one of them).
// The activations are quantized row by row: the 48 columns are padded to
// two blocks of 32 for the block maxima.

// CHECK-DAG:   #[[CODES:.*]] = affine_map<(d0, d1, d2) -> (d2, (d1 floordiv 128) * 16 + d1 mod 16)>
// CHECK-DAG:   #[[SCALES:.*]] = affine_map<(d0, d1, d2) -> (d2 floordiv 32, d1)>
// CHECK-LABEL: func.func @mixtile_forward(
// CHECK:         memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<16x48xi16>
// CHECK:         linalg.generic
// CHECK:           %[[CODE:.*]] = tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<16x48xi16>
// CHECK:           %[[WIDE:.*]] = arith.extui %[[CODE]] : i16 to i32
// CHECK:           %[[BITS:.*]] = arith.shli %[[WIDE]], %{{.*}} : i32
// CHECK:           arith.bitcast %[[BITS]] : i32 to f32
// CHECK:         %[[C1536:.*]] = arith.constant 1536 : index
// CHECK:         %[[CV:.*]] = memref.view %{{.*}}[%[[C1536]]][] : memref<?xi8> to memref<48x16xi32>
// CHECK:         %[[CT:.*]] = bufferization.to_tensor %[[CV]] restrict
// CHECK:         %[[C4608:.*]] = arith.constant 4608 : index
// CHECK:         %[[SV:.*]] = memref.view %{{.*}}[%[[C4608]]][] : memref<?xi8> to memref<2x8xi8>
// CHECK:         %[[ST:.*]] = bufferization.to_tensor %[[SV]] restrict
// CHECK:         %[[C4672:.*]] = arith.constant 4672 : index
// CHECK:         %[[FV:.*]] = memref.view %{{.*}}[%[[C4672]]][] : memref<?xi8> to memref<1xi32>
// CHECK:         tensor.pad %{{.*}} low[0, 0, 0] high[0, 0, 16]
// CHECK:         tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [%{{.*}}, 1, 2, 32] : tensor<?x1x64xf32> into tensor<?x1x2x32xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK:           arith.maxui
// CHECK:         %[[E2M1:.*]] = arith.constant dense<[0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 6.000000e+00, -0.000000e+00, -5.000000e-01, -1.000000e+00, -1.500000e+00, -2.000000e+00, -3.000000e+00, -4.000000e+00, -6.000000e+00]> : tensor<16xf32>
// CHECK:         scf.if %{{.*}} -> (tensor<?x8xf32>) {
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #[[CODES]], #[[SCALES]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%{{.*}}, %[[CT]], %[[ST]] : tensor<?x48xf32>, tensor<48x16xi32>, tensor<2x8xi8>)
// CHECK-NEXT:    ^bb0(%[[XE:.*]]: f32, %[[WORD:.*]]: i32, %[[SCODE:.*]]: i8, %[[ACC:.*]]: f32):
// CHECK:           %[[N:.*]] = linalg.index 1 : index
// CHECK:           %[[VECTOR:.*]] = arith.divui %[[N]], %c16 : index
// CHECK:           arith.remui %[[VECTOR]], %c8 : index
// CHECK:           %[[SHIFT:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK:           %[[SHIFTED:.*]] = arith.shrui %[[WORD]], %[[SHIFT]] : i32
// CHECK:           %[[NIBBLE:.*]] = arith.andi %[[SHIFTED]], %{{.*}} : i32
// CHECK:           %[[INDEX:.*]] = arith.index_cast %[[NIBBLE]] : i32 to index
// CHECK:           %[[ELEMENT:.*]] = tensor.extract %[[E2M1]][%[[INDEX]]] : tensor<16xf32>
// CHECK:           %[[SWIDE:.*]] = arith.extui %[[SCODE]] : i8 to i32
// CHECK:           %[[ZERO:.*]] = arith.cmpi eq, %[[SWIDE]], %{{.*}} : i32
// CHECK:           %[[MIN:.*]] = arith.constant 4194304 : i32
// CHECK:           arith.select %[[ZERO]]
// CHECK:           %[[NAN:.*]] = arith.cmpi eq, %[[SWIDE]], %{{.*}} : i32
// CHECK:           %[[SCALE:.*]] = arith.select %[[NAN]]
// CHECK:           %[[WE:.*]] = arith.mulf %[[ELEMENT]], %[[SCALE]] : f32
// CHECK:           math.fma %[[XE]], %[[WE]], %[[ACC]] : f32
// Without them when the pack's fixUpFlag says no scale is 0 or 255.
// CHECK:         } else {
// CHECK:           linalg.generic
// CHECK:             tensor.extract %[[E2M1]]
// CHECK:             arith.extui %{{.*}} : i8 to i32
// CHECK-NOT:         arith.select
// CHECK:             %[[SBITS2:.*]] = arith.shli %{{.*}}, %c23_i32 : i32
// CHECK-NEXT:        %[[SCALE2:.*]] = arith.bitcast %[[SBITS2]] : i32 to f32
// CHECK-NEXT:        %[[WE2:.*]] = arith.mulf %{{.*}}, %[[SCALE2]] : f32
// CHECK-NEXT:        math.fma %{{.*}}, %[[WE2]], %{{.*}} : f32
// CHECK-LABEL: func.func @mixtile_info_weight_bytes() -> i64
// CHECK:         arith.constant 4736 : i64
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x8xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x48xf32>
  %x = xfmr.embedding %table[%tokens] {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>} : tensor<16x48xf32>, tensor<?xi32> -> tensor<?x48xf32>
  %w = xfmr.weight "w1" from "model.bin" {offset = 3072 : i64} : tensor<8x48xf32>
  %y = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<?x48xf32>, tensor<8x48xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// NVFP4 and per-tensor FP8 weights: the FP32 tensor scale is one f32 of
// the pack, read once, and the products follow numerics::dequantize:
// (element * block scale) * tensor scale.

// CHECK-LABEL: func.func @mixtile_forward(
// CHECK:         memref.view %{{.*}} : memref<?xi8> to memref<32x16xi32>
// CHECK:         memref.view %{{.*}} : memref<?xi8> to memref<2x8xi8>
// CHECK:         %[[TSV:.*]] = memref.view %{{.*}} : memref<?xi8> to memref<1xf32>
// CHECK:         %[[TST:.*]] = bufferization.to_tensor %[[TSV]] restrict
// CHECK:         %[[TS:.*]] = tensor.extract %[[TST]][%{{.*}}] : tensor<1xf32>
// CHECK:         memref.view %{{.*}} : memref<?xi8> to memref<1xi32>
// CHECK:         scf.if %{{.*}} -> (tensor<?x8xf32>) {
// CHECK:         linalg.generic
// The E4M3 block scale through f16; its NaN codes become the f16 quiet NaN
// (0x7E00) of their sign: fields 0x3F80 plus 0x3E80 (unless the pack's
// fixUpFlag says no scale is a NaN code, as for per-tensor FP8 below).
// CHECK:           %[[SWIDE:.*]] = arith.extsi %{{.*}} : i8 to i16
// CHECK:           %[[SFIELDS:.*]] = arith.andi %{{.*}}, %{{.*}} : i16
// CHECK:           %[[TONAN:.*]] = arith.constant 16000 : i16
// CHECK:           %[[SNAN:.*]] = arith.addi %[[SFIELDS]], %[[TONAN]] : i16
// CHECK:           %[[SBITS:.*]] = arith.select %{{.*}}, %[[SNAN]], %[[SFIELDS]] : i16
// CHECK:           %[[SHALF:.*]] = arith.bitcast %[[SBITS]] : i16 to f16
// CHECK:           %[[SF32:.*]] = arith.extf %[[SHALF]] : f16 to f32
// CHECK:           %[[TWO8:.*]] = arith.constant 2.560000e+02 : f32
// CHECK:           %[[S:.*]] = arith.mulf %[[SF32]], %[[TWO8]] : f32
// CHECK-NEXT:      %[[BLOCK:.*]] = arith.mulf %{{.*}}, %[[S]] : f32
// CHECK-NEXT:      %[[W:.*]] = arith.mulf %[[BLOCK]], %[[TS]] : f32
// CHECK-NEXT:      math.fma %{{.*}}, %[[W]], %{{.*}} : f32
// CHECK:         memref.view %{{.*}} : memref<?xi8> to memref<8x8xi8>
// CHECK:         %[[TSV2:.*]] = memref.view %{{.*}} : memref<?xi8> to memref<1xf32>
// CHECK:         %[[TST2:.*]] = bufferization.to_tensor %[[TSV2]] restrict
// CHECK:         %[[TS2:.*]] = tensor.extract %[[TST2]]
// Per-tensor FP8: the code's f16 times 2^8 * the tensor scale, one multiply
// per weight (exact: the scale of a finite tensor is at most FLT_MAX / 448).
// The pack's fixUpFlag (an i32) picks the product: with the NaN fix-up (the
// masked add) when some code is a NaN code or the tensor scale 2^8 or
// more, else without.
// CHECK:         %[[FLAGV:.*]] = memref.view %{{.*}} : memref<?xi8> to memref<1xi32>
// CHECK:         %[[FLAGT:.*]] = bufferization.to_tensor %[[FLAGV]] restrict
// CHECK:         %[[FLAG:.*]] = tensor.extract %[[FLAGT]]
// CHECK:         %[[ANYNAN:.*]] = arith.cmpi ne, %[[FLAG]], %{{.*}} : i32
// CHECK:         scf.if %[[ANYNAN]] -> (tensor<?x8xf32>) {
// CHECK:           linalg.generic
// CHECK:             arith.addi %{{.*}}, %c16000_i16 : i16
// CHECK:             %[[WHALF:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK:             %[[TWO8B:.*]] = arith.constant 2.560000e+02 : f32
// CHECK-NEXT:        %[[FACTOR:.*]] = arith.mulf %[[TS2]], %[[TWO8B]] : f32
// CHECK-NEXT:        %[[W2:.*]] = arith.mulf %[[WHALF]], %[[FACTOR]] : f32
// CHECK-NEXT:        math.fma %{{.*}}, %[[W2]], %{{.*}} : f32
// Without, through f32 bits: the code sign-extended, shifted by 20 and
// masked (0x87f00000) is its value times 2^-120, times the tensor scale
// times 2^120.
// CHECK:         } else {
// CHECK:           linalg.generic
// CHECK:             %[[WIDE3:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK:             %[[SHIFTED3:.*]] = arith.shli %[[WIDE3]], %c20_i32 : i32
// CHECK:             %[[FIELDS3:.*]] = arith.andi %[[SHIFTED3]], %c-2014314496_i32 : i32
// CHECK:             %[[TWO120:.*]] = arith.constant 1.329228E+36 : f32
// CHECK-NEXT:        %[[FACTOR3:.*]] = arith.mulf %[[TS2]], %[[TWO120]] : f32
// CHECK-NEXT:        %[[VALUE3:.*]] = arith.bitcast %[[FIELDS3]] : i32 to f32
// CHECK-NEXT:        %[[W3:.*]] = arith.mulf %[[VALUE3]], %[[FACTOR3]] : f32
// CHECK-NEXT:        math.fma %{{.*}}, %[[W3]], %{{.*}} : f32
// CHECK:           scf.yield
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x8xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w1 = xfmr.weight "w1" from "model.bin" {offset = 2048 : i64} : tensor<8x32xf32>
  %h = xfmr.linear %x, %w1 {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E4M3FN, block = 16, accumulator = f32>} : (tensor<?x32xf32>, tensor<8x32xf32>) -> tensor<?x8xf32>
  %w2 = xfmr.weight "w2" from "model.bin" {offset = 3072 : i64} : tensor<8x8xf32>
  %y = xfmr.linear %h, %w2 {precision = #xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f32, accumulator = f32>} : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// RMSNorm: the sum of squares by FMA over the row, 1 / sqrt(ss / n + eps)
// per row, then w * (x * r). Rope: pairs (2i, 2i + 1) as [seq, heads,
// half, 2] with the frequencies a constant table; the angle is position *
// frequency, its cos and sin computed once per position and pair ([seq,
// half] tables every head reads), and each element is a cos - b sin or
// a sin + b cos.

// CHECK-DAG:   #[[FIRST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
// CHECK-DAG:   #[[SECOND:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 1)>
// CHECK-DAG:   #[[HALF_FIRST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
// CHECK-DAG:   #[[POSITION:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG:   #[[PAIR:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG:   #[[TABLE:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[ANGLES:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2)>
// CHECK-DAG:   #[[HALF_ANGLES:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-LABEL: func.func @mixtile_forward(
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NEXT:    ^bb0(%[[X:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      math.fma %[[X]], %[[X]], %[[ACC]] : f32
// CHECK:         linalg.generic
// CHECK:           %[[MEAN:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK:           %[[EPS:.*]] = arith.addf %[[MEAN]], %{{.*}} : f32
// CHECK:           %[[ROOT:.*]] = math.sqrt %[[EPS]] : f32
// CHECK:           arith.divf %{{.*}}, %[[ROOT]] : f32
// CHECK:         linalg.generic
// CHECK-NEXT:    ^bb0(%[[XN:.*]]: f32, %[[G:.*]]: f32, %[[R:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[XR:.*]] = arith.mulf %[[XN]], %[[R]] : f32
// CHECK-NEXT:      arith.mulf %[[G]], %[[XR]] : f32
// CHECK:         %[[FREQ:.*]] = arith.constant dense<[1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03]> : tensor<4xf32>
// CHECK:         tensor.expand_shape %{{.*}} output_shape [%{{.*}}, 4, 4, 2] : tensor<?x32xf32> into tensor<?x4x4x2xf32>
// CHECK:         %[[COSINES:.*]] = linalg.generic {indexing_maps = [#[[POSITION]], #[[PAIR]], #[[TABLE]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[FREQ]] : tensor<?xi32>, tensor<4xf32>)
// CHECK-NEXT:    ^bb0(%[[POS:.*]]: i32, %[[F:.*]]: f32, %{{.*}}: f32):
// CHECK:           %[[P64:.*]] = arith.extsi %[[POS]] : i32 to i64
// CHECK:           %[[PF:.*]] = arith.sitofp %[[P64]] : i64 to f32
// CHECK:           %[[ANGLE:.*]] = arith.mulf %[[PF]], %[[F]] : f32
// CHECK:           %[[COSA:.*]] = math.cos %[[ANGLE]] : f32
// CHECK-NEXT:      linalg.yield %[[COSA]] : f32
// CHECK:         %[[SINES:.*]] = linalg.generic {indexing_maps = [#[[POSITION]], #[[PAIR]], #[[TABLE]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[FREQ]] : tensor<?xi32>, tensor<4xf32>)
// CHECK:           math.sin
// CHECK:         linalg.generic {indexing_maps = [#[[FIRST]], #[[SECOND]], #[[ANGLES]], #[[ANGLES]], #{{.*}}], {{.*}} ins(%{{.*}}, %{{.*}}, %[[COSINES]], %[[SINES]] :
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[COS:.*]]: f32, %[[SIN:.*]]: f32, %{{.*}}: f32):
// CHECK-NOT:       math.cos
// CHECK:           %[[AC:.*]] = arith.mulf %[[A]], %[[COS]] : f32
// CHECK:           %[[BS:.*]] = arith.mulf %[[B]], %[[SIN]] : f32
// CHECK:           %[[ROT0:.*]] = arith.subf %[[AC]], %[[BS]] : f32
// CHECK:           %[[AS:.*]] = arith.mulf %[[A]], %[[SIN]] : f32
// CHECK:           %[[BC:.*]] = arith.mulf %[[B]], %[[COS]] : f32
// CHECK:           %[[ROT1:.*]] = arith.addf %[[AS]], %[[BC]] : f32
// CHECK:           %[[MEMBER:.*]] = linalg.index 3 : index
// CHECK:           %[[IS0:.*]] = arith.cmpi eq, %[[MEMBER]], %{{.*}} : index
// CHECK:           arith.select %[[IS0]], %[[ROT0]], %[[ROT1]] : f32
// CHECK:         tensor.expand_shape %{{.*}} output_shape [%{{.*}}, 4, 2, 4] : tensor<?x32xf32> into tensor<?x4x2x4xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[HALF_FIRST]], #{{.*}}, #[[HALF_ANGLES]], #[[HALF_ANGLES]],
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x32xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %g = xfmr.weight "norm" from "model.bin" {offset = 2048 : i64} : tensor<32xf32>
  %n = xfmr.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : tensor<?x32xf32>, tensor<32xf32>
  %r = xfmr.rope %n, %positions {head_dim = 8 : i64} : tensor<?x32xf32>, tensor<?xi32>
  %h = xfmr.rope %r, %positions {head_dim = 8 : i64, style = #xfmr.rope_style<half>} : tensor<?x32xf32>, tensor<?xi32>
  return %h : tensor<?x32xf32>
}

// -----

// Attention with a KV cache, 4 query heads over 2 KV heads: the new rows,
// rounded to the cache format (bf16, saturating), are inserted into the
// writable cache tensors at `start`, and the queries see rows [0, start +
// n). The key cache is held transposed, [features, positions] (its slot of
// the state is 16x8): the new keys go in as columns; the value cache
// head-major, [kv, positions, d] (2x8x8): the new values go in as rows of
// every head. Queries split as [seq, kv, group, d], the keys as [kv, d,
// key]; scores are FMA dots over d, (s, kv, g, d, t) with the keys
// innermost, times the scale; the softmax's max and sum, (s, t, kv, g),
// and the value sum, (s, t, kv, g, d), skip keys t > start + s. The value
// sum's values are [kv, key, d], its output is indexed as the queries.

// CHECK-DAG:   #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[KEYS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>
// CHECK-DAG:   #[[SCORES:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG:   #[[BY_KEY:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
// CHECK-DAG:   #[[PROBS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3, d1)>
// CHECK-DAG:   #[[VALUES:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d1, d4)>
// CHECK-DAG:   #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3, d4)>
// CHECK-LABEL: func.func @mixtile_forward(
// CHECK-SAME:      %[[START:[a-z0-9]+]]: index
// CHECK:         %[[KC:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<16x8xf32> to tensor<16x8xf32>
// CHECK:         %[[VC:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<2x8x8xf32> to tensor<2x8x8xf32>
// CHECK:         %[[NKEYS:.*]] = arith.addi %[[START]], %{{.*}} : index
// CHECK:         %[[KR:.*]] = linalg.generic
// CHECK:           arith.constant 2139029504 : i32
// CHECK:         %[[KT:.*]] = linalg.transpose ins(%[[KR]] : tensor<?x16xf32>) outs(%{{.*}} : tensor<16x?xf32>) permutation = [1, 0]
// CHECK:         %[[KS:.*]] = tensor.insert_slice %[[KT]] into %[[KC]][0, %[[START]]] [16, %{{.*}}] [1, 1]
// CHECK:         %[[KVIS:.*]] = tensor.extract_slice %[[KS]][0, 0] [16, %[[NKEYS]]] [1, 1]
// CHECK:         %[[VT:.*]] = linalg.transpose ins(%{{.*}} : tensor<?x2x8xf32>) outs(%{{.*}} : tensor<2x?x8xf32>) permutation = [1, 0, 2]
// CHECK:         %[[VS:.*]] = tensor.insert_slice %[[VT]] into %[[VC]][0, %[[START]], 0] [2, %{{.*}}, 8] [1, 1, 1]
// CHECK:         tensor.extract_slice %[[VS]][0, 0, 0] [2, %[[NKEYS]], 8] [1, 1, 1]
// CHECK:         tensor.expand_shape %{{.*}} output_shape [%{{.*}}, 2, 2, 8] : tensor<?x32xf32> into tensor<?x2x2x8xf32>
// CHECK:         tensor.expand_shape %[[KVIS]] {{.*}} into tensor<2x8x?xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[Q]], #[[KEYS]], #[[SCORES]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
// CHECK:           math.fma
// CHECK:         linalg.generic
// CHECK:           arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:         linalg.generic {indexing_maps = [#[[BY_KEY]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
// CHECK:           %[[ROW:.*]] = linalg.index 0 : index
// CHECK:           %[[LAST:.*]] = arith.addi %[[START]], %[[ROW]] : index
// CHECK:           %[[KEY:.*]] = linalg.index 1 : index
// CHECK:           %[[SEEN:.*]] = arith.cmpi ule, %[[KEY]], %[[LAST]] : index
// CHECK:           arith.select %[[SEEN]]
// CHECK:         math.roundeven
// CHECK:         linalg.generic {indexing_maps = [#[[BY_KEY]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
// CHECK:           arith.addf
// CHECK:         arith.divf
// CHECK:         linalg.generic {indexing_maps = [#[[PROBS]], #[[VALUES]], #[[OUT]]], iterator_types = ["parallel", "reduction", "parallel", "parallel", "parallel"]}
// CHECK:           math.fma
// CHECK:           linalg.index 1 : index
// CHECK:           arith.cmpi ule
// CHECK:         bufferization.materialize_in_destination %[[KS]] in restrict writable
// CHECK:         bufferization.materialize_in_destination %[[VS]] in restrict writable
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index, %kc: tensor<8x16xf32>, %vc: tensor<8x16xf32>) -> (tensor<?x32xf32>, tensor<8x16xf32>, tensor<8x16xf32>) {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %wk = xfmr.weight "wk" from "model.bin" {offset = 2048 : i64} : tensor<16x32xf32>
  %k = xfmr.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %o, %c:2 = xfmr.attention %x, %k, %k cache(%kc, %vc) at %start {causal, n_heads = 4 : i64, n_kv_heads = 2 : i64, precision = #xfmr.precision<weights = f32, activations = f32, accumulator = f32, kv_cache = bf16>} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, index) -> (tensor<?x32xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
  return %o, %c#0, %c#1 : tensor<?x32xf32>, tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Element-wise ops and norms with the evaluator's expressions, softmax on
// any axis (the max starts from element 0), and an activation matmul.

// CHECK-LABEL: func.func @mixtile_forward(
// LayerNorm: plain sum, mean, FMA variance of (x - mean).
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NEXT:    ^bb0(%[[X:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      arith.addf %[[ACC]], %[[X]] : f32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NEXT:    ^bb0(%[[X2:.*]]: f32, %[[M:.*]]: f32, %[[ACC2:.*]]: f32):
// CHECK-NEXT:      %[[D:.*]] = arith.subf %[[X2]], %[[M]] : f32
// CHECK-NEXT:      math.fma %[[D]], %[[D]], %[[ACC2]] : f32
// GELU, tanh form: 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x))).
// CHECK:           %[[K0:.*]] = arith.constant 4.471500e-02 : f32
// CHECK-NEXT:      %[[C1:.*]] = arith.mulf %[[K0]], %[[XG:.*]] : f32
// CHECK-NEXT:      %[[C2:.*]] = arith.mulf %[[C1]], %[[XG]] : f32
// CHECK-NEXT:      %[[C3:.*]] = arith.mulf %[[C2]], %[[XG]] : f32
// CHECK-NEXT:      %[[INNER:.*]] = arith.addf %[[XG]], %[[C3]] : f32
// CHECK-NEXT:      %[[K1:.*]] = arith.constant 0.797884583 : f32
// CHECK-NEXT:      %[[SCALED:.*]] = arith.mulf %[[K1]], %[[INNER]] : f32
// CHECK-NEXT:      %[[TANH:.*]] = math.tanh %[[SCALED]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[GATE:.*]] = arith.addf %[[ONE]], %[[TANH]] : f32
// CHECK-NEXT:      %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT:      %[[HX:.*]] = arith.mulf %[[HALF]], %[[XG]] : f32
// CHECK-NEXT:      arith.mulf %[[HX]], %[[GATE]] : f32
// GELU, erf form.
// CHECK:           math.erf
// SiLU: x * (1 / (1 + exp(-x))), exp as numerics::exp: in f64, k =
// roundeven(x / ln 2), a polynomial in x - k ln 2, times 2^k, and the
// limits selected last (NaN last of all).
// CHECK:           %[[NEG:.*]] = arith.negf %[[XS:.*]] : f32
// CHECK-NEXT:      %[[WIDE:.*]] = arith.extf %[[NEG]] : f32 to f64
// CHECK:           math.roundeven
// CHECK:           arith.shli
// CHECK:           arith.bitcast %{{.*}} : i64 to f64
// CHECK:           arith.truncf %{{.*}} : f64 to f32
// CHECK:           %[[TWICE:.*]] = arith.addf %[[NEG]], %[[NEG]] : f32
// CHECK-NEXT:      %[[EXP:.*]] = arith.select %{{.*}}, %[[TWICE]], %{{.*}} : f32
// CHECK:           %[[DEN:.*]] = arith.addf %{{.*}}, %[[EXP]] : f32
// CHECK:           %[[SIG:.*]] = arith.divf %{{.*}}, %[[DEN]] : f32
// CHECK-NEXT:      arith.mulf %[[XS]], %[[SIG]] : f32
// Softmax along axis 0 of [n, 32]: the first row starts the max.
// CHECK:         %[[FIRST:.*]] = tensor.extract_slice %{{.*}}[0, 0] [1, 32] [1, 1] : tensor<?x32xf32> to tensor<32xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%{{.*}} : tensor<?x32xf32>) outs(%[[FIRST]] : tensor<32xf32>)
// CHECK-NEXT:    ^bb0(%[[XM:.*]]: f32, %[[MAX:.*]]: f32):
// CHECK-NEXT:      %[[LT:.*]] = arith.cmpf olt, %[[MAX]], %[[XM]] : f32
// CHECK-NEXT:      arith.select %[[LT]], %[[XM]], %[[MAX]] : f32
// CHECK:         math.roundeven
// CHECK:         arith.divf
// Matmul [n, 32] x [32, 16] (a constant): batch 1, FMA over k.
// CHECK:         %[[RHS:.*]] = arith.constant dense<2.500000e-01> : tensor<32x16xf32>
// CHECK:         %[[RHS3:.*]] = tensor.expand_shape %[[RHS]] {{\[\[}}0, 1], [2]] output_shape [1, 32, 16]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[RHS3]] : tensor<1x?x32xf32>, tensor<1x32x16xf32>)
// CHECK:           math.fma
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x16xf32> {
  %table = xfmr.weight "wte" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %g = xfmr.weight "ln.weight" from "model.bin" {offset = 2048 : i64} : tensor<32xf32>
  %b = xfmr.weight "ln.bias" from "model.bin" {offset = 2176 : i64} : tensor<32xf32>
  %n = xfmr.layer_norm %x, %g, %b : tensor<?x32xf32>, tensor<32xf32>, tensor<32xf32>
  %t = xfmr.gelu %n {approximate = #xfmr.gelu_approximation<tanh>} : tensor<?x32xf32>
  %e = xfmr.gelu %t : tensor<?x32xf32>
  %s = xfmr.silu %e : tensor<?x32xf32>
  %m = xfmr.mul %s, %x : tensor<?x32xf32>
  %p = xfmr.softmax %m {axis = 0 : i64} : tensor<?x32xf32>
  %c = arith.constant dense<0.25> : tensor<32x16xf32>
  %y = xfmr.matmul %p, %c : (tensor<?x32xf32>, tensor<32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Constant weights (--inline-weights) are quantized at compile time into
// constant codes and scales, K-major like the pack's: 1.0 in MXFP4 is
// element 4.0 (code 6) with the block scale 2^-2 (E8M0 code 125). In
// nibble lanes the 4 outputs are the low nibbles of words 0-3 of each
// 16-word row.

// CHECK-LABEL: func.func @mixtile_forward(
// CHECK:         %[[CODES:.*]] = arith.constant dense<"0x{{(06000000060000000600000006000000(00){48})+}}"> : tensor<32x16xi32>
// CHECK:         %[[SCALES:.*]] = arith.constant dense<125> : tensor<1x4xi8>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:        ins(%{{.*}}, %[[CODES]], %[[SCALES]] : tensor<?x32xf32>, tensor<32x16xi32>, tensor<1x4xi8>)
// CHECK-LABEL: func.func @mixtile_info_weight_bytes() -> i64
// CHECK:         arith.constant 2048 : i64
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x4xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = arith.constant dense<1.0> : tensor<4x32xf32>
  %y = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<?x32xf32>, tensor<4x32xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A constant BF16 weight with an even K is stored in pairs of codes along k,
// as the pack stores it: w[n][2i] = 1.0 (0x3f80) in the high half of each
// word, w[n][2i + 1] = 2.0 (0x4000) in the low half: 0x3f804000 =
// 1065369600. BF16 activations reach the linear as pairs too, and the body
// is two FMAs per pair, the high halves first.

// CHECK-LABEL: func.func @mixtile_forward(
// CHECK:         %[[PAIRS:.*]] = arith.constant dense<1065369600> : tensor<2x4xi32>
// CHECK:         %[[X:.*]] = linalg.generic
// CHECK:         -> tensor<?x2xi32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:        ins(%[[X]], %[[PAIRS]] : tensor<?x2xi32>, tensor<2x4xi32>)
// CHECK-NEXT:    ^bb0(%[[XW:.*]]: i32, %[[WW:.*]]: i32, %[[ACC:.*]]: f32):
// CHECK:           %[[XHI:.*]] = arith.andi %[[XW]], %{{.*}} : i32
// CHECK:           %[[XH:.*]] = arith.bitcast %[[XHI]] : i32 to f32
// CHECK:           %[[XLI:.*]] = arith.shli %[[XW]], %{{.*}} : i32
// CHECK:           %[[XL:.*]] = arith.bitcast %[[XLI]] : i32 to f32
// CHECK:           %[[WHI:.*]] = arith.andi %[[WW]], %{{.*}} : i32
// CHECK:           %[[WH:.*]] = arith.bitcast %[[WHI]] : i32 to f32
// CHECK:           %[[FIRST:.*]] = math.fma %[[XH]], %[[WH]], %[[ACC]] : f32
// CHECK:           %[[WLI:.*]] = arith.shli %[[WW]], %{{.*}} : i32
// CHECK:           %[[WL:.*]] = arith.bitcast %[[WLI]] : i32 to f32
// CHECK:           math.fma %[[XL]], %[[WL]], %[[FIRST]] : f32
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x4xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x4xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %w = arith.constant dense<[[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]> : tensor<4x4xf32>
  %y = xfmr.linear %x, %w {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>} : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
