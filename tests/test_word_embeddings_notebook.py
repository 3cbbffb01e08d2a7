"""Execute notebooks/09b_word_embeddings.ipynb top to bottom in quick mode (nbclient, kernel
python3, cwd = notebooks/) and check the numbers it prints."""
import re
import shutil

import pytest

from _notebooks import run_notebook


def test_word_embeddings_notebook_runs():
    if shutil.which("bible") is None:
        pytest.skip("Debian bible-kjv-text / bible-kjv not installed")
    pytest.importorskip("sklearn")
    text = run_notebook("09b_word_embeddings.ipynb", timeout=600, quick=True).text
    assert "man : woman :: king : ?  -> [('queen'" in text
    assert "lookup == one-hot @ E: True" in text
    accs = [float(a) for a in re.findall(r"planted analogy accuracy ([0-9.]+)", text)]
    assert len(accs) == 4 and min(accs) >= 0.95
    assert "gradcheck: True" in text
    assert float(re.search(r"max \|kernel step - graph SGD step\| = ([0-9.e+-]+)", text)
                 .group(1)) < 1e-12
    assert "31102 verses, 791450 tokens" in text
    # nearest neighbours of a dozen common words are printed; spot-check the unambiguous ones
    nn = dict(re.findall(r"^\s*(\w+): ((?:\w+ \([0-9.]+\)(?:, )?){5})$", text, re.M))
    assert len(nn) >= 12
    assert "silver" in nn["gold"] and ("oxen" in nn["sheep"] or "goats" in nn["sheep"])
    proj = float(re.search(r"max projection after neutralize: ([0-9.e+-]+)", text).group(1))
    gap = float(re.search(r"max distance gap after equalize: ([0-9.e+-]+)", text).group(1))
    assert proj < 1e-8 and gap < 1e-8
