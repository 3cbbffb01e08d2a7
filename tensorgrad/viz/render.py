"""Turning DOT text into pictures with the Graphviz ``dot`` program (no Python bindings needed)."""
from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["GraphvizNotFoundError", "find_dot", "render_bytes", "FORMATS"]

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg",
           ".ps": "ps", ".eps": "eps", ".gif": "gif", ".json": "json"}

INSTALL_HINT = (
    "Rendering a graph needs the Graphviz 'dot' program, which was not found on PATH.\n"
    "Install it with one of:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  Fedora:         sudo dnf install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  Windows:        winget install graphviz  (then add its bin folder to PATH)\n"
    "Or set TENSORGRAD_DOT to the path of the dot executable. Without it, graph.source "
    "(DOT text) and graph.save('graph.dot') still work.")


class GraphvizNotFoundError(RuntimeError):
    """Raised when a picture is requested and the ``dot`` executable is missing."""


def find_dot():
    """Path of the ``dot`` executable, or None."""
    env = os.environ.get("TENSORGRAD_DOT")
    if env:
        return env if os.path.exists(env) else shutil.which(env)
    return shutil.which("dot")


def render_bytes(source: str, fmt: str, timeout: float = 300.0) -> bytes:
    """Run ``dot -T<fmt>`` on ``source`` and return the output bytes."""
    dot = find_dot()
    if dot is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    args = [dot, f"-T{fmt}"]
    if fmt == "png":
        args.append("-Gdpi=96")
    try:
        res = subprocess.run(args, input=source.encode("utf-8"), capture_output=True,
                             timeout=timeout, check=False)
    except OSError as e:  # e.g. a broken TENSORGRAD_DOT
        raise GraphvizNotFoundError(
            f"could not run Graphviz at {dot!r}: {e}\n{INSTALL_HINT}") from e
    if res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz 'dot -T{fmt}' failed (exit {res.returncode}): {err[:2000]}")
    return res.stdout
