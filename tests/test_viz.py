"""tensorgrad.viz: drawing graphs (DOT), module boxes, folding, node limit, gradient flow."""
import math
import re

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.autograd import engine
from tensorgrad.autograd.node import Node
from tensorgrad._state import STATE
from tensorgrad.viz import render

nn = tg.nn
HAS_DOT = render.find_dot() is not None


class MLP(nn.Module):
    def __init__(self, i=12, h=8, o=3):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def _mlp_loss(trace=True, dtype=np.float64):
    tg.manual_seed(0)
    m = MLP().double() if dtype == np.float64 else MLP()
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 12)).astype(dtype))
    if trace:
        with tg.viz.trace(m):
            out = m(x)
    else:
        out = m(x)
    loss = (out * out).mean()
    return m, loss


def _node_lines(src):
    return [ln for ln in src.splitlines() if re.match(r"\s+v\d+ \[", ln)]


def test_dot_has_ops_shapes_dtypes_and_parameter_names():
    m, loss = _mlp_loss()
    g = tg.viz.draw(loss, params=m)
    src = g.source
    assert src.startswith("digraph tensorgrad {") and src.rstrip().endswith("}")
    for op in ("linear", "relu", "mul", "mean"):
        assert f"<B>{op}</B>" in src
    assert "(5, 8)" in src and "(5, 3)" in src and "float64" in src
    for p in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"):
        assert f"<B>{p}</B>" in src
    assert "(8, 12)" in src  # fc1.weight's shape
    assert g.stats["ops"] == 5 and g.stats["params"] == 4 and g.stats["leaves"] == 4
    # every edge connects declared nodes
    declared = set(re.findall(r"^\s+(v\d+) \[", src, re.M))
    for a, b in re.findall(r"^\s+(v\d+|summary) -> (v\d+)", src, re.M):
        assert a in declared and b in declared


def test_params_forms_agree():
    m, loss = _mlp_loss()
    a = tg.viz.draw(loss, params=m).source
    b = tg.viz.draw(loss, params=dict(m.named_parameters())).source
    c = tg.viz.draw(loss, params=list(m.named_parameters())).source
    d = tg.viz.draw(loss, model=m).source
    assert a == b == c == d
    unnamed = tg.viz.draw(loss).source
    assert "fc1.weight" not in unnamed and "<I>leaf</I>" in unnamed


def test_constants_and_outputs_styled():
    m, loss = _mlp_loss()
    src = tg.viz.draw(loss, output_names=["loss"]).source
    assert "const" in src  # the input x does not require grad: a constant edge into fc1
    assert "<B>loss</B>" in src and "#c8efc4" in src
    assert "const" not in tg.viz.draw(loss, show_constants=False).source


def test_module_clusters_from_trace():
    m, loss = _mlp_loss(trace=True)
    g = tg.viz.draw(loss, model=m)
    src = g.source
    assert src.count("subgraph cluster_") == 4  # MLP, fc1, act, fc2
    assert "<B>fc1</B> (Linear)" in src and "<B>act</B> (ReLU)" in src
    # the relu op lies inside the act box, fc1's parameters inside the fc1 box
    act = src[src.index("<B>act</B>"):]
    act = act[:act.index("}")]
    assert "<B>relu</B>" in act
    fc1 = src[src.index("<B>fc1</B>"):]
    fc1 = fc1[:fc1.index("}")]
    assert "<B>fc1.weight</B>" in fc1 and "<B>linear</B>" in fc1
    # the loss ops (mul, mean) were recorded outside the model: not in any box
    top = src[src.rindex("}\n  v"):]
    assert "<B>mean</B>" in top


def test_clusters_without_trace_use_parameter_owners():
    m, loss = _mlp_loss(trace=False)
    src = tg.viz.draw(loss, model=m).source
    assert "<B>fc1</B> (Linear)" in src and "<B>fc2</B> (Linear)" in src
    assert "act" not in src  # no parameters, no trace: ReLU cannot be attributed


