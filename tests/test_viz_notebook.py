"""notebooks/10_graphs.ipynb runs top to bottom and shows its graphs."""
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from tensorgrad.viz import render  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NB_DIR = os.path.join(os.path.dirname(HERE), "notebooks")
NB = os.path.join(NB_DIR, "10_graphs.ipynb")


def test_graphs_notebook_executes():
    nb = nbformat.read(NB, as_version=4)
    # committed clean: no outputs
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": NB_DIR}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the course's dJ/dz = (a - y)/m check and the vanishing-gradient comparison ran
    assert "formula (a - y)/m" in text and "sigmoid" in text and "ReLU + He" in text
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert pngs  # the gradient-flow bar charts
    if render.find_dot() is not None:
        assert len(svgs) >= 10
        assert any("NaN/inf gradient" in o["data"]["image/svg+xml"] for o in svgs)
