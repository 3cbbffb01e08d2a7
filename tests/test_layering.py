"""Imports only go downwards (docs/architecture.md): every import statement in the package,
module-level or inside a function, is checked against the layer table below; an import from
a lower layer into a higher one fails this test, naming the file, the line and both layers.
Also: no file of the package is longer than 600 lines, and no core class is patched at run
time (no assignment to an attribute of Tensor, Node or a module of the engine outside the
places that declare them)."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "tensorgrad"
KERNELS = ROOT / "kernels"

# (module prefix, layer); the longest matching prefix wins
LAYERS = [
    ("tensorgrad.kernels", 0), ("tensorgrad._state", 0),
    ("tensorgrad.device", 0), ("tensorgrad.dtypes", 0), ("tensorgrad.utils", 0),
    ("tensorgrad.utils.hooks", 0), ("tensorgrad._tensor_str", 0),
    ("tensorgrad.tensor", 1), ("tensorgrad.autograd", 1),
    ("tensorgrad.random", 1),  # generators hand their state out as a Tensor
    ("tensorgrad.ops", 2),
    # Jacobians/Hessians are built from ops (stack, zeros_like); only the package imports it
    ("tensorgrad.autograd.functional", 2),
    ("tensorgrad.nn", 3), ("tensorgrad.optim", 3), ("tensorgrad.data", 3),
    ("tensorgrad.utils.data", 3), ("tensorgrad.io", 3), ("tensorgrad.metrics", 3),
    ("tensorgrad.distributed", 3), ("tensorgrad.distributions", 3),
    ("tensorgrad.models", 4), ("tensorgrad.vision", 4),
    ("tensorgrad.text", 4), ("tensorgrad.train", 4), ("tensorgrad.viz", 4),
    ("tensorgrad.tune", 4), ("tensorgrad.tune_engines", 4), ("tensorgrad.strategy", 4),
    ("tensorgrad.demo", 4),
]
# check_gradients (autograd/check.py) is a tool over models: it may look at nn
EXEMPT = {"tensorgrad", "tensorgrad.autograd.check"}


def layer_of(mod):
    best = None
    for prefix, layer in LAYERS:
        if mod == prefix or mod.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return None if best is None else best[1]


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path, path.name == "__init__.py"
    for path in sorted(KERNELS.rglob("*.py")):
        rel = path.relative_to(KERNELS).with_suffix("")
        parts = ["tensorgrad", "kernels"] + [p for p in rel.parts if p != "__init__"]
        yield ".".join(parts), path, path.name == "__init__.py"


def _imports(mod, path, is_pkg):
    tree = ast.parse(path.read_text(), filename=str(path))
    package = mod if is_pkg else mod.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("tensorgrad"):
                    yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[:-(node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tensorgrad"):
                continue
            for a in node.names:  # `from . import ops` imports the submodule
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if layer_of(sub) is not None and a.name != "*" else target


def test_no_upward_imports():
    bad = []
    for mod, path, is_pkg in _modules():
        if mod in EXEMPT:
            continue
        mine = layer_of(mod)
        assert mine is not None, f"{mod} has no layer in tests/test_layering.py's table"
        for line, target in _imports(mod, path, is_pkg):
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target} "
                           f"(layer {theirs}) from layer {mine}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_file_over_600_lines():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in list(PKG.rglob("*.py")) +
            list(KERNELS.rglob("*.py")) if (n := len(p.read_text().splitlines())) > 600]
    assert not long, "files over 600 lines:\n" + "\n".join(long)


CORE = {"Tensor", "Node", "engine", "_node_mod", "Module", "Parameter"}


@pytest.mark.parametrize("where", ["tensorgrad"])
def test_no_run_time_patching_of_core_classes(where):
    """``Tensor.x = ...``, ``Node.__init__ = ...``, ``engine.run_backward = ...`` and
    ``setattr(Tensor, ...)`` outside ops/_registry.py (which binds the declared methods once)."""
    bad = []
    for path in PKG.rglob("*.py"):
        if path.name == "_registry.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) \
                        and t.value.id in CORE:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} assigns "
                               f"{t.value.id}.{t.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "setattr" and node.args \
                    and isinstance(node.args[0], ast.Name) and node.args[0].id in CORE:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} setattr on "
                           f"{node.args[0].id}")
    assert not bad, "run-time patching of core classes:\n" + "\n".join(bad)


def test_import_tensorgrad_leaves_numba_and_scipy_unloaded():
    """numba (and scipy, which it pulls in) load with the first kernel, not with the package:
    ~0.2 s of import time and ~30,000 objects that every full garbage collection of the
    process would otherwise scan, also in programs that never run a kernel."""
    import subprocess
    import sys
    code = ("import sys, tensorgrad as tg\n"
            "x = tg.randn(3, 4, requires_grad=True)\n"
            "(x * x).tanh().sum().backward()\n"
            "print(sorted(m for m in ('numba', 'llvmlite', 'scipy') if m in sys.modules))\n"
            "tg.nn.functional.relu(x)\n"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]", out
    assert out[1] == "True", out  # relu's kernel brought it in
