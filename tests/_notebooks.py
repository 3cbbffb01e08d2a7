"""Run a notebook of notebooks/ top to bottom, as the notebook tests do.

``run_notebook(name)`` executes it with nbclient (kernel python3, working directory notebooks/),
fails the test on the first error output (naming it), and returns what it printed and drew.
Tests that use it skip when nbformat/nbclient are not installed.
"""
import os
from types import SimpleNamespace

import pytest

NB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")


def run_notebook(name, timeout=300, quick=False, clean=True, env=None):
    """Execute ``notebooks/name``; ``quick`` sets TG_NOTEBOOK_QUICK=1 (the notebooks' small
    settings), ``clean`` first checks that it is committed without outputs, ``env`` adds
    environment variables for the kernel. Returns ``.text`` (stream outputs), ``.images``
    (PNG count), ``.outputs`` and ``.nb``."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if clean:
        assert all(not c.get("outputs") for c in code), f"{name}: commit notebooks without outputs"
    kernel_env = dict(os.environ, **(env or {}))
    if quick:
        kernel_env["TG_NOTEBOOK_QUICK"] = "1"
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": NB_DIR}})
    client.execute(env=kernel_env)
    outputs = [o for c in code for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"{name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    return SimpleNamespace(
        nb=nb, outputs=outputs,
        text="".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"),
        images=sum("image/png" in o.get("data", {}) for o in outputs))
