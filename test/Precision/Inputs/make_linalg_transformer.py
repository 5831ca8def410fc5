"""Writes a small two-block transformer as linalg on tensors, the way a
compiler that lowered a model to linalg (torch-mlir, IREE input) has it:
weights are dense constants, Q/K/V and gate/up read the same normed
activation, attention scores are a batch_matmul of two activations, and
the output and down projections are matmuls with a transposed B (weights
stored [N, K]). Block 1's down projection has a few outlier input
channels, which FP4 weights cannot represent well.

usage: make_linalg_transformer.py OUT.mlir
"""
import sys

import numpy as np

SEQ, DIM, HIDDEN, HEADS = 16, 64, 128, 4
HEAD = DIM // HEADS
rng = np.random.default_rng(7)


def dense(values):
    data = np.ascontiguousarray(values, dtype="<f4").tobytes().hex().upper()
    shape = "x".join(str(d) for d in values.shape)
    return 'dense<"0x%s"> : tensor<%sxf32>' % (data, shape)


def weight(k, n, transposed=False, outliers=0):
    w = rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k)
    if outliers:
        w[rng.choice(k, outliers, replace=False), :] *= 40.0
    return w.T.copy() if transposed else w


MATMUL = ("linalg.matmul ins(%{a}, %{b} : tensor<{m}x{k}xf32>, "
          "tensor<{k}x{n}xf32>) outs(%{fill} : tensor<{m}x{n}xf32>) "
          "-> tensor<{m}x{n}xf32>")
MATMUL_TB = ("linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> "
             "(d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, "
             "affine_map<(d0, d1, d2) -> (d0, d1)>] "
             "ins(%{a}, %{b} : tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) "
             "outs(%{fill} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>")

lines = []
emit = lines.append
emit("module {")
emit("  func.func @block_stack(%%x: tensor<%dx%dxf32>) -> tensor<%dx%dxf32> {"
     % (SEQ, DIM, SEQ, DIM))
emit("    %zero = arith.constant 0.0 : f32")
for n in (DIM, HIDDEN):
    emit("    %%e%d = tensor.empty() : tensor<%dx%dxf32>" % (n, SEQ, n))
    emit("    %%z%d = linalg.fill ins(%%zero : f32) outs(%%e%d : tensor<%dx%dxf32>)"
         " -> tensor<%dx%dxf32>" % (n, n, SEQ, n, SEQ, n))
emit("    %%es = tensor.empty() : tensor<%dx%dx%dxf32>" % (HEADS, SEQ, SEQ))
emit("    %%zs = linalg.fill ins(%%zero : f32) outs(%%es : tensor<%dx%dx%dxf32>)"
     " -> tensor<%dx%dx%dxf32>" % ((HEADS, SEQ, SEQ) * 2))
ADD = ("linalg.add ins(%{a}, %{b} : tensor<{m}x{n}xf32>, tensor<{m}x{n}xf32>) "
       "outs(%{fill} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>")
MUL = ADD.replace("linalg.add", "linalg.mul")
h = "x"
for layer in range(2):
    p = "l%d_" % layer
    for name, (k, n, tb, out) in {
            "wq": (DIM, DIM, False, 0), "wk": (DIM, DIM, False, 0),
            "wv": (DIM, DIM, False, 0), "wo": (DIM, DIM, True, 0),
            "w1": (DIM, HIDDEN, False, 0), "w3": (DIM, HIDDEN, False, 0),
            "w2": (HIDDEN, DIM, True, 4 if layer == 1 else 0)}.items():
        # Block 0's weights carry names (as importers often give them),
        # block 1's do not.
        loc = ' loc("blocks.%d.%s")' % (layer, name) if layer == 0 else ""
        emit("    %%%s%s = arith.constant %s%s" % (
            p, name, dense(weight(k, n, tb, out)), loc))
    for name in ("q", "k", "v"):
        emit("    %%%s%s = %s" % (p, name, MATMUL.format(
            a=h, b=p + "w" + name, fill="z%d" % DIM, m=SEQ, k=DIM, n=DIM)))
    # Attention scores: per head q k^T, a product of two activations.
    for name in ("q", "k"):
        emit("    %%%s%s3 = tensor.expand_shape %%%s%s [[0], [1, 2]] "
             "output_shape [%d, %d, %d] : tensor<%dx%dxf32> into "
             "tensor<%dx%dx%dxf32>" % (p, name, p, name, SEQ, HEADS, HEAD,
                                       SEQ, DIM, SEQ, HEADS, HEAD))
        emit("    %%%s%sh = linalg.transpose ins(%%%s%s3 : tensor<%dx%dx%dxf32>)"
             " outs(%%%s%se : tensor<%dx%dx%dxf32>) permutation = [1, 0, 2]"
             % (p, name, p, name, SEQ, HEADS, HEAD, p, name, HEADS, SEQ, HEAD))
        lines.insert(len(lines) - 1, "    %%%s%se = tensor.empty() : "
                     "tensor<%dx%dx%dxf32>" % (p, name, HEADS, SEQ, HEAD))
    emit("    %%%sscores = linalg.batch_matmul indexing_maps = ["
         "affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, "
         "affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, "
         "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>] "
         "ins(%%%sqh, %%%skh : tensor<%dx%dx%dxf32>, tensor<%dx%dx%dxf32>) "
         "outs(%%zs : tensor<%dx%dx%dxf32>) -> tensor<%dx%dx%dxf32>"
         % (p, p, p, HEADS, SEQ, HEAD, HEADS, SEQ, HEAD, HEADS, SEQ, SEQ,
            HEADS, SEQ, SEQ))
    emit("    %%%so = %s" % (p, MATMUL_TB.format(
        a=p + "v", b=p + "wo", fill="z%d" % DIM, m=SEQ, k=DIM, n=DIM)))
    emit("    %%%sr = %s" % (p, ADD.format(a=h, b=p + "o", fill="z%d" % DIM,
                                          m=SEQ, n=DIM)))
    for name in ("1", "3"):
        emit("    %%%sh%s = %s" % (p, name, MATMUL.format(
            a=p + "r", b=p + "w" + name, fill="z%d" % HIDDEN, m=SEQ, k=DIM,
            n=HIDDEN)))
    emit("    %%%sg = %s" % (p, MUL.format(a=p + "h1", b=p + "h3",
                                          fill="z%d" % HIDDEN, m=SEQ,
                                          n=HIDDEN)))
    emit("    %%%sd = %s" % (p, MATMUL_TB.format(
        a=p + "g", b=p + "w2", fill="z%d" % DIM, m=SEQ, k=HIDDEN, n=DIM)))
    emit("    %%%sout = %s" % (p, ADD.format(a=p + "r", b=p + "d",
                                            fill="z%d" % DIM, m=SEQ, n=DIM)))
    h = p + "out"
emit("    return %%%s : tensor<%dx%dxf32>" % (h, SEQ, DIM))
emit("  }")
emit("}")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
