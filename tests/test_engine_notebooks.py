"""Execute the engine notebooks top to bottom (nbclient, kernel python3, cwd = notebooks/)."""
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

HERE = os.path.dirname(os.path.abspath(__file__))
NB_DIR = os.path.join(os.path.dirname(HERE), "notebooks")


@pytest.mark.parametrize("name", ["00_autograd_basics.ipynb", "05_gradient_checking.ipynb"])
def test_notebook_runs(name):
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": NB_DIR}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    if name.startswith("05"):
        assert "flagged: ['fc2.weight']" in text
        assert "-> OK" in text
