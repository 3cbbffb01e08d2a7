"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
recognition"), in two forms.

The modern variant (default) is the network of the course's digit-recognition example:
conv 5×5 (6 filters) → ReLU → max pool 2×2 → conv 5×5 (16) → ReLU → max pool 2×2 → flatten
(16·5·5 = 400) → fc 120 → ReLU → fc 84 → ReLU → fc ``num_classes``. On a 32×32×3 input the
layers hold 456, 2,416, 48,120, 10,164 and 850 parameters (62,006 in all); each convolution
has (f·f·n_C_prev + 1)·n_C parameters.

``original=True`` follows the 1998 paper more closely: tanh activations and 2×2 average
pooling ("subsampling"), with the non-linearity applied after each pool as in the paper (its
trainable subsampling coefficients, the partial C3 connection table and the RBF output layer
are left out).

The fully connected head is fixed-size: it needs 32×32 inputs (pad 28×28 MNIST-like images by
2 pixels on each side, e.g. ``tg.vision.transforms.Pad(2)``, as LeCun et al. did).
"""
from __future__ import annotations

from .. import nn
from ..ops import flatten
from ._utils import check_images, load_weights

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """``features`` (two conv + pool stages) and ``classifier`` (three fully connected
    layers)."""

    input_size = (32, 32)

    def __init__(self, num_classes=10, in_channels=1, original=False):
        super().__init__()
        self.in_channels = int(in_channels)
        self.original = bool(original)
        if original:
            self.features = nn.Sequential(
                nn.Conv2d(self.in_channels, 6, kernel_size=5), nn.AvgPool2d(2, 2), nn.Tanh(),
                nn.Conv2d(6, 16, kernel_size=5), nn.AvgPool2d(2, 2), nn.Tanh())
            act = nn.Tanh
        else:
            self.features = nn.Sequential(
                nn.Conv2d(self.in_channels, 6, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2),
                nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2))
            act = nn.ReLU
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), act(), nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        check_images("LeNet5", x, self.in_channels, size=self.input_size)
        return self.classifier(flatten(self.features(x), 1))


def lenet5(*, weights=None, num_classes=10, in_channels=1, original=False):
    """**tg** LeNet-5 for 32×32 images (``in_channels=1`` greyscale by default; the course's
    table uses ``in_channels=3``). ``original=True``: tanh + average pooling."""
    return load_weights(LeNet5(num_classes, in_channels, original), weights, "lenet5")
