"""Recurrent layers and a character-level LSTM language model: tensorgrad vs PyTorch CPU.

    python bench/bench_rnn.py [--rounds N] [--quick] [--only TEXT]

Layers: ``nn.LSTM`` / ``nn.GRU``, T = 50, batch 32, input 64, hidden 128 (one layer, two
layers, bidirectional), float32, forward + backward of the whole output against a fixed
upstream gradient, the same weights and input in both frameworks. Language model: embedding
(65 symbols → 64) → 2-layer LSTM (hidden 256, dropout 0.2 between the layers) → linear head,
cross-entropy over T = 64 steps of B = 32 sequences, gradient clipping at 1 and one Adam step.
Each framework runs in its own fresh process per round, alternating (bench/harness.py).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Case, framework, script_main  # noqa: E402

T_, B_, I_, H_ = 50, 32, 64, 128
LAYERS = {  # key: (label, class, kwargs)
    "lstm": ("LSTM T50 B32 64→128", "LSTM", {}),
    "gru": ("GRU T50 B32 64→128", "GRU", {}),
    "lstm_2layer": ("LSTM 2 layers, T50 B32 64→128", "LSTM", {"num_layers": 2}),
    "gru_2layer": ("GRU 2 layers, T50 B32 64→128", "GRU", {"num_layers": 2}),
    "lstm_bidir": ("LSTM bidirectional, T50 B32 64→128", "LSTM", {"bidirectional": True}),
    "gru_bidir": ("GRU bidirectional, T50 B32 64→128", "GRU", {"bidirectional": True}),
    "lstm_2layer_bidir": ("LSTM 2 layers bidirectional, T50 B32 64→128", "LSTM",
                          {"num_layers": 2, "bidirectional": True}),
}
V_, E_, HL_, TL_, BL_ = 65, 64, 256, 64, 32

CASES = ([Case(k, v[0], 1.2) for k, v in LAYERS.items()]
         + [Case("char_lm", "char-LSTM LM training step: 2×256, T64, B32, dropout 0.2, Adam",
                 1.2)])


def init_params(T, model, seed=0):
    """Deterministic U(-1/√H, 1/√H)-like values for every parameter, in registration order."""
    import numpy as np
    rng = np.random.default_rng(seed)
    with T.no_grad():
        for prm in model.parameters():
            shape = tuple(prm.shape)
            k = 1 / np.sqrt(shape[-1]) if len(shape) > 1 else 0.1
            prm.copy_(T.tensor(rng.uniform(-k, k, shape).astype(np.float32)))


def _layer(key, fw):
    import numpy as np
    _, cls, kw = LAYERS[key]
    T = framework(fw)
    m = getattr(T.nn, cls)(I_, H_, **kw)
    init_params(T, m)
    rng = np.random.default_rng(1)
    D = 2 if kw.get("bidirectional") else 1
    x = T.tensor(rng.standard_normal((T_, B_, I_)).astype(np.float32), requires_grad=True)
    g = T.tensor(rng.standard_normal((T_, B_, D * H_)).astype(np.float32))

    def step():
        m.zero_grad()
        x.grad = None
        out, _ = m(x)
        out.backward(g)
        return out
    return step


for _k in LAYERS:
    globals()[_k] = (lambda key: lambda fw: _layer(key, fw))(_k)


def char_lm_model(T):
    nn = T.nn

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V_, E_)
            self.rnn = nn.LSTM(E_, HL_, num_layers=2, dropout=0.2, batch_first=True)
            self.head = nn.Linear(HL_, V_)

        def forward(self, ids):
            out, _ = self.rnn(self.embed(ids))
            return self.head(out)
    return CharLM()


def char_lm(fw):
    import numpy as np
    T = framework(fw)
    model = char_lm_model(T)
    init_params(T, model)
    opt = T.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(2)
    ids = rng.integers(0, V_, (BL_, TL_ + 1))
    x, y = T.tensor(ids[:, :-1]), T.tensor(ids[:, 1:].reshape(-1))
    F = T.nn.functional
    model.eval()
    with T.no_grad():  # the check value: the loss without dropout, before any step
        check = F.cross_entropy(model(x).reshape(-1, V_), y).item()
    model.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, V_), y)
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    step.check = check
    return step


if __name__ == "__main__":
    script_main(__file__, CASES, "Recurrent (bench/bench_rnn.py), float32, forward+backward")
