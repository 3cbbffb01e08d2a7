"""The newcomer's demo: python -m tensorgrad.demo --quick writes its pictures and reports."""
import os
import subprocess
import sys

import pytest

import tensorgrad as tg
from tensorgrad import demo
from tensorgrad.viz import render


def test_demo_quick_writes_its_files(tmp_path, capsys):
    out = tmp_path / "demo-out"
    rc = demo.main(["--quick", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "Gradient check" in text and "-> OK" in text
    files = {"model_graph.dot", "gradient_flow.png"}
    if render.find_dot() is not None:
        files |= {"model_graph.svg", "gradient_flow_graph.svg"}
    for f in files:
        p = out / f
        assert p.exists() and p.stat().st_size > 500, f
        assert str(p) in text  # the demo prints where each file went
    dot = (out / "model_graph.dot").read_text()
    for name in ("conv1.weight", "conv2.bias", "fc.weight", "conv2d", "max_pool2d", "(Conv2d)",
                 "cross_entropy"):
        assert name in dot
    if render.find_dot() is not None:
        svg = (out / "gradient_flow_graph.svg").read_text()
        assert "<svg" in svg and "‖g‖" in svg
    assert (out / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_mlp_and_without_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TENSORGRAD_DOT", raising=False)
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    out = tmp_path / "o"
    assert demo.main(["--quick", "--model", "mlp", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "apt-get install graphviz" in text
    assert (out / "model_graph.dot").exists() and (out / "gradient_flow_graph.dot").exists()
    assert not (out / "model_graph.svg").exists()
    assert "fc1.weight" in (out / "model_graph.dot").read_text()


def test_demo_bad_arguments():
    with pytest.raises(SystemExit):
        demo.main(["--epochs", "0"])
    with pytest.raises(SystemExit):
        demo.main(["--model", "transformer"])


def test_demo_runs_as_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tensorgrad.demo", "--quick", "--no-progress",
                        "--out", str(tmp_path / "m")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "test accuracy" in r.stdout
    assert os.path.exists(tmp_path / "m" / "model_graph.dot")
