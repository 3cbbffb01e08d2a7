"""PyTorch programs run unchanged: each program in examples/pytorch_compat/ is a plain PyTorch
program; it runs once with PyTorch and once with tensorgrad — the same file with only its import
lines rewritten (examples/pytorch_compat/run.py) — in two subprocesses at the same time, on small
data for a few steps, from the same (numpy-drawn) initial weights, and the two runs must reach
the same losses (float32 programs to ~1e-4, float64 ones to ~1e-7; the VAE, which samples its
noise from each framework's own generator, to 2 % after training and exactly before).

Programs that need a piece another part of issue #10 is building are marked xfail by a probe
that names the missing piece (and are not run); once the piece exists the probe passes and the
program must match PyTorch.
"""
import io
import json
import os
import subprocess
import sys
import tokenize

import numpy as np
import pytest

import tensorgrad as tg

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(os.path.dirname(HERE), "examples", "pytorch_compat")
sys.path.insert(0, PROGRAMS)
import run as compat  # noqa: E402  (examples/pytorch_compat/run.py)

sys.path.remove(PROGRAMS)


def _probe(fn):
    try:
        fn()
        return True
    except Exception:  # noqa: BLE001 - any failure means the piece isn't there yet
        return False


def _transformer():
    nn = tg.nn
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, 0.0), 1,
                                enable_nested_tensor=False)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    return enc(tg.zeros(3, 1, 4), mask)


PROBES = {
    "Tensor.t": lambda: tg.zeros(2, 3).t(),
    "Tensor.narrow": lambda: tg.zeros(4).narrow(0, 1, 2),
    "Tensor.new_zeros": lambda: tg.zeros(1).new_zeros(2, 3),
    "tg.multinomial": lambda: tg.multinomial(tg.ones(3), 1),
    "tg.randint(high, size)": lambda: tg.randint(5, (1, 1), dtype=tg.long),
    "device= on tg.tensor/tg.linspace": lambda: (tg.linspace(0, 1, 3, device=tg.device("cpu")),
                                                 tg.tensor(1.0, device=tg.device("cpu"))),
    "Module.to(tg.device)": lambda: tg.nn.Linear(1, 1).to(tg.device("cpu")),
    "F.smooth_l1_loss": lambda: tg.nn.functional.smooth_l1_loss(tg.zeros(2), tg.ones(2)),
    "nn.TransformerEncoder(Layer), nn.Transformer.generate_square_subsequent_mask":
        _transformer,
}
MISSING = {name for name, fn in PROBES.items() if not _probe(fn)}
WLM_NEEDS = ["Tensor.t", "Tensor.narrow", "Tensor.new_zeros", "tg.multinomial",
             "tg.randint(high, size)"]


def needs(*pieces):
    """xfail (not run) while a piece from another part of #10 is missing, naming it."""
    missing = [p for p in pieces if p in MISSING]
    return pytest.mark.xfail(bool(missing), run=False, strict=False,
                             reason=f"needs {', '.join(missing)} (another part of issue #10)")


def _run_both(tmp_path, script, args):
    """Run ``script`` with PyTorch and with tensorgrad at the same time; return both logs."""
    pytest.importorskip("torch")  # the reference run needs it
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    procs = {}
    for fw in ("torch", "tg"):
        log = tmp_path / f"{fw}.json"
        cmd = [sys.executable, os.path.join(PROGRAMS, "run.py"), f"--{fw}", script, *args,
               "--log", str(log)]
        work = tmp_path / fw
        work.mkdir()
        procs[fw] = (subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True), log)
    out = {}
    for fw, (p, log) in procs.items():
        text, _ = p.communicate(timeout=300)
        assert p.returncode == 0, f"{script} with {fw} failed:\n{text[-3000:]}"
        out[fw] = json.loads(log.read_text())
    return out["torch"], out["tg"]