def test_trace_cleans_up_hooks_and_patches_nothing():
    orig = Node.__init__
    m = MLP()
    seen = []
    # a hook of our own, registered first, runs before trace's closing hook: fc2 is still open
    m.fc2.register_forward_hook(lambda mod, args, out: seen.append(STATE.scope.qualname))
    with tg.viz.trace(m):
        assert Node.__init__ is orig and STATE.scope is None
        m(tg.randn(2, 12))
    assert seen == ["MLP.fc2"]  # the innermost open scope while fc2 runs
    assert Node.__init__ is orig and STATE.scope is None
    for mod in m.modules():
        assert len(mod._forward_pre_hooks) == 0
        assert len(mod._forward_hooks) == (1 if mod is m.fc2 else 0)
    # a forward that raises inside the trace leaves no open scope behind
    with pytest.raises(RuntimeError, match="linear"):
        with tg.viz.trace(m):
            m(tg.randn(2, 5))
    assert STATE.scope is None and Node.__init__ is orig
    with pytest.raises(TypeError, match="trace: expected"):
        tg.viz.trace(object())


def test_trace_nested_scopes_are_tagged():
    m = MLP()
    x = tg.randn(3, 12, requires_grad=True)
    with tg.viz.trace(m):
        y = m(x)
    s = tg.viz.scope_of(y.grad_fn)
    assert s.qualname == "MLP.fc2" and s.type_name == "Linear" and s.path == "fc2"
    assert s.parent.qualname == "MLP"
    z = y * 2
    assert tg.viz.scope_of(z.grad_fn) is None


def _unrolled_rnn(T, H=4, use_scope=True):
    tg.manual_seed(1)
    Wx = tg.randn(3, H, requires_grad=True)
    Wh = (tg.randn(H, H) * 0.5).requires_grad_()
    xs = tg.randn(T, 2, 3)
    h = tg.zeros(2, H, requires_grad=True)
    for t in range(T):
        if use_scope:
            with tg.viz.scope("step"):
                h = (xs[t] @ Wx + h @ Wh).tanh()
        else:
            h = (xs[t] @ Wx + h @ Wh).tanh()
    return (h * h).sum(), {"Wx": Wx, "Wh": Wh}


def test_repeated_scopes_fold_with_count_and_recurrent_edge():
    loss, params = _unrolled_rnn(9)
    g = tg.viz.draw(loss, params={"Wx": params["Wx"], "Wh": params["Wh"]})
    src = g.source
    # step 1 reads the leaf h0, steps 2..9 read the previous step: those 8 fold into one box
    assert g.stats["folded"] == [{"label": "step", "count": 8, "kind": "scope"}]
    assert "×8</B>" in src and "next step ×7" in src
    assert g.stats["ops"] == 9 * 4 + 2 and g.stats["drawn_ops"] == 4 + 4 + 2
    wh = re.search(r"(v\d+) \[[^\n]*<B>Wh</B>", src).group(1)
    # the shared weight feeds the folded box through one edge marked ×8 (and step 1 directly)
    assert re.search(wh + r' -> v\d+ \[label="×8"', src)
    assert len(re.findall("^  " + wh + " -> ", src, re.M)) == 2
    full = tg.viz.draw(loss, collapse=False)
    assert full.stats["drawn_ops"] == 38 and full.stats["folded"] == []
    assert full.source.count("subgraph cluster_") == 9
    assert tg.viz.draw(loss, collapse=10).stats["folded"] == []  # needs 10 repeats


def test_repeated_identical_blocks_fold():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 6)

        def forward(self, x):
            return self.lin(x).tanh() + x

    net = nn.Sequential(nn.Linear(4, 6), *[Block() for _ in range(5)], nn.Linear(6, 2))
    with tg.viz.trace(net):
        loss = net(tg.randn(3, 4)).sum()
    g = tg.viz.draw(loss, model=net)
    assert [f["count"] for f in g.stats["folded"]] == [5]
    assert "1 … 5</B> (Block)" in g.source and "×5" in g.source


def _tanh_chain(steps):
    """sum(h) after h <- tanh(h * w) ``steps`` times from a leaf x: 2·steps + 1 ops in one
    chain, every step reading the same leaf w.  Returns (loss, w)."""
    x = tg.randn(3, requires_grad=True)
    w = tg.randn(3, requires_grad=True)
    h = x
    for _ in range(steps):
        h = (h * w).tanh()
    return h.sum(), w


