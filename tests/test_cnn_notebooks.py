"""Execute the chapter-8 notebooks on classic CNNs, transfer learning and data augmentation
(quick settings: TG_NOTEBOOK_QUICK=1, nbclient, cwd = notebooks/) and check what they print."""
import os
import re
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"


# committed with the outputs of a full run: their pictures and figures matter to the reader
WITH_OUTPUTS = {"08b_classic_cnns.ipynb", "08c_transfer_learning.ipynb",
                "08d_data_augmentation.ipynb"}


def _committed_text(name):
    """What the committed notebook printed in its full run (the outputs kept in the file)."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert text, f"{name}: committed without the outputs of its full run"
    return text


def _run(name):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("sklearn")
    try:
        import tensorgrad as tg
        tg.data.load_fashion_mnist("test", n=1)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    if name not in WITH_OUTPUTS:
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
            f"{name}: commit notebooks without outputs"
    assert (NB_DIR / name).stat().st_size < 1_500_000
    for c in nb.cells:  # the quick run below replaces them
        if c.cell_type == "code":
            c.outputs = []
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    env = dict(os.environ, TG_NOTEBOOK_QUICK="1", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    client.execute(env=env)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else None
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def test_classic_cnns_notebook():
    text = _run("08b_classic_cnns.ipynb")
    for row in ("(6, 28, 28)             4,704       456", "(16, 10, 10)            1,600     2,416",
                "(120,)                    120    48,120", "Total params: 62,006"):
        assert row in text
    assert "resnet18      11,689,512" in text and "resnet50      25,557,032" in text
    assert "(1, 192, 28, 28) -> (1, 256, 28, 28)" in text
    assert "120.4M multiplications" in text and "12.4M" in text
    assert "block(a) == a: True" in text
    acc = float(re.search(r"LeNet-5 test accuracy ([0-9.]+)", text).group(1))
    assert 0.2 < acc <= 1.0  # one quick epoch on 2,000 images: well above chance (0.1)
    for name in ("plain-8", "plain-14", "resnet-8", "resnet-14"):
        errs = re.search(name + r"\s+training error by epoch: ([0-9. ]+)", text).group(1)
        assert all(0 <= float(e) <= 1 for e in errs.split())


def test_transfer_learning_notebook():
    text = _run("08c_transfer_learning.ipynb")
    assert "['conv1', 'bn1', 'layer1.0', 'layer2.0', 'fc']" in text
    assert "cached features: (150, 64)" in text
    assert "cache hit equals the first pass: True" in text
    m = re.search(r"from scratch ([0-9.]+), frozen trunk \+ new head ([0-9.]+), fine-tuned "
                  r"([0-9.]+)", text)
    assert m and all(0.0 <= float(v) <= 1.0 for v in m.groups())
    assert "trainable at the end: ['layer1.0', 'layer2.0', 'fc']" in text


def test_data_augmentation_notebook():
    text = _run("08d_data_augmentation.ipynb")
    assert "'all of the above': (8, 1, 28, 28)" in text
    ev = [float(v) for v in re.search(r"colour eigenvalues: \[([^\]]+)\]", text).group(1).split()]
    assert ev == sorted(ev, reverse=True) and ev[0] > 10 * ev[2]
    for line in ("without augmentation: train accuracy", "with augmentation:    train accuracy",
                 "10-crop", "-> ensemble of 3:"):
        assert line in text


# ---- the committed full runs: what they printed meets the chapter's goals ------------------
def _has_picture(name):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    return any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))


def test_committed_classic_cnns_run():
    text = _committed_text("08b_classic_cnns.ipynb")
    acc = float(re.search(r"LeNet-5 test accuracy ([0-9.]+) after 6 epochs", text).group(1))
    assert acc >= 0.89  # LeNet-5 on all of Fashion-MNIST
    err = {name: [float(e) for e in errs.split()] for name, errs in re.findall(
        r"((?:plain|resnet)-\d+)\s+training error by epoch: ([0-9. ]+)", text)}
    assert set(err) == {"plain-8", "plain-20", "plain-32", "resnet-8", "resnet-20", "resnet-32"}
    # He et al.'s Figure 6: the deep plain nets train worse, the deep ResNets better
    assert err["plain-32"][-1] > err["plain-8"][-1] and err["resnet-32"][-1] < err["resnet-8"][-1]
    assert err["plain-20"][-1] > err["resnet-20"][-1] and err["plain-32"][-1] > err["resnet-32"][-1]
    assert "13 conv + 3 fc layers, total params 138,357,544" in text
    assert _has_picture("08b_classic_cnns.ipynb")


def test_committed_data_augmentation_run():
    text = _committed_text("08d_data_augmentation.ipynb")
    without = float(re.search(r"without augmentation: train accuracy [0-9.]+, test accuracy "
                              r"([0-9.]+)", text).group(1))
    with_ = float(re.search(r"with augmentation:    train accuracy [0-9.]+, test accuracy "
                            r"([0-9.]+)", text).group(1))
    assert with_ > without + 0.01  # 10 % of Fashion-MNIST: augmentation helps
    central, ten = (float(v) for v in re.search(r"central crop ([0-9.]+), 10-crop ([0-9.]+)",
                                                text).groups())
    assert central == with_ and 0.8 < ten <= 1
    members = re.search(r"members: ([0-9. ]+) -> ensemble of 3: ([0-9.]+)", text)
    assert float(members.group(2)) >= max(float(v) for v in members.group(1).split())
    assert _has_picture("08d_data_augmentation.ipynb")


def test_committed_transfer_learning_run():
    text = _committed_text("08c_transfer_learning.ipynb")
    assert "task B: 1500 training images ([300, 300, 300, 300, 300] per class)" in text
    scratch, frozen, tuned = (float(v) for v in re.search(
        r"from scratch ([0-9.]+), frozen trunk \+ new head ([0-9.]+), fine-tuned ([0-9.]+)",
        text).groups())
    assert tuned > scratch > 0.8 and frozen > 0.8  # 5 % of task B: pre-training helps
    assert "transfer beats training from scratch: True" in text