def _close(got, want, rtol, what):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=rtol, atol=0, err_msg=what)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """28x28 uint8 images: scikit-learn's 8x8 digits enlarged 3x and padded."""
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = np.kron(d.images, np.ones((3, 3))) * (255 / 16)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    path = tmp_path_factory.mktemp("images") / "digits28.npz"
    np.savez(path, x_train=x[:1500], y_train=d.target[:1500], x_test=x[1500:],
             y_test=d.target[1500:])
    return str(path)


def test_programs_are_plain_pytorch_and_only_imports_change():
    names = sorted(f for f in os.listdir(PROGRAMS)
                   if f.endswith(".py") and f not in ("run.py", "compare_data.py"))
    assert len(names) >= 6
    for name in names:
        with open(os.path.join(PROGRAMS, name), encoding="utf-8") as f:
            src = f.read()
        code_names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(src).readline)
                      if tok.type == tokenize.NAME}
        assert "tensorgrad" not in code_names and "torch" in code_names, name
        new, changed = compat.swap_imports(src)
        assert changed and all(o.lstrip().startswith(("import torch", "from torch"))
                               for o, _ in changed), name
        old_lines, new_lines = src.splitlines(), new.splitlines()
        assert len(old_lines) == len(new_lines)
        diff = [(o, n) for o, n in zip(old_lines, new_lines) if o != n]
        assert diff == changed, name
    with open(os.path.join(PROGRAMS, "compare_data.py"), encoding="utf-8") as f:
        shared = {tok.string for tok in tokenize.generate_tokens(f.readline)
                  if tok.type == tokenize.NAME}
    assert not {"torch", "tensorgrad"} & shared  # the shared helpers use neither framework
    cases = {"import torch": "import tensorgrad as torch",
             "import torch.nn as nn": "import tensorgrad.nn as nn",
             "    import torch.nn.functional as F  # x": "    import tensorgrad.nn.functional as F  # x",
             "from torch import nn, optim": "from tensorgrad import nn, optim",
             "from torch.utils.data import DataLoader": "from tensorgrad.utils.data import DataLoader",
             "import torch.nn": "import tensorgrad as torch; import tensorgrad.nn",
             "import torchvision": "import torchvision",
             "x = torch.zeros(3)  # import torch": "x = torch.zeros(3)  # import torch"}
    for old, new in cases.items():
        assert compat.swap_line(old) == new


@needs("Module.to(tg.device)")
def test_mnist_cnn_adadelta_steplr(tmp_path, images):
    t, g = _run_both(tmp_path, "mnist_cnn.py",
                     ["--data", images, "--epochs", "2", "--train-size", "96",
                      "--test-size", "64", "--batch-size", "32", "--test-batch-size", "64",
                      "--widths", "4,8,32", "--dropout", "0", "0", "--no-shuffle",
                      "--init-seed", "0"])
    assert len(t["train_loss"]) == len(g["train_loss"]) == 6
    _close(g["train_loss"], t["train_loss"], 1e-4, "train loss per step")
    _close(g["test_loss"], t["test_loss"], 1e-4, "test loss per epoch")
    assert g["test_correct"] == t["test_correct"]
    assert g["lr"] == pytest.approx(t["lr"], rel=1e-15)
    assert t["train_loss"][-1] < t["train_loss"][0]


def test_vae(tmp_path, images):
    t, g = _run_both(tmp_path, "vae.py",
                     ["--data", images, "--epochs", "2", "--train-size", "256",
                      "--test-size", "128", "--batch-size", "32", "--hidden", "64",
                      "--latent", "8", "--no-shuffle", "--init-seed", "0", "--samples", "4"])
    _close(g["test_loss"][0], t["test_loss"][0], 1e-5, "evaluation before training")
    _close(g["test_loss"][-1], t["test_loss"][-1], 0.02, "evaluation after training")
    _close(g["train_loss"], t["train_loss"], 0.02, "training losses (own noise)")
    assert g["test_loss"][-1] < g["test_loss"][0] - 10
    assert g["sample_shape"] == t["sample_shape"] == [4, 784]
    assert 0 <= g["sample_range"][0] <= g["sample_range"][1] <= 1