def test_20000_op_chain_draws_and_folds():
    loss, _ = _tanh_chain(10000)  # 20,001 ops
    g = tg.viz.draw(loss)
    assert g.stats["ops"] == 20001
    assert g.stats["drawn_ops"] < 12
    assert g.stats["folded"][0]["kind"] == "chain" and g.stats["folded"][0]["count"] >= 9990
    assert "next step" in g.source
    # without folding, the node limit keeps the ops nearest the output and summarises the rest
    lim = tg.viz.draw(loss, collapse=False, max_nodes=100)
    assert lim.stats["drawn_ops"] == 100
    hidden = 20001 - 100
    assert lim.stats["hidden_by_limit"] == hidden
    # the 100 kept ops are the ones nearest the output: sum, then tanh, mul, tanh, ... (99),
    # i.e. 50 tanh and 49 mul; everything else is in the summary
    counts = {"tanh": 10000 - 50, "mul": 10000 - 49}
    assert f"… {hidden:,} more ops folded" in lim.source
    assert f"{counts['mul']:,} mul, {counts['tanh']:,} tanh" in lim.source
    assert "summary -> v" in lim.source
    assert len(_node_lines(lim.source)) < 110
    # everything, no limit: every op drawn, still no recursion
    full = tg.viz.draw(loss, collapse=False, max_nodes=None)
    assert full.stats["drawn_ops"] == 20001
    assert sum(1 for ln in _node_lines(full.source) if "rounded" in ln) == 20001


def test_multi_output_edges_are_labelled():
    x = tg.randn(5, 2, 3)
    lstm = nn.LSTM(3, 4)
    out, (h, c) = lstm(x)
    loss = out.sum() + h.sum() + c.sum()
    src = tg.viz.draw(loss, model=lstm).source
    assert "[0]" in src and "[1]" in src and "[2]" in src
    assert "weight_hh_l0" in src


