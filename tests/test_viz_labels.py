"""Labels of drawn graphs: inputs that need no gradient ("const") show their shape when the
graph can tell it, and only then."""
import re

import numpy as np

import tensorgrad as tg


def _const_labels(src):
    return [re.sub(r"<[^>]+>", " ", m).split() for m in
            re.findall(r'label=<(<FONT[^\n]*?>const.*?</FONT>)>', src)]


def test_the_input_batch_shows_its_shape():
    tg.manual_seed(0)
    lin = tg.nn.Linear(12, 3).double()
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 12)))
    loss = (lin(x) ** 2).mean()
    assert _const_labels(tg.viz.draw(loss).source) == [["const", "(5,", "12)", "·", "float64"]]
    src = tg.viz.draw(loss, show_dtype=False).source
    assert _const_labels(src) == [["const", "(5,", "12)"]]
    # backward frees the saved values the shape is read from; a GradFlow kept it
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    assert _const_labels(tg.viz.draw(loss, grads=flow).source)[0][:3] == ["const", "(5,", "12)"]
    assert _const_labels(tg.viz.draw(loss).source) == [["const"]]


def test_no_shape_is_made_up():
    w = tg.randn(4, 3, requires_grad=True)
    target = tg.randn(4, 3)
    loss = ((w - target) ** 2).sum()  # sub keeps nothing that tells the target's shape
    assert _const_labels(tg.viz.draw(loss).source) == [["const"]]