@needs("F.smooth_l1_loss")
def test_polynomial_regression_with_custom_function(tmp_path):
    t, g = _run_both(tmp_path, "regression.py",
                     ["--max-batches", "300", "--lr", "0.05", "--degree", "3"])
    assert g["batches"] == t["batches"] < 300
    _close(g["loss"], t["loss"], 1e-4, "loss per batch")
    _close(g["input_grad_norm"], t["input_grad_norm"], 1e-4, "custom backward's input grads")
    _close(g["weight"] + g["bias"], t["weight"] + t["bias"], 1e-4, "learned polynomial")
    assert g["gradcheck"] and t["gradcheck"]


def test_time_sequence_prediction_lstm_cells_lbfgs(tmp_path):
    t, g = _run_both(tmp_path, "time_sequence_prediction.py",
                     ["--steps", "2", "--n", "8", "--length", "60", "--hidden", "12",
                      "--future", "10", "--max-iter", "8", "--init-seed", "0"])
    assert len(g["loss"]) == len(t["loss"]) > 8  # the same number of closure evaluations
    _close(g["loss"], t["loss"], 1e-7, "L-BFGS closure losses")
    _close(g["test_loss"], t["test_loss"], 1e-7, "test loss")
    assert g["prediction_shape"] == t["prediction_shape"] == [3, 69]
    assert g["loss"][-1] < 0.2 * g["loss"][0]


WLM_ARGS = ["--emsize", "16", "--nhid", "16", "--nlayers", "2", "--bptt", "8",
            "--batch_size", "4", "--eval_batch_size", "4", "--epochs", "2", "--dropout", "0",
            "--lr", "5", "--log-interval", "20", "--words", "8", "--init-seed", "0"]


def _check_wlm(t, g, rtol):
    assert len(g["train_loss"]) == len(t["train_loss"]) > 10
    _close(g["train_loss"], t["train_loss"], rtol, "training loss per batch")
    _close(g["val_loss"], t["val_loss"], rtol, "validation loss per epoch")
    _close(g["test_loss"], t["test_loss"], rtol, "test loss")
    assert g["lr"] == t["lr"] and g["vocab"] == t["vocab"]
    assert len(g["generated"]) == 8 and set(g["generated"]) <= set(g["vocab"])
    assert g["val_loss"][-1] < g["train_loss"][0]


@pytest.mark.parametrize("model", ["LSTM", "GRU"])
@needs(*WLM_NEEDS)
def test_word_language_model_rnn_and_generation(tmp_path, model):
    t, g = _run_both(tmp_path, "word_language_model.py",
                     ["--model", model, *WLM_ARGS, "--save", "model.pt"])
    _check_wlm(t, g, 1e-4)


@needs(*WLM_NEEDS, "nn.TransformerEncoder(Layer), nn.Transformer.generate_square_subsequent_mask")
def test_word_language_model_transformer_and_generation(tmp_path):
    t, g = _run_both(tmp_path, "word_language_model.py",
                     ["--model", "Transformer", "--nhead", "2", *WLM_ARGS, "--save",
                      "model.pt"])
    _check_wlm(t, g, 1e-3)


@needs("device= on tg.tensor/tg.linspace")
def test_learning_pytorch_with_examples(tmp_path):
    t, g = _run_both(tmp_path, "learning_pytorch_examples.py", ["--steps", "150"])
    assert set(g) == set(t) == {"tensors", "autograd", "function", "nn", "optim", "module",
                                "dynamic"}
    for name in t:
        assert "error" not in g[name], (name, g[name].get("error"))
        assert len(g[name]["loss"]) == 150
        _close(g[name]["loss"], t[name]["loss"], 1e-4, name)
        assert g[name]["loss"][-1] < g[name]["loss"][0]
