"""Run the optimization and ML-strategy notebooks top to bottom (nbclient, kernel python3,
working directory notebooks/) and check what they print."""
import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NB_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def _run(name):
    nb = nbformat.read(NB_DIR / name, as_version=4)
    for cell in nb.cells:  # committed notebooks carry no outputs
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{name}: commit notebooks without outputs"
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    text = []
    images = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            images += "image/png" in out.get("data", {})
    return "".join(text), images


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
