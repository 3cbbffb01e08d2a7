"""GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going deeper with convolutions"), laid out
as torchvision's ``torchvision.models.googlenet``.

An Inception module runs four branches on the same input and concatenates their outputs along
the channels: a 1×1 convolution; a 1×1 "bottleneck" that shrinks the channels followed by a
3×3 convolution; a 1×1 bottleneck followed by a larger convolution; and a 3×3 max pool
(stride 1, "same" padding, so heights and widths agree) followed by a 1×1 convolution that
shrinks its channels. The 1×1 reductions are what make the module affordable: a 5×5
convolution from 192 to 32 channels on 28×28 costs 28·28·32·5·5·192 ≈ 120M multiplications;
reducing to 16 channels first costs ≈ 2.4M + 10M.

The network stacks nine modules and adds two side classifiers (``aux1`` after inception 4a,
``aux2`` after 4d) that make predictions from hidden layers during training; their losses
(weighted 0.3 in the paper) regularize the features of the middle of the network.

Parity notes: torchvision's third branch uses a 3×3 convolution where the paper has 5×5 (kept
for compatibility with its published weights); ``Inception(..., branch3_kernel=5)`` (**tg**)
builds the paper's module. Every convolution is ``BasicConv2d``: conv (no bias) → batch norm
(eps 0.001) → ReLU. In training mode with ``aux_logits=True`` the model returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in eval mode just the logits.
"""
from __future__ import annotations

from collections import namedtuple

from .. import nn
from ..ops import cat, flatten, relu
from ..nn.functional import adaptive_avg_pool2d
from ..nn import functional as F
from ._utils import check_images, load_weights

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d",
           "googlenet", "googlenet_loss"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """conv (bias-free) → BatchNorm2d(eps=0.001) → ReLU."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated on the channel axis; the output has
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels and the input's height and width."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 conv_block=None, branch3_kernel=3):
        super().__init__()
        conv_block = conv_block or BasicConv2d
        k = int(branch3_kernel)
        if k % 2 == 0 or k < 1:
            raise ValueError(f"Inception: branch3_kernel must be odd (3 as torchvision, 5 as "
                             f"the paper), got {branch3_kernel}")
        self.in_channels = int(in_channels)
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv_block(in_channels, ch3x3red, kernel_size=1),
                                     conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv_block(in_channels, ch5x5red, kernel_size=1),
                                     conv_block(ch5x5red, ch5x5, kernel_size=k, padding=k // 2))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Inception: expected input (N, {self.in_channels}, H, W), got "
                             f"shape {tuple(x.shape)}")
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """A side classifier: 4×4 adaptive average pool → 1×1 conv to 128 → fc 1024 (ReLU,
    dropout) → fc ``num_classes``."""

    def __init__(self, in_channels, num_classes, conv_block=None, dropout=0.7):
        super().__init__()
        conv_block = conv_block or BasicConv2d
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = self.conv(adaptive_avg_pool2d(x, (4, 4)))
        x = relu(self.fc1(flatten(x, 1)))
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet (``transform_input`` re-normalizes ImageNet-normalized RGB
    inputs the way the original weights expect, as torchvision does)."""

    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False,
                 init_weights=None, blocks=None, dropout=0.2, dropout_aux=0.7, in_channels=3):
        super().__init__()
        conv_block, inception_block, aux_block = blocks or (BasicConv2d, Inception,
                                                            InceptionAux)
        if init_weights is None:
            init_weights = True
        self.aux_logits = bool(aux_logits)
        self.transform_input = bool(transform_input)
        self.in_channels = int(in_channels)
        if self.transform_input and self.in_channels != 3:
            raise ValueError("GoogLeNet: transform_input=True needs RGB inputs (in_channels=3)")
        self.conv1 = conv_block(self.in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = inception_block(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception_block(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception_block(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception_block(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception_block(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception_block(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception_block(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inception_block(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception_block(832, 384, 192, 384, 48, 128, 128)
        if self.aux_logits:
            self.aux1 = aux_block(512, num_classes, dropout=dropout_aux)
            self.aux2 = aux_block(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def _transform_input(self, x):
        if not self.transform_input:
            return x
        ch = [x[:, i:i + 1] * (s / 0.5) + (m - 0.5) / 0.5
              for i, (m, s) in enumerate(((0.485, 0.229), (0.456, 0.224), (0.406, 0.225)))]
        return cat(ch, 1)

    # tensorgrad's max pools reject a window larger than the whole (unpadded) input, which
    # torch's ceil_mode pools accept (a 3x3 window over a 2x2 map); below 31 pixels one of the
    # ceil_mode pools meets such a map
    min_size = 31

    def forward(self, x):
        check_images("GoogLeNet", x, self.in_channels, min_size=self.min_size)
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        train_aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if train_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if train_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(flatten(self.avgpool(x), 1)))
        if train_aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet_loss(outputs, target, aux_weight=0.3, loss_fn=None):
    """**tg** The paper's training loss: the main cross entropy plus ``aux_weight`` times each
    side classifier's (only the main one when ``outputs`` is a plain tensor)."""
    loss_fn = loss_fn or F.cross_entropy
    if isinstance(outputs, GoogLeNetOutputs):
        loss = loss_fn(outputs.logits, target)
        for aux in (outputs.aux_logits1, outputs.aux_logits2):
            if aux is not None:
                loss = loss + aux_weight * loss_fn(aux, target)
        return loss
    return loss_fn(outputs, target)


def googlenet(*, weights=None, progress=True, **kwargs):
    """GoogLeNet with side classifiers (``aux_logits=True``, 13,004,888 parameters with 1000
    classes; 6,624,904 without them)."""
    if weights is not None:
        kwargs.setdefault("init_weights", False)
    return load_weights(GoogLeNet(**kwargs), weights, "googlenet")
