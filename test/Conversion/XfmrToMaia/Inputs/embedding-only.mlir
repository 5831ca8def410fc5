module {
  func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x64xf32> {
    %w = xfmr.weight "tok_embeddings" from "synthetic:1" : tensor<64x64xf32>
    %x = xfmr.embedding %w[%tokens] : tensor<64x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    return %x : tensor<?x64xf32>
  }
}
