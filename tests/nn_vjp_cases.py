"""Rows for tests/test_vjp_modes.py's KERNEL_CASES: every fused VJP of the nn ops (activations,
normalization, losses, transposed convolution, interpolation, padding, unpooling) run on arrays
(plain backward) and on Tensors (create_graph) with the same inputs. Each row: (name, function
of float64 tensors, input shapes)."""
import numpy as np

import tensorgrad as tg
import tensorgrad.nn.functional as F

NN_KERNEL_CASES = [
    ("gelu", lambda x: F.gelu(x), [(3, 4)]),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(3, 4)]),
    ("silu", lambda x: F.silu(x), [(3, 4)]),
    ("mish", lambda x: F.mish(x), [(3, 4)]),
    ("elu", lambda x: F.elu(x, 0.7), [(3, 4)]),
    ("selu", lambda x: F.selu(x), [(3, 4)]),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.5), [(3, 4)]),
    ("hardswish", lambda x: F.hardswish(x * 3), [(3, 4)]),
    ("softsign", lambda x: F.softsign(x), [(3, 4)]),
    ("logsigmoid", lambda x: F.logsigmoid(x), [(3, 4)]),
]
NN_KERNEL_CASES += [
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 2, 4), (4,), (4,)]),
    ("group_norm", lambda x, w: F.group_norm(x, 2, w), [(2, 4, 3), (4,)]),
    ("instance_norm_bias", lambda x, b: F.instance_norm(x, bias=b), [(2, 3, 5), (3,)]),
]
NN_KERNEL_CASES += [
    ("interpolate_bicubic", lambda x: F.interpolate(x, scale_factor=1.5, mode="bicubic"),
     [(1, 2, 3, 4)]),
    ("max_unpool2d", lambda x: F.max_unpool2d(
        x, tg.tensor(np.array([[[[0, 3], [9, 14]]]])), 2), [(1, 1, 2, 2)]),
    ("conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1),
     [(1, 2, 3, 3), (2, 3, 2, 2)]),
]
