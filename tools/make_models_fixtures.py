"""Write tests/data/torchvision_models.json: torchvision's state_dict keys, shapes and
parameter counts for the models tg.models reproduces.

Needs torchvision (not installable beside the test environment's torch; run it with a
separate virtualenv that has torch + torchvision, offline — no weights are downloaded):

    /path/to/tv-venv/bin/python tools/make_models_fixtures.py
"""
import json
import os

import torch
import torchvision
from torchvision import models

BUILDERS = {
    "alexnet": lambda: models.alexnet(),
    "vgg11": lambda: models.vgg11(), "vgg11_bn": lambda: models.vgg11_bn(),
    "vgg13": lambda: models.vgg13(), "vgg16": lambda: models.vgg16(),
    "vgg16_bn": lambda: models.vgg16_bn(), "vgg19": lambda: models.vgg19(),
    "resnet18": lambda: models.resnet18(), "resnet34": lambda: models.resnet34(),
    "resnet50": lambda: models.resnet50(), "resnet101": lambda: models.resnet101(),
    "resnext50_32x4d": lambda: models.resnext50_32x4d(),
    "wide_resnet50_2": lambda: models.wide_resnet50_2(),
    "googlenet": lambda: models.googlenet(aux_logits=True, init_weights=True),
    "googlenet_noaux": lambda: models.googlenet(aux_logits=False, init_weights=True),
}


def main():
    torch.manual_seed(0)
    out = {"torchvision": torchvision.__version__, "torch": torch.__version__, "models": {}}
    for name, build in BUILDERS.items():
        m = build()
        sd = m.state_dict()
        out["models"][name] = {
            "num_parameters": sum(p.numel() for p in m.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in sd.items()],
        }
        print(name, out["models"][name]["num_parameters"])
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                        "torchvision_models.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
