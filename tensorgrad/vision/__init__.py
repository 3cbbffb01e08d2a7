"""Computer vision on the graph, torchvision-style (docs/detection.md, docs/faces.md,
docs/style_transfer.md).

Submodules load on first use: ``tg.vision.ops`` (boxes, IoU, NMS), ``tg.vision.transforms``
(augmentation), ``tg.vision.detection`` (localization, sliding windows, YOLO),
``tg.vision.faces`` (siamese nets, triplet loss, verification), ``tg.vision.style`` (neural
style transfer).
"""
import importlib

_SUBMODULES = ("ops", "transforms", "detection", "faces", "style", "datasets", "utils",
               "visualize")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tensorgrad.vision' has no attribute {name!r}")
