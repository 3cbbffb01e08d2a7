"""Execute notebooks/08_convolutions.ipynb top to bottom (nbclient, kernel python3,
cwd = notebooks/) and check the numbers it prints against the course notes (§8)."""
import re

from _notebooks import run_notebook


def test_convolutions_notebook_runs_and_reproduces_the_notes():
    text = run_notebook("08_convolutions.ipynb").text
    squash = re.sub(r"\s+", " ", text)
    # §8.1.1: the printed 4x4 output of the 6x6 vertical-edge example
    assert "[[ -5. -4. 0. 8.] [-10. -2. 2. 3.] [ 0. -2. -4. -7.] [ -3. -2. -3. -16.]]" in squash
    assert "same as F.conv2d: True" in text
    assert "91.0" in text                                    # §8.3 stride-2 first entry
    assert "280 parameters" in text                          # §8.4.2
    assert "(10, 37, 37)" in text and "(20, 17, 17)" in text and "(40, 7, 7)" in text  # §8.5
    assert "1960 features" in text
    assert "all match the formula" in text
    assert "1-D: (14,) -> (16, 10)" in text and "3-D: (14, 14, 14) -> (16, 10, 10, 10)" in text
    err = float(re.search(r"max \|learned - Sobel\| = ([0-9.e-]+)", text).group(1))
    assert err < 0.05
