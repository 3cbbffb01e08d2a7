"""Neural style transfer (**tg** ``tg.vision.style``; Gatys, Ecker & Bethge 2016).

* Costs: ``gram_matrix`` (N, C, H, W) → (N, C, C); ``content_cost`` (½‖·‖², or the
  1/(4·n_H·n_W·n_C) variant); ``style_layer_cost`` (1/(2·n_H·n_W·n_C)²·‖G_S − G_G‖²_F);
  ``style_cost`` (weighted over layers); ``total_variation``; ``total_cost``.
* Features: ``FeatureExtractor`` picks activations of any VGG-layout model by layer name
  (``conv4_2``, ``relu1_1``, ``pool2``, ``features.7``); ``random_features`` is the offline
  default (seeded random weights, four scales); ``convert_torchvision_vgg`` /
  ``load_vgg_features`` bring torchvision's pretrained VGG in through a safetensors file.
* ``style_transfer(content, style, optimizer="lbfgs"|"adam", ...)`` optimises the pixels;
  ``load_image`` / ``save_image`` read and write images (Pillow; bundled ``skimage:`` /
  ``sklearn:`` images work offline).
* Command line: ``python -m tensorgrad.vision.style CONTENT STYLE -o OUT.png``.
"""
from .costs import (content_cost, gram_matrix, style_cost, style_layer_cost,  # noqa: F401
                    total_cost, total_variation)
from .features import (IMAGENET_MEAN, IMAGENET_STD, VGG19_CONTENT, VGG19_STYLE,  # noqa: F401
                       FeatureExtractor, RandomFeatures, convert_torchvision_vgg,
                       load_vgg_features, random_features, vgg_features_from_state_dict,
                       vgg_layer_names)
from .images import fit_size, load_image, resize_image, save_image, to_numpy_image  # noqa: F401
from .transfer import RANDOM_CONTENT, RANDOM_STYLE, StyleResult, style_transfer  # noqa: F401
