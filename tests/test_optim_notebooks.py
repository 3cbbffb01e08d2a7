"""Run the optimization and ML-strategy notebooks top to bottom (nbclient, kernel python3,
working directory notebooks/) and check what they print."""
import re

from _notebooks import run_notebook


def _run(name):
    run = run_notebook(name, timeout=180)
    return run.text, run.images


def test_06_optimizers_notebook():
    text, images = _run("06_optimizers.ipynb")
    assert images >= 6  # EWA, paths, mini-batch, optimizers, schedules, decay, history
    acc = float(re.search(r"test accuracy ([0-9.]+)", text).group(1))
    assert acc >= 0.95, text[-500:]
    assert "50x too small" in text


def test_07_ml_strategy_notebook():
    text, images = _run("07_ml_strategy.ipynb")
    assert images >= 2
    assert "1 / 1.5 / 10                 -> data mismatch" in text
    assert re.search(r"data mismatch\s+[0-9.]+ %  <- largest", text), text
    assert "BEST" in text and "fails params <= 50000" in text
    assert "10 trials, minimize value" in text
