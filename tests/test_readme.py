"""The README's example runs as printed, and its set-up commands are the ones CI runs."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert ns["loss"].item() > 0
    assert all(p.grad is not None for p in ns["model"].parameters())


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = re.search(r"```bash\n(.*?)\n(.*?)\n```", readme, re.S).groups()
    test_cmd = test.split("#")[0].strip()
    assert test_cmd in ci.splitlines()
    assert 'pip install' in install and '.[dev]' in install and '.[dev]' in ci
