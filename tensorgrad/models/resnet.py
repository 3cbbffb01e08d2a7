"""Residual networks (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image
Recognition"), laid out as torchvision's ``torchvision.models.resnet``, plus the paper's small
CIFAR networks (**tg**).

A residual block adds its input back before the last activation:
``a[l+2] = g(z[l+2] + a[l])``. If the block's two layers learn weights near zero, the block
computes ``g(a[l]) = a[l]`` (ReLU outputs are non-negative) — the identity is easy to learn,
so extra blocks need not hurt, and gradients reach early layers through the additions.
When the block changes the shape (stride 2, more channels), the shortcut becomes
``W_s a[l]``: a learned 1×1 convolution with stride plus batch norm (``downsample``, the
paper's option B, torchvision's choice), or, in the CIFAR networks with ``shortcut="A"``, the
parameter-free subsample-and-zero-pad of the paper.

``BasicBlock`` (two 3×3 convolutions; ResNet-18/34 and the CIFAR nets) and ``Bottleneck``
(1×1 reduce, 3×3, 1×1 expand ×4; ResNet-50 and deeper) match torchvision's modules and keys.
"""
from __future__ import annotations

from .. import nn
from ..ops import cat, flatten, zeros
from ._utils import check_images, init_like_torchvision, load_weights

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "conv3x3",
           "conv1x1", "ZeroPadShortcut", "CifarResNet", "cifar_resnet", "resnet20",
           "resnet32", "resnet44", "resnet56", "plain20", "plain32", "plain44", "plain56"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3×3 convolution with "same" padding and no bias (batch norm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1×1 convolution without bias: mixes channels at each position (network in network)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """conv3x3 → BN → ReLU → conv3x3 → BN, plus the shortcut, then ReLU. ``residual=False``
    (**tg**) drops the shortcut: the "plain" block of the paper's depth experiment."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None, residual=True):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock: only supports groups=1 and base_width=64, got "
                             f"groups={groups}, base_width={base_width}")
        if dilation > 1:
            raise NotImplementedError("BasicBlock: dilation > 1 is not supported")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride
        self.residual = bool(residual)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """conv1x1 (reduce to ``width``) → BN → ReLU → conv3x3 (stride, groups) → BN → ReLU →
    conv1x1 (expand to ``planes * 4``) → BN, plus the shortcut, then ReLU (the stride sits on
    the 3×3 convolution: torchvision's "ResNet V1.5")."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None, residual=True):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.residual = bool(residual)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


def _zero_init_last_bn(model):
    for m in model.modules():
        if isinstance(m, Bottleneck):
            nn.init.zeros_(m.bn3.weight)
        elif isinstance(m, BasicBlock):
            nn.init.zeros_(m.bn2.weight)


class ResNet(nn.Module):
    """torchvision's ResNet: stem (7×7/2 conv, BN, ReLU, 3×3/2 max pool), four stages
    ``layer1..layer4`` of 64, 128, 256, 512 planes (stride 2 from stage 2 on), global average
    pooling and ``fc``. **tg** extras: ``in_channels``; ``small=True`` swaps the stem for a
    3×3/1 convolution without max pool (for 28×28–32×32 images, keys unchanged but
    ``conv1.weight`` is 3×3)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None,
                 in_channels=3, small=False):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("ResNet: replace_stride_with_dilation should be None or a "
                             f"3-element tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.in_channels = int(in_channels)
        if small:
            self.conv1 = nn.Conv2d(self.in_channels, 64, kernel_size=3, stride=1, padding=1,
                                   bias=False)
        else:
            self.conv1 = nn.Conv2d(self.in_channels, 64, kernel_size=7, stride=2, padding=3,
                                   bias=False)
        self.bn1 = self._norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small else nn.MaxPool2d(kernel_size=3, stride=2,
                                                                padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_like_torchvision(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups,
                        self.base_width, previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        check_images(type(self).__name__, x, self.in_channels)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(flatten(self.avgpool(x), 1))


def _resnet(name, block, layers, weights, **kwargs):
    return load_weights(ResNet(block, layers, **kwargs), weights, name)


def resnet18(*, weights=None, progress=True, **kwargs):
    """ResNet-18 (BasicBlock ×[2, 2, 2, 2], 11,689,512 parameters with 1000 classes)."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, **kwargs)


def resnet34(*, weights=None, progress=True, **kwargs):
    """ResNet-34 (BasicBlock ×[3, 4, 6, 3])."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, **kwargs)


def resnet50(*, weights=None, progress=True, **kwargs):
    """ResNet-50 (Bottleneck ×[3, 4, 6, 3], 25,557,032 parameters with 1000 classes)."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


def resnet101(*, weights=None, progress=True, **kwargs):
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, **kwargs)


def resnet152(*, weights=None, progress=True, **kwargs):
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, **kwargs)


def resnext50_32x4d(*, weights=None, progress=True, **kwargs):
    """ResNeXt-50 32×4d: bottlenecks whose 3×3 convolution has 32 groups of 4 channels."""
    kwargs.update(groups=32, width_per_group=4)
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


