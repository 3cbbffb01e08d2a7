"""tg.load on hostile files (crafted headers and generated mutations) raises only LoadError;
tg.save through symlinks, after a killed save, and refusing whole modules; torch.load's
keywords."""
import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import io as tgio


def _raw(path, header_bytes, data=b"", n=None):
    path.write_bytes((len(header_bytes) if n is None else n).to_bytes(8, "little")
                     + header_bytes + data)


def _meta(tree_json):
    return json.dumps({"__metadata__": {"tensorgrad": tree_json}}).encode()


DEEP = "[" * 200_000 + "]" * 200_000
CRAFTED = {
    "int key node": _meta('{"version":1,"tree":{"t":"dict","items":[[5,{"t":"none"}]]}}'),
    "list key node": _meta('{"version":1,"tree":{"t":"dict","items":[[[1],{"t":"none"}]]}}'),
    "dict key node": _meta('{"version":1,"tree":{"t":"dict","items":[[{"t":"dict","items":[]},'
                           '{"t":"none"}]]}}'),
    "unhashable tensor key": _meta('{"version":1,"tree":{"t":"tensor","k":[1]}}'),
    "metadata value not a string": json.dumps({"__metadata__": {"tensorgrad": 5}}).encode(),
    "metadata a list": json.dumps({"__metadata__": [1]}).encode(),
    "spec a list": _meta("[1, 2]"),
    "version a list": _meta('{"version":[1],"tree":null}'),
    "int too long": _meta('{"version":1,"tree":{"t":"int","v":"' + "9" * 5000 + '"}}'),
    "float not a string": _meta('{"version":1,"tree":{"t":"float","v":3}}'),
    "items a triple": _meta('{"version":1,"tree":{"t":"dict","items":[[1,2,3]]}}'),
    "deeply nested header": ('{"a": ' + DEEP + "}").encode(),
    "deeply nested metadata": _meta('{"version":1,"tree":' + DEEP + "}"),
    "deeply nested tree": _meta('{"version":1,"tree":' + '{"t":"list","v":[' * 3000
                                + '{"t":"none"}' + "]}" * 3000 + "}"),
    "100-dim shape": json.dumps({"x": {"dtype": "F32", "shape": [1] * 100,
                                       "data_offsets": [0, 4]}}).encode(),
    "2**70 dim with a zero": json.dumps({"x": {"dtype": "F32", "shape": [0, 2 ** 70],
                                               "data_offsets": [0, 0]}}).encode(),
    "2**70 elements": json.dumps({"x": {"dtype": "F32", "shape": [2 ** 70],
                                        "data_offsets": [0, 4 * 2 ** 70]}}).encode(),
    "2**62 x 4": json.dumps({"x": {"dtype": "F32", "shape": [2 ** 62, 4],
                                   "data_offsets": [0, 2 ** 66]}}).encode(),
    "dtype a list": json.dumps({"x": {"dtype": ["F32"], "shape": [1],
                                      "data_offsets": [0, 4]}}).encode(),
    "negative offset": json.dumps({"x": {"dtype": "F32", "shape": [1],
                                         "data_offsets": [-4, 0]}}).encode(),
    "float shape": json.dumps({"x": {"dtype": "F32", "shape": [1.0],
                                     "data_offsets": [0, 4]}}).encode(),
    "overlapping": json.dumps({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                               "y": {"dtype": "F32", "shape": [1],
                                     "data_offsets": [2, 6]}}).encode(),
    "entry an int": json.dumps({"x": 5}).encode(),
    "infinite number": b'{"a": 1e999999}',
    "bad utf-8": b"{" + b"\xff" * 10 + b"}",
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_headers_raise_load_error(tmp_path, name):
    p = tmp_path / "evil.safetensors"
    _raw(p, CRAFTED[name], b"\0" * 8)
    with pytest.raises(tgio.LoadError, match=r"evil\.safetensors"):
        tg.load(p)


def test_huge_header_length_and_truncations(tmp_path):
    p = tmp_path / "t.safetensors"
    _raw(p, b"{}", n=2 ** 64 - 1)
    with pytest.raises(tgio.LoadError, match="header claims"):
        tg.load(p)
    tg.save({"w": tg.randn(5, 5), "n": [1, 2.5, "x"]}, p)
    raw = p.read_bytes()
    for cut in range(0, len(raw), 7):
        p.write_bytes(raw[:cut])
        with pytest.raises(tgio.LoadError):
            tg.load(p)


def test_generated_mutations_only_ever_raise_load_error(tmp_path):
    """Mutate a valid file 1,500 ways (flipped bytes, JSON punctuation, deletions, nesting
    insertions, with and without a consistent length field): each load either succeeds or
    raises LoadError."""
    good = tmp_path / "good.safetensors"
    tg.save({"w": tg.randn(3, 4), "opt": {"state": {0: {"step": 3.0, "m": np.arange(4.0)}},
                                          "lr": [0.1, (1, 2)]}, "s": "x"}, good)
    raw = good.read_bytes()
    hlen = int.from_bytes(raw[:8], "little")
    rng = random.Random(0)
    p = tmp_path / "m.safetensors"
    loaded = failed = 0
    for _ in range(1500):
        b = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            j = rng.randrange(8, 8 + hlen)  # mostly the header: where the parsing happens
            op = rng.random()
            if op < 0.4:
                b[j] = rng.randrange(256)
            elif op < 0.7:
                b[j] = ord(rng.choice('0123456789[]{}",:-e.tvk'))
            elif op < 0.85:
                del b[j:j + rng.randint(1, 20)]
            else:
                b[j:j] = rng.choice(["[", "{", '"', "1", "-1", "1e308", ", ", "99999999999"]
                                    ).encode() * rng.randint(1, 60)
        if rng.random() < 0.7:
            b[:8] = max(hlen + len(b) - len(raw), 0).to_bytes(8, "little")
        p.write_bytes(bytes(b))
        try:
            tg.load(p)
            loaded += 1
        except tgio.LoadError:
            failed += 1
    assert failed > 1000 and loaded + failed == 1500


def test_save_through_a_symlink_writes_its_target(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "weights.safetensors"
    tg.save({"v": tg.ones(2)}, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(os.path.relpath(target, tmp_path))
    tg.save({"v": tg.zeros(3)}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert tg.load(target)["v"].numpy().tolist() == [0.0, 0.0, 0.0]
    assert tg.load(link)["v"].numpy().tolist() == [0.0, 0.0, 0.0]
    chain = tmp_path / "chain.safetensors"
    chain.symlink_to(link)  # a link to a link
    tg.save({"v": tg.full((1,), 7.0)}, chain)
    assert chain.is_symlink() and link.is_symlink()
    assert tg.load(target)["v"].numpy().tolist() == [7.0]
    dangling = tmp_path / "new.safetensors"
    dangling.symlink_to(real_dir / "created.safetensors")
    tg.save({"v": tg.ones(1)}, dangling)  # as open() would: the target is created
    assert dangling.is_symlink() and (real_dir / "created.safetensors").is_file()
    assert sorted(os.listdir(real_dir)) == ["created.safetensors", "weights.safetensors"]


def test_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    tg.save({"v": tg.ones(2)}, path)
    code = textwrap.dedent(f"""
        import os, tensorgrad as tg
        from tensorgrad import io as tgio
        real = tgio._array_bytes
        n = []
        def dying(arr):
            n.append(1)
            if len(n) == 2:
                os._exit(9)  # killed midway through writing
            return real(arr)
        tgio._array_bytes = dying
        tg.save({{"a": tg.ones(1000), "b": tg.ones(1000)}}, {str(path)!r})
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert r.returncode == 9, r.stderr.decode()
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.safetensors.")
    assert tg.load(path)["v"].numpy().tolist() == [1.0, 1.0]  # the old file is intact
    # a temp file of a live process (a save in progress elsewhere) and one for another path
    live = tmp_path / f".ckpt.safetensors.{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.safetensors.999999999.x.tmp"
    other.write_bytes(b"x")
    tg.save({"v": tg.zeros(2)}, path)
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".tmp")) == \
        sorted([live.name, other.name])
    assert tg.load(path)["v"].numpy().tolist() == [0.0, 0.0]


def test_whole_modules_and_optimizers_are_refused():
    model = tg.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear; save its state_dict\(\).*model\.state_dict"):
        tg.save(model, "never-written.safetensors")
    with pytest.raises(TypeError, match=r"SGD; save its state_dict"):
        tg.save({"opt": tg.optim.SGD(model.parameters(), lr=0.1)}, "never.safetensors")
    assert not os.path.exists("never-written.safetensors")


def test_torch_load_keywords(tmp_path):
    p = tmp_path / "w.safetensors"
    tg.save({"w": tg.ones(2)}, p)
    for loc in ("cpu", "cpu:0", tg.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s, None):
        for wo in (True, False, None):
            assert tg.load(p, map_location=loc, weights_only=wo)["w"].numpy().tolist() == [1, 1]
    for bad in ("cuda", "cuda:1", "mps", {"cpu": "cuda:0"}, 0):
        with pytest.raises(RuntimeError, match="CPU only"):
            tg.load(p, map_location=bad)
    with pytest.raises(TypeError, match="mmap=True"):
        tg.load(p, mmap=True)
    with pytest.raises(TypeError, match="pickle_module"):
        tg.load(p, pickle_module=None)
    assert tg.load(p, mmap=False)["w"].shape == (2,)
