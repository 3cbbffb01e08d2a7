"""Attention and the Transformer against PyTorch in float64 with PyTorch's weights (loaded
through state_dict, so the keys match): scaled_dot_product_attention (masks, causal, scale,
GQA, fully masked rows), MultiheadAttention (every option), encoder/decoder layers and stacks,
nn.Transformer, generate_square_subsequent_mask; outputs and every gradient; gradcheck."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F

from nn_parity import compare_modules, compare_with_torch, gradchecks


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)
Q, K, V = RNG.standard_normal((2, 3, 4, 5)), RNG.standard_normal((2, 3, 6, 5)), \
    RNG.standard_normal((2, 3, 6, 2))
BOOL = RNG.random((4, 6)) > 0.3
BOOL[2] = False  # a fully masked query row
FLOAT = RNG.standard_normal((2, 1, 4, 6))


def _sdpa_cases(m):
    t = (lambda a: m.tensor(a)) if m is not None else None
    return [
        ("plain", lambda q, k, v: m.nn.functional.scaled_dot_product_attention(q, k, v)),
        ("bool_mask", lambda q, k, v: m.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=t(BOOL))),
        ("float_mask", lambda q, k, v: m.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=t(FLOAT))),
        ("causal_scale", lambda q, k, v: m.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=0.3)),
    ]


@pytest.mark.parametrize("i", range(4), ids=["plain", "bool_mask", "float_mask",
                                             "causal_scale"])
def test_sdpa_matches_torch(torch, i):
    g, t = _sdpa_cases(tg)[i][1], _sdpa_cases(torch)[i][1]
    compare_with_torch(torch, g, t, [Q, K, V])
    if i != 1:  # (a fully masked row: zero output, where finite differences agree too)
        gradchecks(g, [Q[:1, :1], K[:1, :1], V[:1, :1]], gradgrad=i == 0)


def test_sdpa_fully_masked_rows_and_gqa(torch):
    # PyTorch gives zeros (and zero gradients) for a query that may attend to nothing
    out = F.scaled_dot_product_attention(tg.tensor(Q), tg.tensor(K), tg.tensor(V),
                                         attn_mask=tg.tensor(BOOL))
    assert not out.numpy()[:, :, 2].any() and np.isfinite(out.numpy()).all()
    q = RNG.standard_normal((1, 4, 3, 5))
    kv = RNG.standard_normal((1, 2, 6, 5))
    compare_with_torch(torch, lambda a, b, c: F.scaled_dot_product_attention(
        a, b, c, enable_gqa=True), lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
        a, b, c, enable_gqa=True), [q, kv, kv.copy()], second=False)
    with pytest.raises(RuntimeError, match="attn_mask"):
        F.scaled_dot_product_attention(tg.tensor(Q), tg.tensor(K), tg.tensor(V),
                                       attn_mask=tg.tensor(BOOL), is_causal=True)


MHA = [
    ("default", dict(), {}),
    ("batch_first", dict(batch_first=True), {}),
    ("nobias", dict(bias=False), dict(need_weights=False)),
    ("kv_bias_zero", dict(add_bias_kv=True, add_zero_attn=True), {}),
    ("kdim_vdim", dict(kdim=3, vdim=7), dict(average_attn_weights=False)),
    ("masks", dict(), "masks"),
    ("masks_noweights", dict(batch_first=True), "masks_noweights"),
]


@pytest.mark.parametrize("name,ctor,call", MHA, ids=[m[0] for m in MHA])
def test_multihead_attention_matches_torch(torch, name, ctor, call):
    E, H, L, S, N = 8, 2, 4, 5, 3
    t, g = torch.nn.MultiheadAttention(E, H, **ctor), nn.MultiheadAttention(E, H, **ctor)
    assert repr(g) == repr(t)
    bf = ctor.get("batch_first", False)
    sh = (lambda n, l, e: (n, l, e)) if bf else (lambda n, l, e: (l, n, e))
    q = RNG.standard_normal(sh(N, L, E))
    k = RNG.standard_normal(sh(N, S, ctor.get("kdim", E)))
    v = RNG.standard_normal(sh(N, S, ctor.get("vdim", E)))
    kw = call if isinstance(call, dict) else {}
    if isinstance(call, str):
        kpm = np.zeros((N, S), dtype=bool)
        kpm[0, -2:] = True
        am = RNG.standard_normal((L, S))
        kw = dict(need_weights=call == "masks")

        def run(m, mod, a, b, c):
            return mod(a, b, c, key_padding_mask=m.tensor(kpm), attn_mask=m.tensor(am), **kw)
        fg = lambda a, b, c: run(tg, g, a, b, c)  # noqa: E731
        ft = lambda a, b, c: run(torch, t, a, b, c)  # noqa: E731
    else:
        fg = lambda a, b, c: g(a, b, c, **kw)  # noqa: E731
        ft = lambda a, b, c: t(a, b, c, **kw)  # noqa: E731
    t.double()
    g.double().load_state_dict({k_: v_.detach().numpy() for k_, v_ in t.state_dict().items()})
    outs = compare_with_torch(torch, lambda *a: [o for o in fg(*a) if o is not None],
                              lambda *a: [o for o in ft(*a) if o is not None], [q, k, v],
                              second=False)
    assert len(outs) == (1 if kw.get("need_weights") is False else 2)
    _param_grads_match(torch, g, t, fg, ft, [q, k, v])


def _param_grads_match(torch, g, t, fg, ft, arrays):
    """The gradients of every parameter agree too (a random linear function of the outputs)."""
    g.zero_grad()
    t.zero_grad()
    go = [o for o in fg(*[tg.tensor(a) for a in arrays]) if o is not None]
    to = [o for o in ft(*[torch.tensor(a) for a in arrays]) if o is not None]
    ups = [RNG.standard_normal(tuple(o.shape)) for o in to]
    sum((o * tg.tensor(u)).sum() for o, u in zip(go, ups)).backward()
    sum((o * torch.tensor(u)).sum() for o, u in zip(to, ups)).backward()
    tp = dict(t.named_parameters())
    for name, p in g.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-11, err_msg=name)


def test_multihead_attention_parameters_and_self_attention_grads(torch):
    t, g = torch.nn.MultiheadAttention(6, 3, bias=True), nn.MultiheadAttention(6, 3)
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert not g.in_proj_bias.detach().numpy().any() and not g.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (6 + 18))  # xavier-uniform on the (18, 6) in_proj_weight
    assert np.abs(g.in_proj_weight.detach().numpy()).max() <= bound
    x = RNG.standard_normal((4, 2, 6))
    compare_modules(torch, t, g, [x, x, x])


def _layer_pair(torch, cls, **kw):
    kw = dict(dim_feedforward=16, dropout=0.0, **kw)
    return getattr(torch.nn, cls)(8, 2, **kw), getattr(nn, cls)(8, 2, **kw)


LAYERS = [dict(), dict(norm_first=True), dict(batch_first=True, activation="gelu"),
          dict(bias=False, layer_norm_eps=1e-3)]


@pytest.mark.parametrize("kw", LAYERS, ids=["post", "pre", "batch_first-gelu", "nobias"])
def test_encoder_and_decoder_layers_match_torch(torch, kw):
    bf = kw.get("batch_first", False)
    src = RNG.standard_normal((2, 5, 8) if bf else (5, 2, 8))
    tgt = RNG.standard_normal((2, 4, 8) if bf else (4, 2, 8))
    t, g = _layer_pair(torch, "TransformerEncoderLayer", **kw)
    assert repr(g) == repr(t)
    compare_modules(torch, t, g, src)
    t, g = _layer_pair(torch, "TransformerDecoderLayer", **kw)
    assert repr(g) == repr(t)
    compare_modules(torch, t, g, [tgt, src])


def test_transformer_with_masks_matches_torch_in_train_and_eval(torch):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0)
    torch.manual_seed(0)
    t, g = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    src, tgt = RNG.standard_normal((6, 3, 8)), RNG.standard_normal((5, 3, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    kpm = np.zeros((3, 6), dtype=bool)
    kpm[1, -2:] = True

    def run(m, mod, mk):
        return lambda s, d: mod(s, d, tgt_mask=mk.double(), src_key_padding_mask=m.tensor(kpm),
                                memory_key_padding_mask=m.tensor(kpm))
    t.double()
    g.double().load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    compare_with_torch(torch, run(tg, g, mask), run(torch, t, tmask), [src, tgt], second=False,
                       rtol=1e-9, atol=1e-11)
    t.eval()
    g.eval()
    compare_with_torch(torch, run(tg, g, mask), run(torch, t, tmask), [src, tgt], second=False,
                       rtol=1e-9, atol=1e-11)


def test_encoder_stack_causal_and_language_model_shapes(torch):
    # the word-language-model pattern: TransformerEncoder with a causal mask, batch_first off
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    layer_g = nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    t = torch.nn.TransformerEncoder(layer_t, 2, enable_nested_tensor=False)
    g = nn.TransformerEncoder(layer_g, 2, enable_nested_tensor=False)
    assert len(g.layers) == 2 and g.layers[0] is not g.layers[1]
    src = RNG.standard_normal((7, 2, 8))
    mask = np.triu(np.full((7, 7), -np.inf), 1)
    t.double()
    g.double().load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    compare_with_torch(torch, lambda s: g(s, tg.tensor(mask)), lambda s: t(s, torch.tensor(mask)),
                       [src], second=False, rtol=1e-9, atol=1e-11)
    for mk in (None, tg.tensor(mask)):  # is_causal detection: same numbers either way
        out = g(tg.tensor(src), mk, is_causal=mk is not None)
        assert out.shape == (7, 2, 8)


def test_transformer_argument_errors():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    m = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="batch number"):
        m(tg.randn(3, 2, 8), tg.randn(3, 4, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        m(tg.randn(3, 2, 6), tg.randn(3, 2, 6))
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Transformer(8, 2, 1, 1, 16, device="cuda")
