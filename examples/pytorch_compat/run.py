"""Run one of these PyTorch programs with PyTorch, or with tensorgrad by changing ONLY its
import lines.

    python examples/pytorch_compat/run.py --torch vae.py --epochs 2
    python examples/pytorch_compat/run.py --tg vae.py --epochs 2

``--torch`` runs the file as it is. ``--tg`` rewrites its ``import torch...`` / ``from torch...``
lines (``import torch`` -> ``import tensorgrad as torch``, ``import torch.nn as nn`` ->
``import tensorgrad.nn as nn``, ``from torch.utils.data import X`` ->
``from tensorgrad.utils.data import X``, ...), checks that no other line changed, and runs the
result as ``__main__``. ``--show`` prints the rewritten lines instead of running.
A script path without a directory is looked up next to this file.
"""
from __future__ import annotations

import os
import re
import sys

_IMPORT_AS = re.compile(r"^(\s*)import torch((?:\.\w+)*)(\s+as\s+\w+)?(\s*(?:#.*)?)$")
_FROM = re.compile(r"^(\s*)from torch((?:\.\w+)*) import (.+)$")


def swap_line(line: str) -> str:
    """The tensorgrad spelling of one import line (other lines come back unchanged)."""
    m = _IMPORT_AS.match(line)
    if m:
        indent, sub, alias, rest = m.groups()
        if not sub and not alias:
            return f"{indent}import tensorgrad as torch{rest}"
        if sub and not alias:  # `import torch.nn` binds `torch`: keep that binding
            return f"{indent}import tensorgrad as torch; import tensorgrad{sub}{rest}"
        return f"{indent}import tensorgrad{sub}{alias}{rest}"
    m = _FROM.match(line)
    if m:
        indent, sub, names = m.groups()
        return f"{indent}from tensorgrad{sub} import {names}"
    return line


def swap_imports(source: str) -> tuple[str, list[tuple[str, str]]]:
    """Rewrite every torch import line; return the new source and the (old, new) line pairs.
    Raises ValueError if a line that is not an import would change (it can't, by
    construction; the check is what the tests rely on)."""
    out, changed = [], []
    for line in source.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        new = swap_line(body)
        if new != body:
            if not re.match(r"^\s*(import|from)\s+torch\b", body):
                raise ValueError(f"swap_imports: would change a non-import line: {body!r}")
            changed.append((body, new))
        out.append(new + line[len(body):])
    return "".join(out), changed


def _resolve(script):
    if os.path.exists(script):
        return script
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), script)
    if os.path.exists(here):
        return here
    raise SystemExit(f"run.py: no such script {script!r}")


def run(script, argv, framework):
    """Run ``script`` with ``sys.argv = [script, *argv]`` as ``__main__``."""
    path = _resolve(script)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if framework == "tg":
        source, _ = swap_imports(source)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    code = compile(source, path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})


def main(args=None):
    args = list(sys.argv[1:] if args is None else args)
    if len(args) < 2 or args[0] not in ("--torch", "--tg", "--show"):
        raise SystemExit(__doc__)
    mode, script, rest = args[0], args[1], args[2:]
    if mode == "--show":
        with open(_resolve(script), encoding="utf-8") as f:
            for old, new in swap_imports(f.read())[1]:
                print(f"- {old}\n+ {new}")
        return
    run(script, rest, mode[2:])


if __name__ == "__main__":
    main()
