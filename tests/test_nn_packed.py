"""tg.nn.utils.rnn against torch.nn.utils.rnn: packing, padding, their gradients, and
RNN/GRU/LSTM (deep, bidirectional, batch_first, with and without h_0) run on packed batches —
outputs, final states and every gradient equal PyTorch's in float64."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.nn.utils import rnn as R
from _torch import lazy, torch

TR = lazy("torch.nn.utils.rnn")
rng = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 3])])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch(enforce_sorted, lengths, batch_first):
    x = rng.standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    X, TX = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    p = R.pack_padded_sequence(X, lengths, batch_first, enforce_sorted)
    tp = TR.pack_padded_sequence(TX, lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(_np(p.data), _np(tp.data))
    np.testing.assert_array_equal(p.batch_sizes.numpy(), tp.batch_sizes.numpy())
    for a, b in ((p.sorted_indices, tp.sorted_indices), (p.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or (a.numpy() == b.numpy()).all())
    data, batch_sizes, _, _ = p                                   # a tuple, as torch's
    padded, ln = R.pad_packed_sequence(p, batch_first, padding_value=-2.0, total_length=6)
    tpadded, tln = TR.pad_packed_sequence(tp, batch_first, padding_value=-2.0, total_length=6)
    np.testing.assert_array_equal(_np(padded), _np(tpadded))
    np.testing.assert_array_equal(ln.numpy(), tln.numpy())
    w = rng.standard_normal(tuple(tpadded.shape))
    (padded * tg.tensor(w)).sum().backward()
    (tpadded * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(X.grad.numpy(), TX.grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_pack_sequence_and_back(batch_first, side):
    seqs = [rng.standard_normal((n, 3)) for n in (4, 2, 5)]
    got = R.pad_sequence([tg.tensor(s) for s in seqs], batch_first, 0.5, side)
    want = TR.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 0.5, side)
    np.testing.assert_array_equal(_np(got), _np(want))
    packed = R.pack_sequence([tg.tensor(s) for s in seqs], enforce_sorted=False)
    tpacked = TR.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(_np(packed.data), _np(tpacked.data))
    for s, back in zip(seqs, R.unpack_sequence(packed)):
        np.testing.assert_array_equal(_np(back), s)
    padded, ln = R.pad_packed_sequence(packed, batch_first=True)
    for s, back in zip(seqs, R.unpad_sequence(padded, ln, batch_first=True)):
        np.testing.assert_array_equal(_np(back), s)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first,with_h0", [(False, False), (True, True)])
def test_rnn_layers_on_packed_batches_match_torch(mode, bidirectional, batch_first, with_h0):
    H, L, D = 4, 2, 2 if bidirectional else 1
    tm = getattr(torch.nn, mode)(3, H, num_layers=L, bidirectional=bidirectional,
                                 batch_first=batch_first).double()
    m = getattr(tg.nn, mode)(3, H, num_layers=L, bidirectional=bidirectional,
                             batch_first=batch_first, dtype=tg.float64)
    m.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    lengths = [2, 5, 1, 3, 5]
    x = rng.standard_normal((5, 5, 3))
    X, TX = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hx = thx = None
    if with_h0:
        h0 = [rng.standard_normal((L * D, 5, H)) for _ in range(2 if mode == "LSTM" else 1)]
        hx = tuple(tg.tensor(a) for a in h0) if mode == "LSTM" else tg.tensor(h0[0])
        thx = tuple(torch.tensor(a) for a in h0) if mode == "LSTM" else torch.tensor(h0[0])
    out, st = m(R.pack_padded_sequence(X, lengths, batch_first, enforce_sorted=False), hx)
    tout, tst = tm(TR.pack_padded_sequence(TX, lengths, batch_first, enforce_sorted=False), thx)
    assert isinstance(out, R.PackedSequence)
    np.testing.assert_allclose(_np(out.data), _np(tout.data), rtol=0, atol=1e-12)
    states = st if mode == "LSTM" else (st,)
    tstates = tst if mode == "LSTM" else (tst,)
    for a, b in zip(states, tstates):
        np.testing.assert_allclose(_np(a), _np(b), rtol=0, atol=1e-12)
    w = rng.standard_normal(tuple(tout.data.shape))
    loss = (out.data * tg.tensor(w)).sum() + sum((s * s).sum() for s in states)
    tloss = (tout.data * torch.tensor(w)).sum() + sum((s * s).sum() for s in tstates)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(X.grad.numpy(), TX.grad.numpy(), rtol=0, atol=1e-11)
    for (name, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=0, atol=1e-10,
                                   err_msg=name)


def test_packing_errors():
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_padded_sequence(tg.zeros(3, 2, 1), [1, 3])
    with pytest.raises(RuntimeError, match="every length must be in 1..3"):
        R.pack_padded_sequence(tg.zeros(3, 2, 1), [4, 1])
    with pytest.raises(ValueError, match="expected 2 lengths"):
        R.pack_padded_sequence(tg.zeros(3, 2, 1), [3, 2, 1])
    with pytest.raises(TypeError, match="PackedSequence"):
        R.pad_packed_sequence(tg.zeros(3, 2))
    p = R.pack_sequence([tg.ones(3, 1), tg.ones(2, 1)])
    with pytest.raises(ValueError, match="total_length"):
        R.pad_packed_sequence(p, total_length=2)
    assert tg.nn.utils.rnn.PackedSequence is R.PackedSequence
