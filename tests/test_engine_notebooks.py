"""Execute the engine notebooks top to bottom (nbclient, kernel python3, cwd = notebooks/)."""
import pytest
from _notebooks import run_notebook


@pytest.mark.parametrize("name", ["00_autograd_basics.ipynb", "05_gradient_checking.ipynb"])
def test_notebook_runs(name):
    text = run_notebook(name, timeout=180).text
    if name.startswith("05"):
        assert "flagged: ['fc2.weight']" in text
        assert "-> OK" in text
