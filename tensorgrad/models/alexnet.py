"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), as torchvision's ``alexnet`` — the
one-GPU variant of "One weird trick for parallelizing convolutional neural networks"
(Krizhevsky 2014): 64-192-384-256-256 channels, no local response normalization,
61,100,840 parameters with 1000 classes.

Five convolutions with ReLU (11×11 stride 4, then 5×5, then three 3×3) and three 3×3/stride-2
max pools, an ``AdaptiveAvgPool2d((6, 6))`` so any input of at least 63×63 works, and a
classifier 9216-4096-4096-num_classes with dropout.
"""
from __future__ import annotations

from .. import nn
from ..ops import flatten
from ._utils import (check_images, default_init_, deferred_init, init_deferred, load_weights,
                     uninitialized_linear)

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    min_size = 63  # smaller inputs leave nothing for the last 3x3 pool

    def __init__(self, num_classes=1000, dropout=0.5, in_channels=3):
        super().__init__()
        self.in_channels = int(in_channels)
        self.features = nn.Sequential(
            nn.Conv2d(self.in_channels, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            uninitialized_linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            uninitialized_linear(4096, 4096),
            nn.ReLU(inplace=True),
            uninitialized_linear(4096, num_classes),
        )
        if not init_deferred():
            default_init_(self)  # PyTorch's default layer initialization, as torchvision

    def forward(self, x):
        check_images("AlexNet", x, self.in_channels, min_size=self.min_size)
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


def alexnet(*, weights=None, progress=True, **kwargs):
    """AlexNet with PyTorch's default layer initialization (as torchvision). ``weights``: a
    safetensors path or a state dict with torchvision's keys."""
    if weights is None:
        return AlexNet(**kwargs)
    with deferred_init():
        model = AlexNet(**kwargs)
    return load_weights(model, weights, "alexnet")
