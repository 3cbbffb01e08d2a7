"""The containers of tg.nn (containers.py): list and dict behaviour, registration and names,
compared with PyTorch's where torch is installed."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn


def test_module_dict_and_parameter_dict_share_the_mapping_behaviour():
    md = nn.ModuleDict([("a", nn.Linear(2, 2)), ("b", nn.Tanh())])
    pd = nn.ParameterDict({"w": tg.ones(2), "v": nn.Parameter(tg.zeros(3))})
    for d, first, second in ((md, "a", "b"), (pd, "w", "v")):
        assert list(d) == [first, second] and first in d and len(d) == 2
        assert list(d.keys()) == [first, second] and list(d.items())[0][0] == first
        popped = d.pop(first)
        assert list(d.keys()) == [second] and first not in d
        d.update({first: popped})
        assert list(d.keys()) == [second, first]
        del d[second]
        assert len(d) == 1
        d.clear()
        assert len(d) == 0 and list(d.values()) == []
    pd["z"] = np.arange(3.0)  # a plain array becomes a trainable Parameter
    assert isinstance(pd["z"], nn.Parameter) and pd["z"].requires_grad
    assert [k for k, _ in pd.named_parameters()] == ["z"]
    with pytest.raises(TypeError, match="not a Module"):
        md["x"] = 3
    with pytest.raises(NotImplementedError, match="ModuleDict has no forward"):
        md(tg.ones(1))


def test_lists_index_and_renumber():
    pl = nn.ParameterList([tg.zeros(2), tg.ones(1)])
    assert pl[-1].shape == (1,) and len(pl) == 2
    pl[0] = tg.full((4,), 2.0)
    assert pl[0].shape == (4,) and isinstance(pl[0], nn.Parameter)
    with pytest.raises(IndexError, match="ParameterList: index 2 is out of range"):
        pl[2] = tg.ones(1)
    ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)])
    del ml[0]
    assert [k for k, _ in ml.named_parameters()] == ["1.weight", "1.bias"]
    ml.insert(0, nn.Linear(3, 1))
    assert [k for k, _ in ml.named_children()] == ["0", "1", "2"]
    assert ml[0].in_features == 3 and isinstance(ml[1:][0], nn.ReLU)
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        ml(tg.ones(1))
    s = nn.Sequential(nn.Linear(2, 3)) + nn.Sequential(nn.ReLU(), nn.Linear(3, 1))
    s.insert(-1, nn.Tanh())
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Tanh", "Linear"]
    assert s(tg.ones(5, 2)).shape == (5, 1)
    with pytest.raises(IndexError, match="insert"):
        s.insert(9, nn.ReLU())


def test_containers_match_torch_names_and_reprs():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    g = nn.ModuleDict({"enc": nn.Sequential(nn.Linear(2, 3), nn.ReLU()),
                       "heads": nn.ModuleList([nn.Linear(3, 1), nn.Linear(3, 2)])})
    t = tnn.ModuleDict({"enc": tnn.Sequential(tnn.Linear(2, 3), tnn.ReLU()),
                        "heads": tnn.ModuleList([tnn.Linear(3, 1), tnn.Linear(3, 2)])})
    assert list(g.state_dict()) == list(t.state_dict())
    assert repr(g) == repr(t)
    gp = nn.ParameterDict({"a": tg.ones(2, 3)})
    tp = tnn.ParameterDict({"a": tnn.Parameter(torch.ones(2, 3))})
    assert [k for k, _ in gp.named_parameters()] == [k for k, _ in tp.named_parameters()]
    g.load_state_dict(t.state_dict())
    np.testing.assert_array_equal(g["heads"][1].weight.data,
                                  t["heads"][1].weight.detach().numpy())