def _nan_graph():
    x = tg.tensor([-1.0, 4.0], dtype=tg.float64, requires_grad=True)
    w = tg.tensor([2.0, 3.0], dtype=tg.float64, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.sqrt()          # NaN at x = -1
        z = (y * w * y).sum()
    return x, w, y, z


def test_grad_flow_records_the_gradient_into_each_op():
    tg.manual_seed(2)
    x = tg.randn(4, 3, dtype=tg.float64)
    W = tg.randn(3, 5, dtype=tg.float64, requires_grad=True)
    h = x @ W
    a = h.tanh()
    loss = (a * a).sum()
    gh, ga = tg.grad(loss, [h, a], retain_graph=True)
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    assert flow.norm(h.grad_fn) == pytest.approx(np.linalg.norm(gh.data), rel=1e-12)
    assert flow.norm(a.grad_fn) == pytest.approx(np.linalg.norm(ga.data), rel=1e-12)
    assert flow.norm(loss.grad_fn) == pytest.approx(1.0)
    assert len(flow) == 4 and not flow.has_nonfinite()
    # hooks are gone after the block
    for n in (h.grad_fn, a.grad_fn, loss.grad_fn):
        assert not n.hooks


def test_grad_flow_without_outputs_hooks_the_next_backward():
    orig = engine.run_backward
    m, loss = _mlp_loss()
    with tg.viz.grad_flow() as flow:
        loss.backward()
    assert engine.run_backward is orig
    assert len(flow) == 5
    g = tg.viz.draw(loss, model=m, grads=flow)
    assert sum("‖g‖" in ln for ln in _node_lines(g.source)) == 5 + 4 + 1  # ops, params, output


def test_record_grad_norms_matches_context():
    m, loss = _mlp_loss()
    flow = tg.viz.record_grad_norms(loss)
    loss.backward()
    flow.remove()
    assert len(flow) == 5
    assert flow.norm(loss.grad_fn) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        tg.viz.record_grad_norms()


def test_nan_gradients_are_highlighted():
    x, w, y, z = _nan_graph()
    with tg.viz.grad_flow(z) as flow:
        z.backward()
    assert flow.has_nonfinite()
    assert math.isnan(flow.norm(y.grad_fn))
    g = tg.viz.draw(z, params={"x": x, "w": w}, grads=flow)
    src = g.source
    lines = _node_lines(src)
    sqrt_line = [ln for ln in lines if "<B>sqrt</B>" in ln][0]
    x_line = [ln for ln in lines if "<B>x</B>" in ln][0]
    for ln in (sqrt_line, x_line):
        assert "#ff2bd6" in ln and "NaN/inf gradient" in ln and 'penwidth="3"' in ln
    sum_line = [ln for ln in lines if "<B>sum</B>" in ln][0]
    assert "#ff2bd6" not in sum_line and "‖g‖ 1.00e+00" in sum_line
    assert "gradient norm" in src  # legend


def test_show_grads_without_flow_colours_leaves_only():
    m, loss = _mlp_loss()
    loss.backward()
    src = tg.viz.draw(loss, model=m, show_grads=True).source
    assert sum("‖g‖" in ln for ln in _node_lines(src)) == 4 and "tg.viz.grad_flow" in src
    for ln in _node_lines(src):
        if "fc1.weight" in ln:
            n = np.linalg.norm(m.fc1.weight.grad.data)
            assert f"‖g‖ {n:.2e}" in ln


def test_folded_nodes_show_gradient_range():
    loss, _ = _unrolled_rnn(8)
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    src = tg.viz.draw(loss, grads=flow).source
    tanh = [ln for ln in _node_lines(src) if "<B>tanh</B>" in ln]
    assert len(tanh) == 2  # step 1 (reads the leaf h0) and the folded steps 2..8
    ranges = [re.search(r"‖g‖ (\d\.\d\de[-+]\d\d) … (\d\.\d\de[-+]\d\d)", ln) for ln in tanh]
    m = [r for r in ranges if r]
    assert len(m) == 1 and float(m[0].group(1)) < float(m[0].group(2))


def test_labels_are_escaped():
    a = tg.randn(2, requires_grad=True)
    b = (a * 2).sum()
    src = tg.viz.draw(b, params={'we<i>&"ght': a}, output_names=["<out>"]).source
    assert "we&lt;i&gt;&amp;&quot;ght" in src and "&lt;out&gt;" in src
    if HAS_DOT:
        assert "<svg" in tg.viz.draw(b, params={'we<i>&"ght': a}).svg()


def test_bad_input_errors():
    with pytest.raises(TypeError, match="at least one output"):
        tg.viz.draw()
    with pytest.raises(TypeError, match="output 0 is ndarray"):
        tg.viz.draw(np.zeros(3))
    with pytest.raises(ValueError, match="does not require grad"):
        tg.viz.draw(tg.zeros(3))
    m, loss = _mlp_loss()
    with pytest.raises(ValueError, match="max_nodes"):
        tg.viz.draw(loss, max_nodes=0)
    with pytest.raises(ValueError, match="collapse"):
        tg.viz.draw(loss, collapse=1)
    with pytest.raises(TypeError, match="params"):
        tg.viz.draw(loss, params=[1, 2])
    with pytest.raises(ValueError, match="rankdir"):
        tg.viz.draw(loss, rankdir="XY")
    with pytest.raises(ValueError, match="cannot tell the format"):
        tg.viz.draw(loss).save("graph.xyz")
    with pytest.raises(TypeError, match="grads must be a GradFlow"):
        tg.viz.draw(loss, grads={"a": 1})
    with pytest.raises(TypeError, match="grad_flow: expected Tensors"):
        tg.viz.grad_flow(np.zeros(2))


def test_leaf_output_and_several_outputs():
    a = tg.randn(3, requires_grad=True)
    src = tg.viz.draw(a).source
    assert "<I>leaf</I>" in src and "<B>output</B>" in src
    b = a.exp()
    c = (b * 2).sum()
    g = tg.viz.draw(b, c, output_names=["b", "c"])
    assert "<B>b</B>" in g.source and "<B>c</B>" in g.source
    assert g.stats["ops"] == 3  # exp shared by both outputs, drawn once
    assert tg.viz.draw([b, c]).stats["ops"] == 3


def test_save_dot_without_graphviz(tmp_path, monkeypatch):
    m, loss = _mlp_loss()
    g = tg.viz.draw(loss, model=m)
    monkeypatch.delenv("TENSORGRAD_DOT", raising=False)
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    assert render.find_dot() is None
    p = g.save(tmp_path / "graph.dot")
    assert open(p).read() == g.source
    with pytest.raises(tg.viz.GraphvizNotFoundError) as e:
        g.save(tmp_path / "graph.svg")
    msg = str(e.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "conda" in msg
    assert g._repr_svg_() is None and "install Graphviz" in repr(g)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' not installed")
def test_render_svg_png_pdf(tmp_path):
    m, loss = _mlp_loss()
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    g = tg.viz.draw(loss, model=m, grads=flow)
    svg = open(g.save(tmp_path / "g.svg")).read()
    assert "<svg" in svg and "fc1.weight" in svg
    assert open(g.save(tmp_path / "sub" / "g.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert open(g.save(tmp_path / "g.pdf"), "rb").read(5) == b"%PDF-"
    assert "<svg" in g._repr_svg_()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' not installed")
def test_large_folded_graph_renders(tmp_path):
    loss, _ = _unrolled_rnn(200, use_scope=False)
    g = tg.viz.draw(loss)
    assert g.stats["drawn_ops"] <= 16 and g.stats["folded"][0]["count"] >= 190
    assert "<svg" in g.svg()


def test_plot_grad_flow(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m, loss = _mlp_loss()
    loss.backward()
    rows = tg.viz.grad_norms(m)
    assert [r[0] for r in rows] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert rows[0][1] == pytest.approx(np.linalg.norm(m.fc1.weight.grad.data))
    assert rows[0][2] == pytest.approx(np.abs(m.fc1.weight.grad.data).max())
    fig = tg.viz.plot_grad_flow(m, path=tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [r[0] for r in rows]
    plt.close(fig)
    # NaN and missing gradients are marked
    x, w, y, z = _nan_graph()
    z.backward()
    extra = tg.zeros(2, requires_grad=True)
    fig = tg.viz.plot_grad_flow({"x": x, "w": w, "unused": extra})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "NaN" in texts and "none" in texts
    plt.close(fig)


def test_alternating_sibling_modules_fold_as_pairs():
    layers = []
    for _ in range(6):
        layers += [nn.Linear(5, 5), nn.Sigmoid()]
    net = nn.Sequential(*layers, nn.Linear(5, 1))
    with tg.viz.trace(net):
        loss = net(tg.randn(4, 5)).sum()
    g = tg.viz.draw(loss, model=net)
    # layer 0 reads the constant input, so pairs (Linear 2, Sigmoid 3) ... (10, 11) repeat ×5
    assert g.stats["folded"] == [{"label": "Sequential.2 … Sequential.11", "count": 5,
                                  "kind": "scope"}]
    assert "<B>2 … 11</B> (Linear, Sigmoid)" in g.source
    assert g.stats["drawn_ops"] == 2 + 2 + 1 + 1  # layers 0-1, the folded pair, last linear, sum
    # the folded box nests the representative Linear and Sigmoid boxes
    box = g.source[g.source.index("<B>2 … 11</B>"):]
    assert box.index("<B>2</B> (Linear)") < box.index("<B>3</B> (Sigmoid)")


def test_shared_leaf_with_many_readers_is_drawn_next_to_each():
    loss, w = _tanh_chain(12)
    src = tg.viz.draw(loss, params={"w": w}, collapse=False).source
    copies = re.findall(r"^\s+(v\d+_v?\d+) \[[^\n]*<B>w</B>[^\n]*\(shared\)", src, re.M)
    assert len(copies) == 12
    for c in copies:  # each copy has exactly one edge, into its reader
        assert len(re.findall("^  " + c + " -> ", src, re.M)) == 1
    one = tg.viz.draw(loss, params={"w": w}, collapse=False, split_shared=None).source
    assert "(shared)" not in one
    wv = re.search(r"(v\d+) \[[^\n]*<B>w</B>", one).group(1)
    assert len(re.findall("^  " + wv + " -> ", one, re.M)) == 12


def test_drawing_and_recording_do_not_change_gradients():
    tg.manual_seed(3)
    W = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    x = tg.randn(5, 4, dtype=tg.float64)

    def f():
        return ((x @ W).sigmoid() ** 2).sum()
    ref = tg.grad(f(), [W])[0].data
    loss = f()
    tg.viz.draw(loss, params={"W": W})
    with tg.viz.grad_flow(loss) as flow:
        loss.backward(create_graph=True)  # hooks see Tensors here, not arrays
    np.testing.assert_allclose(W.grad.data, ref, rtol=1e-12)
    assert flow.norm(loss.grad_fn) == pytest.approx(1.0) and len(flow) == 4
    # a second backward (retained graph) records that pass's norms, not a running total
    W.grad = None
    flow2 = tg.viz.record_grad_norms(loss)
    loss.backward(gradient=tg.tensor(3.0, dtype=tg.float64), retain_graph=True)
    loss.backward(gradient=tg.tensor(2.0, dtype=tg.float64))
    flow2.remove()
    assert flow2.norm(loss.grad_fn) == pytest.approx(2.0)
    np.testing.assert_allclose(W.grad.data, 5 * ref, rtol=1e-12)


def test_trace_several_modules_and_root_false():
    m = MLP()
    crit = nn.MSELoss()
    x, y = tg.randn(4, 12), tg.randn(4, 3)
    with tg.viz.trace(m, crit):
        loss = crit(m(x), y)
    src = tg.viz.draw(loss, model=m).source
    assert "<B>MSELoss</B>" in src and "<B>MLP</B>" in src and "<B>fc1</B> (Linear)" in src
    with tg.viz.trace(m, root=False):
        out = m(x).sum()
    src = tg.viz.draw(out, model=m).source
    assert "<B>MLP</B>" not in src and "<B>fc2</B> (Linear)" in src
    with pytest.raises(TypeError, match="at least one Module"):
        tg.viz.trace()


def test_trace_refuses_modules_without_hooks_and_scope_covers_them():
    class Base:
        def __call__(self, *a):
            return self.forward(*a)

    class Lin(Base):
        def __init__(self):
            self.w = tg.randn(3, 2, requires_grad=True)

        def forward(self, x):
            return x @ self.w

    class Net(Base):
        def __init__(self):
            self.a, self.b = Lin(), Lin()
            self.b.w = tg.randn(2, 2, requires_grad=True)

        def named_modules(self):
            return [("", self), ("a", self.a), ("b", self.b)]

        def forward(self, x):
            with tg.viz.scope("a"):
                h = self.a(x).tanh()
            with tg.viz.scope("b"):
                return self.b(h)

    net = Net()
    orig = Base.__call__
    with pytest.raises(TypeError, match=r"trace: Net \(the model\) has no forward hooks.*"
                                        r"tg\.viz\.scope"):
        tg.viz.trace(net)
    assert Base.__call__ is orig and STATE.scope is None
    # objects without hooks get their boxes from named scopes instead
    with tg.viz.scope("Net"):
        out = net(tg.randn(4, 3))
    y = out.sum()
    assert tg.viz.scope_of(y.grad_fn) is None and tg.viz.scope_of(out.grad_fn).qualname == "Net.b"
    src = tg.viz.draw(y).source
    assert "<B>a</B>" in src and "<B>b</B>" in src and "<B>Net</B>" in src


def test_plot_grad_flow_on_shared_axes_keeps_both_ranges():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a = tg.randn(3, requires_grad=True)
    b = tg.randn(3, requires_grad=True)
    (a * 1e-9).sum().backward()
    (b * 10.0).sum().backward()
    fig, axes = plt.subplots(1, 2, sharey=True)
    tg.viz.plot_grad_flow({"a": a}, ax=axes[0])
    tg.viz.plot_grad_flow({"b": b}, ax=axes[1])
    lo, hi = axes[0].get_ylim()
    assert lo < 1e-9 * np.sqrt(3) and hi > 10 * np.sqrt(3)
    plt.close(fig)
