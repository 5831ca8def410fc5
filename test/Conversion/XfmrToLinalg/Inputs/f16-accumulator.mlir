// A model the CPU back end refuses: f16 accumulation is not simulated.
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x4xf32> {
  %table = xfmr.weight "tok_embeddings" from "synthetic:1" : tensor<4x8xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<4x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  %w = xfmr.weight "output" from "synthetic:1" : tensor<4x8xf32>
  %y = xfmr.linear %x, %w {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f16>} : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
