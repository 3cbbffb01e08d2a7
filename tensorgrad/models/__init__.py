"""Classic convolutional networks with torchvision's names, arguments and state_dict keys.

``tg.models.vgg16()``, ``resnet18()``, ``alexnet()``, ``googlenet()``, ``lenet5()`` … build
randomly initialized models (torchvision's initialization); ``weights=path`` loads a
safetensors file (e.g. a torchvision state dict saved with ``safetensors.torch.save_file``),
and the outputs then equal torchvision's. Beyond torchvision (**tg**): ``in_channels=`` on every
builder (1 for greyscale images), LeNet-5, CIFAR-style ResNets for 28×28/32×32 inputs
(``resnet20``, ``plain20``, ``resnet18(small=True)``), and transfer-learning helpers
(``tg.models.transfer``).
"""
import sys as _sys

from .lenet import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .ensemble import Ensemble, multi_crop_predict, predict_proba  # noqa: F401
from . import transfer, ensemble  # noqa: F401

# (the functions alexnet/googlenet shadow their submodules' names, as in torchvision)
__all__ = [n for m in ("lenet", "alexnet", "vgg", "resnet", "googlenet")
           for n in _sys.modules[f"{__name__}.{m}"].__all__] + [
    "Ensemble", "multi_crop_predict", "predict_proba", "transfer", "ensemble"]
