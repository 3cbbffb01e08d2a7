"""notebooks/08_12_object_detection.ipynb runs top to bottom in quick mode (TG_NOTEBOOK_QUICK=1,
nbclient, cwd = notebooks/), walks the chapter in order and draws detections."""
import os
import re

import pytest

from _notebooks import NB_DIR, run_notebook

NB = os.path.join(NB_DIR, "08_12_object_detection.ipynb")


def test_object_detection_notebook_runs_in_quick_mode():
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(NB, as_version=4)
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    order = ["Classification with localization", "Sliding-window", "Intersection over union",
             "Non-max suppression", "Anchor boxes", "YOLO"]
    pos = [next(i for i, h in enumerate(headings) if key in h) for key in order]
    assert pos == sorted(pos), headings                          # the chapter's order
    run = run_notebook("08_12_object_detection.ipynb", quick=True)
    text = run.text
    assert "quick mode" in text
    by_hand = float(re.search(r"by hand: ([0-9.]+)", text).group(1))
    assert abs(by_hand - 150 / 1200) < 1e-6                      # the IoU example
    assert "box_iou: [[0.125" in text
    diff = float(re.search(r"largest difference: ([0-9.e+-]+)", text).group(1))
    diff64 = float(re.search(r"in float64: largest difference ([0-9.e+-]+)", text).group(1))
    assert diff < 1e-4 and diff64 < 1e-6                         # conv sliding windows
    hand = re.search(r"by hand: (\[[0-9, ]*\])", text).group(1)
    assert hand == re.search(r"V.nms:\s+(\[[0-9, ]*\])", text).group(1)
    assert "target volume: (300, 8, 8, 3, 8)" in text
    assert re.search(r"VOC mAP@0.5 = [0-9.]+", text) and "COCO mAP@[.5:.95]" in text
    assert run.images >= 12                                       # detections drawn
