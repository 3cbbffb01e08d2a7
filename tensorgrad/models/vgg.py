"""VGG (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image
Recognition"), laid out as torchvision's ``torchvision.models.vgg``.

The whole family follows one rule: 3×3 "same" convolutions (stride 1, padding 1) with ReLU,
in blocks separated by 2×2 max pools of stride 2 that halve height and width, while the
channel count doubles from block to block (64, 128, 256, 512, 512). VGG-16 has 13 convolutions
and 3 fully connected layers — 16 layers with weights, 138,357,544 parameters, most of them
(102,764,544) in the first fully connected layer.

State dict keys match torchvision's (``features.0.weight`` … ``classifier.6.bias``), so a
torchvision VGG saved with ``safetensors.torch.save_file(m.state_dict(), path)`` loads with
``vgg16(weights=path)`` and gives the same outputs. The style-transfer code reads activations
out of ``model.features`` by index, as with torchvision.
"""
from __future__ import annotations

from .. import nn
from ..ops import flatten
from ._utils import (check_images, default_init_, deferred_init, init_deferred,
                     init_like_torchvision, load_weights, uninitialized_linear)

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

# torchvision's configurations: channel counts of the 3x3 convolutions, "M" = 2x2 max pool
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The ``features`` Sequential of a VGG from a configuration list (torchvision's
    indexing: conv, [bn,] relu per entry; a max pool per "M")."""
    layers = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(c, int(v), kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(v)))
            layers.append(nn.ReLU(inplace=True))
            c = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (convolutions and pools) -> ``avgpool`` (AdaptiveAvgPool2d((7, 7)), so any
    input of at least 32×32 works) -> flatten -> ``classifier`` (4096-4096-num_classes with
    dropout), as torchvision's."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        lin = uninitialized_linear  # drawn once below (or loaded), not twice
        self.classifier = nn.Sequential(
            lin(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            lin(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            lin(4096, num_classes))
        first = next(iter(features))
        self.in_channels = first.in_channels if isinstance(first, nn.Conv2d) else 3
        self.min_size = 2 ** sum(1 for m in features if isinstance(m, nn.MaxPool2d))
        if init_deferred():
            pass  # the builder loads weights into every parameter
        elif init_weights:
            init_like_torchvision(self, linear="normal")
        else:
            default_init_(self)  # PyTorch's default layer initialization

    def forward(self, x):
        check_images(type(self).__name__, x, self.in_channels, min_size=self.min_size)
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


def _vgg(name, cfg, batch_norm, weights, progress, in_channels=3, **kwargs):
    if weights is None:
        return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm, in_channels=in_channels),
                   **kwargs)
    with deferred_init():  # no point drawing what is overwritten
        model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm, in_channels=in_channels),
                    **kwargs)
    return load_weights(model, weights, name)


def vgg11(*, weights=None, progress=True, **kwargs):
    """VGG-11 (configuration "A"). ``weights``: a safetensors path or a state dict."""
    return _vgg("vgg11", "A", False, weights, progress, **kwargs)


def vgg11_bn(*, weights=None, progress=True, **kwargs):
    """VGG-11 with batch normalization after every convolution."""
    return _vgg("vgg11_bn", "A", True, weights, progress, **kwargs)


def vgg13(*, weights=None, progress=True, **kwargs):
    """VGG-13 (configuration "B")."""
    return _vgg("vgg13", "B", False, weights, progress, **kwargs)


def vgg13_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg13_bn", "B", True, weights, progress, **kwargs)


def vgg16(*, weights=None, progress=True, **kwargs):
    """VGG-16 (configuration "D": 13 convolutions + 3 fully connected layers, 138,357,544
    parameters with 1000 classes)."""
    return _vgg("vgg16", "D", False, weights, progress, **kwargs)


def vgg16_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg16_bn", "D", True, weights, progress, **kwargs)


def vgg19(*, weights=None, progress=True, **kwargs):
    """VGG-19 (configuration "E": 16 convolutions + 3 fully connected layers; the network
    neural style transfer reads its activations from)."""
    return _vgg("vgg19", "E", False, weights, progress, **kwargs)


def vgg19_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg19_bn", "E", True, weights, progress, **kwargs)
