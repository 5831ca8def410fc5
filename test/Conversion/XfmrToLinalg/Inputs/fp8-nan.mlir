// A linear whose FP8 weights hold NaN codes (fp8-nan-codes.test writes
// fp8-nan.bin next to a copy of this file).
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x64xf32> {
  %table = xfmr.weight "tok_embeddings" from "fp8-nan.bin" {offset = 0 : i64} : tensor<8x64xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<8x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %w = xfmr.weight "w" from "fp8-nan.bin" {offset = 2048 : i64} : tensor<64x64xf32>
  %y = xfmr.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