def wide_resnet50_2(*, weights=None, progress=True, **kwargs):
    """Wide ResNet-50-2: bottlenecks twice as wide inside."""
    kwargs.update(width_per_group=128)
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


# ---- the paper's CIFAR-10 networks (§4.2), for 28x28 / 32x32 images (tg) -------------------
class ZeroPadShortcut(nn.Module):
    """The paper's option-A shortcut: take every ``stride``-th pixel and append zero channels
    up to ``planes`` (no parameters)."""

    def __init__(self, planes, stride):
        super().__init__()
        self.planes, self.stride = int(planes), int(stride)

    def forward(self, x):
        s = self.stride
        x = x[:, :, ::s, ::s] if s != 1 else x
        extra = self.planes - x.shape[1]
        if extra <= 0:
            return x
        pad = zeros(x.shape[0], extra, x.shape[2], x.shape[3], dtype=x.dtype)
        return cat([x, pad], dim=1)

    def extra_repr(self):
        return f"planes={self.planes}, stride={self.stride}"


class CifarResNet(nn.Module):
    """**tg** The CIFAR-10 ResNet of He et al. (§4.2): a 3×3 convolution to ``widths[0]``
    channels, three stages of ``n`` basic blocks with ``widths`` channels (16, 32, 64 in the
    paper; strides 1, 2, 2), global average pooling and ``fc`` — ``6n + 2`` weight layers
    (ResNet-20: n = 3). ``residual=False`` gives the "plain" network of the same depth (the
    paper's Figure 6 comparison). ``shortcut``: ``"B"`` (1×1 convolution + BN where the shape
    changes, as torchvision) or ``"A"`` (zero padding, no parameters). ``stem_width``
    (default ``widths[0]``) and ``strides`` (default 1, 2, 2, ...) shape cheaper variants,
    e.g. ``strides=(2, 2)`` to leave full resolution right after the first convolution."""

    def __init__(self, n=3, num_classes=10, in_channels=3, widths=(16, 32, 64), residual=True,
                 shortcut="B", zero_init_residual=False, stem_width=None, strides=None):
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero padding) or 'B' "
                             f"(projection), got {shortcut!r}")
        if int(n) < 1 or len(widths) < 1:
            raise ValueError(f"CifarResNet: need n >= 1 blocks per stage and at least one "
                             f"stage width, got n={n}, widths={widths}")
        self.in_channels = int(in_channels)
        self.residual = bool(residual)
        strides = tuple(strides) if strides is not None else (1,) + (2,) * (len(widths) - 1)
        if len(strides) != len(widths):
            raise ValueError(f"CifarResNet: one stride per stage: got strides={strides} for "
                             f"widths={tuple(widths)}")
        w0 = int(widths[0] if stem_width is None else stem_width)
        self.conv1 = nn.Conv2d(self.in_channels, w0, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        inplanes = w0
        for i, w in enumerate(widths):
            stride = int(strides[i])
            blocks = []
            for j in range(int(n)):
                s = stride if j == 0 else 1
                down = None
                if residual and (s != 1 or inplanes != w):
                    down = (ZeroPadShortcut(w, s) if shortcut == "A" else
                            nn.Sequential(conv1x1(inplanes, w, s), nn.BatchNorm2d(w)))
                blocks.append(BasicBlock(inplanes, int(w), s, down, residual=residual))
                inplanes = int(w)
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)
        init_like_torchvision(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def forward(self, x):
        check_images(type(self).__name__, x, self.in_channels)
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(flatten(self.avgpool(x), 1))


def cifar_resnet(depth=20, *, weights=None, plain=False, **kwargs):
    """**tg** A CIFAR-style ResNet of ``depth = 6n + 2`` layers (20, 32, 44, 56, 110, ...);
    ``plain=True`` removes the shortcuts."""
    if (int(depth) - 2) % 6 or depth < 8:
        raise ValueError(f"cifar_resnet: depth must be 6n + 2 (8, 14, 20, 32, ...), got {depth}")
    model = CifarResNet((int(depth) - 2) // 6, residual=not plain, **kwargs)
    return load_weights(model, weights, f"{'plain' if plain else 'resnet'}{depth}")


def resnet20(**kwargs):
    """**tg** ResNet-20 for 32×32 (or 28×28) images: 3 stages × 3 basic blocks, 16-32-64."""
    return cifar_resnet(20, **kwargs)


def resnet32(**kwargs):
    return cifar_resnet(32, **kwargs)


def resnet44(**kwargs):
    return cifar_resnet(44, **kwargs)


def resnet56(**kwargs):
    return cifar_resnet(56, **kwargs)


def plain20(**kwargs):
    """**tg** The 20-layer plain network: ResNet-20 without its shortcuts."""
    return cifar_resnet(20, plain=True, **kwargs)


def plain32(**kwargs):
    return cifar_resnet(32, plain=True, **kwargs)


def plain44(**kwargs):
    return cifar_resnet(44, plain=True, **kwargs)


def plain56(**kwargs):
    return cifar_resnet(56, plain=True, **kwargs)
