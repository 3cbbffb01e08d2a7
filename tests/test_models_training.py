"""The Fashion-MNIST training script (bench/fashion_mnist_cnn.py) on a tiny subset (tensorgrad;
its torch path is exercised by bench/fashion_mnist_compare.py, not here: torch is slow in a
process where tensorgrad has run), the one-cycle schedule and the augmentation."""
import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "bench", "fashion_mnist_cnn.py")


def _script():
    spec = importlib.util.spec_from_file_location("fashion_mnist_cnn", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _data_or_skip():
    import tensorgrad as tg
    try:
        tg.data.load_fashion_mnist("test", n=1)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


def test_schedule_and_augmentation():
    s = _script()
    lrs = [s.one_cycle(t, 100, 0.1) for t in range(100)]
    assert lrs[0] == pytest.approx(0.1 / 15) and max(lrs) == pytest.approx(0.1)
    assert int(np.argmax(lrs)) == 14 and lrs[-1] < 0.001
    rng = np.random.default_rng(0)
    x = np.zeros((500, 1, 6, 6), np.float32)
    x[:, :, 2:4, 2:4] = 1.0
    out = s.shift_and_flip(x, rng, pad=2, fill=-1.0)
    assert out.shape == x.shape and out.sum(axis=(1, 2, 3)).min() >= -32
    centers = np.array([np.argwhere(o[0] == 1).mean(0) for o in out])
    assert len(np.unique(centers[:, 0])) == 5  # vertical shifts -2..2 all occur


@pytest.mark.parametrize("model,framework", [("lenet5", "tg"), ("resnet", "tg")])
def test_training_script_runs(model, framework, tmp_path):
    _data_or_skip()
    s = _script()
    out = str(tmp_path / "r.json")
    args = s.parse(["--model", model, "--framework", framework, "--epochs", "2",
                    "--train-subset", "1024", "--test-subset", "200", "--no-progress",
                    "--threads", "1",
                    "--batch-size", "64", "--lr", "0.1", "--depth", "8", "--widths", "4", "8",
                    "--out", out])
    res = s.run(args)
    h = res["history"]
    assert res["framework"] == framework and len(h) == 2
    assert h[1]["train_loss"] < h[0]["train_loss"] < 2.5  # it learns
    assert 0.0 <= res["final_test_acc"] <= 1.0
    assert res["augment"] == ("shift-flip" if model == "resnet" else "none")
    assert os.path.exists(out)
