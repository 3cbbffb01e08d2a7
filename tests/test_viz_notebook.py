"""notebooks/10_graphs.ipynb runs top to bottom and shows its graphs."""
from _notebooks import run_notebook
from tensorgrad.viz import render


def test_graphs_notebook_executes():
    run = run_notebook("10_graphs.ipynb", timeout=180)
    text, outputs = run.text, run.outputs
    # the course's dJ/dz = (a - y)/m check and the vanishing-gradient comparison ran
    assert "formula (a - y)/m" in text and "sigmoid" in text and "ReLU + He" in text
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert run.images  # the gradient-flow bar charts
    if render.find_dot() is not None:
        assert len(svgs) >= 10
        assert any("NaN/inf gradient" in o["data"]["image/svg+xml"] for o in svgs)
