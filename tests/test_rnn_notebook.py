"""Executes notebooks/09_sequence_models.ipynb top to bottom (nbclient, kernel python3,
cwd = notebooks/) and checks a few of the numbers it prints."""
import re

from _notebooks import run_notebook


def test_sequence_models_notebook_runs():
    text = run_notebook("09_sequence_models.ipynb").text
    # hand-written BPTT equals autograd
    diffs = [float(v) for v in re.findall(r"max \|numpy BPTT - tensorgrad\| = ([0-9.e+-]+)", text)]
    assert len(diffs) == 5 and max(diffs) < 1e-10
    # gated cells solve the recall task, the plain RNN does not
    acc = dict(re.findall(r"^(rnn|gru|lstm)\s*: accuracy over the last 30 steps ([0-9.]+)", text, re.M))
    assert float(acc["gru"]) > 0.9 and float(acc["lstm"]) > 0.9 and float(acc["rnn"]) < 0.7
    # the character model beats the unigram baseline
    uni = float(re.search(r"unigram baseline: validation perplexity ([0-9.]+)", text).group(1))
    ppl = re.search(r"validation perplexity per epoch: \[([0-9., ]+)\]", text).group(1)
    assert float(ppl.split(",")[-1]) < 0.75 * uni
