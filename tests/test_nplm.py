"""The neural probabilistic language model: loss and gradients against the same model in
PyTorch (float64), examples with <EOS> padding, and embeddings that group words used alike."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.nn import functional as F
from tensorgrad.text import NPLM, Vocab, nplm_perplexity, train_nplm
from tensorgrad.text.nplm import nplm_examples

ANIMALS, FOODS, PLACES = ["cat", "dog", "horse", "cow", "sheep"], ["bread", "apple", "rice",
                                                                   "corn"], ["field", "barn"]


def _grammar(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = rng.integers(3)
        a, f, p = (str(rng.choice(g)) for g in (ANIMALS, FOODS, PLACES))
        out.append([["the", a, "eats", "the", f], ["a", a, "sleeps", "in", "the", p],
                    ["the", f, "is", "in", "the", p]][k])
    return out


def test_examples_pad_with_eos():
    v = Vocab.build([["a", "b", "c"]])
    ctx, tgt = nplm_examples([["a", "b", "c"], ["zz"]], v, 2)
    e, a, b, c, u = v.eos_id, v["a"], v["b"], v["c"], v.unk_id
    assert ctx.tolist() == [[e, e], [e, a], [a, b], [e, e]] and tgt.tolist() == [a, b, c, u]
    with pytest.raises(ValueError, match="corpus is empty"):
        nplm_examples([[]], v, 2)


@pytest.mark.parametrize("direct", [True, False])
def test_loss_and_gradients_match_torch(direct):
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    m = NPLM(11, context_size=3, embedding_dim=4, hidden_size=5, direct=direct).double()
    ctx = np.array([[1, 2, 2], [0, 10, 3], [2, 2, 2]])
    tgt = np.array([4, 2, 2])
    loss = F.cross_entropy(m(ctx), tg.tensor(tgt))
    loss.backward()
    P = {k: torch.tensor(v.detach().numpy(), requires_grad=True)
         for k, v in m.named_parameters()}
    x = torch.nn.functional.embedding(torch.tensor(ctx), P["embed.weight"]).reshape(3, -1)
    h = torch.tanh(x @ P["hidden.weight"].T + P["hidden.bias"])
    y = h @ P["out.weight"].T + P["out.bias"]
    if direct:
        y = y + x @ P["direct.weight"].T
    lt = torch.nn.functional.cross_entropy(y, torch.tensor(tgt))
    lt.backward()
    assert loss.item() == pytest.approx(lt.item(), rel=1e-13)
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), P[k].grad.numpy(), rtol=1e-11, atol=1e-14)
    with pytest.raises(ValueError, match=r"contexts of shape \(batch, 3\)"):
        m(np.zeros((2, 4), np.int64))


def test_training_groups_words_used_alike():
    sents = _grammar()
    m = train_nplm(sents, context_size=3, embedding_dim=16, hidden_size=32, epochs=12, lr=1e-2,
                   progress=False, seed=0)
    assert m.history[-1] < m.history[0]
    # the grammar's entropy per word is ~0.69 nats; a perplexity near 2 means it was learned
    assert nplm_perplexity(m, _grammar(300, seed=1)) < 2.2
    kv = m.wv
    assert "<EOS>" not in kv and len(kv) == len(m.vocab) - 2

    def mean_cos(g1, g2):
        return np.mean([kv.similarity(a, b) for a in g1 for b in g2 if a != b])
    assert mean_cos(ANIMALS, ANIMALS) > mean_cos(ANIMALS, FOODS) + 0.2
    assert mean_cos(FOODS, FOODS) > mean_cos(FOODS, ANIMALS) + 0.2


def test_bad_input():
    with pytest.raises(ValueError, match="corpus is empty"):
        train_nplm([], progress=False)
    with pytest.raises(ValueError, match="min_count=5 leaves no vocabulary"):
        train_nplm([["a", "b"]], min_count=5, progress=False)
    with pytest.raises(ValueError, match="optimizer must be"):
        train_nplm([["a", "b"]], optimizer="lbfgs", progress=False)
    with pytest.raises(ValueError, match="context_size must be positive"):
        NPLM(5, context_size=0)
