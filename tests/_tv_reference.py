"""Torch reference models with torchvision's module layout (written here with torch.nn:
torchvision itself can't be imported beside the test environment's torch). Imported only by
tests that have already called ``pytest.importorskip("torch")``; their state_dict keys are
checked against tests/data/torchvision_models.json, which torchvision itself wrote."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5(num_classes=10, in_channels=1, original=False):
    if original:
        feats = [nn.Conv2d(in_channels, 6, 5), nn.AvgPool2d(2, 2), nn.Tanh(),
                 nn.Conv2d(6, 16, 5), nn.AvgPool2d(2, 2), nn.Tanh()]
        act = nn.Tanh
    else:
        feats = [nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                 nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2)]
        act = nn.ReLU
    m = nn.Module()
    m.features = nn.Sequential(*feats)
    m.classifier = nn.Sequential(nn.Linear(400, 120), act(), nn.Linear(120, 84), act(),
                                 nn.Linear(84, num_classes))
    m.forward = lambda x: m.classifier(torch.flatten(m.features(x), 1))
    return m


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg_features(cfg, batch_norm=False):
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers.append(nn.Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            c = v
    return nn.Sequential(*layers)


def _c3(i, o, s=1, g=1):
    return nn.Conv2d(i, o, 3, s, 1, groups=g, bias=False)


def _c1(i, o, s=1):
    return nn.Conv2d(i, o, 1, s, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, i, p, s=1, down=None, groups=1, base_width=64):
        super().__init__()
        self.conv1, self.bn1 = _c3(i, p, s), nn.BatchNorm2d(p)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = _c3(p, p), nn.BatchNorm2d(p)
        self.downsample = down

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, i, p, s=1, down=None, groups=1, base_width=64):
        super().__init__()
        w = int(p * (base_width / 64.0)) * groups
        self.conv1, self.bn1 = _c1(i, w), nn.BatchNorm2d(w)
        self.conv2, self.bn2 = _c3(w, w, s, groups), nn.BatchNorm2d(w)
        self.conv3, self.bn3 = _c1(w, p * 4), nn.BatchNorm2d(p * 4)
        self.relu = nn.ReLU()
        self.downsample = down

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64):
        super().__init__()
        self.inplanes, self.groups, self.base_width = 64, groups, width_per_group
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(block, 64, layers[0])
        self.layer2 = self._layer(block, 128, layers[1], 2)
        self.layer3 = self._layer(block, 256, layers[2], 2)
        self.layer4 = self._layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _layer(self, block, p, n, s=1):
        down = None
        if s != 1 or self.inplanes != p * block.expansion:
            down = nn.Sequential(_c1(self.inplanes, p * block.expansion, s),
                                 nn.BatchNorm2d(p * block.expansion))
        layers = [block(self.inplanes, p, s, down, self.groups, self.base_width)]
        self.inplanes = p * block.expansion
        layers += [block(self.inplanes, p, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, n)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def BasicConv2d(i, o, **kw):  # noqa: N802 (torchvision's module name)
    """conv (no bias) → BatchNorm2d(eps=0.001) → ReLU, with torchvision's keys conv.*, bn.*."""
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(i, o, bias=False, **kw),
                                     bn=nn.BatchNorm2d(o, eps=0.001), relu=nn.ReLU()))


class Inception(nn.Module):
    def __init__(self, i, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv2d(i, c1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(i, c3r, kernel_size=1),
                                     BasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(i, c5r, kernel_size=1),
                                     BasicConv2d(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     BasicConv2d(i, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                          self.branch4(x)], 1)


class InceptionAux(nn.Module):
    def __init__(self, i, num_classes):
        super().__init__()
        self.conv = BasicConv2d(i, 128, kernel_size=1)
        self.fc1, self.fc2 = nn.Linear(2048, 1024), nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(0.7)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        return self.fc2(self.dropout(F.relu(self.fc1(torch.flatten(x, 1)))))


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux_logits = aux_logits
        self.aux1 = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    # the trunk in order, and the auxiliary heads that read it after a given stage (training)
    TRUNK = ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
             "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
             "inception4e", "maxpool4", "inception5a", "inception5b", "avgpool")
    TAPS = {"inception4a": "aux1", "inception4d": "aux2"}

    def forward(self, x):
        aux = {}
        for name in self.TRUNK:
            x = getattr(self, name)(x)
            if name in self.TAPS and self.aux_logits and self.training:
                aux[self.TAPS[name]] = getattr(self, self.TAPS[name])(x)
        x = self.fc(self.dropout(torch.flatten(x, 1)))
        return (x, aux["aux2"], aux["aux1"]) if aux else x


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet with torchvision-style keys (projection shortcuts)."""

    def __init__(self, n=3, num_classes=10, in_channels=3, widths=(16, 32, 64),
                 residual=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(widths[0]), nn.ReLU()
        self.residual = residual
        inp = widths[0]
        self.stages = []
        for i, w in enumerate(widths):
            blocks = []
            for j in range(n):
                s = (1 if i == 0 else 2) if j == 0 else 1
                down = None
                if residual and (s != 1 or inp != w):
                    down = nn.Sequential(_c1(inp, w, s), nn.BatchNorm2d(w))
                b = BasicBlock(inp, w, s, down)
                if not residual:
                    b.forward = (lambda b: lambda x: b.relu(
                        b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x)))))))(b)
                blocks.append(b)
                inp = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            self.stages.append(f"layer{i + 1}")
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inp, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for s in self.stages:
            x = getattr(self, s)(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))
