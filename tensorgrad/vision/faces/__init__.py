"""Face verification and recognition with siamese networks (**tg** ``tg.vision.faces``).

* ``SiameseEncoder`` — any backbone + a linear embedding head, L2-normalised output f(x);
  ``small_convnet`` — a small VGG-style backbone for 28×28 images; ``embed`` — encodings as numpy.
* ``triplet_loss(a, p, n, margin=0.2)`` — FaceNet's loss with squared distances;
  ``batch_triplet_loss`` — the same on triplets mined inside a batch.
* Mining: ``random_triplets``, ``semi_hard_triplets`` (FaceNet), ``batch_hard_triplets``,
  ``all_triplets``, ``mine_triplets``; ``PKSampler`` — P identities × K images per batch.
* ``VerificationHead`` — logistic regression on |f(xᵢ) − f(xⱼ)| or the χ² form;
  ``train_verification`` trains it on pairs; ``train_triplet`` trains the encoder.
* ``FaceDatabase`` — precomputed encodings, ``verify``, ``identify`` (or "unknown"),
  ``calibrate`` (threshold on a validation split), ``save``/``load`` (safetensors).
* Metrics: ``make_pairs``, ``roc_curve``, ``auc``, ``roc_auc_score``, ``best_threshold``,
  ``evaluate_verification``.
* Data: ``instance_identities`` (items as identities, several random photos each, held-out
  items from the test split), ``load_identities`` (classes as identities, some held out),
  ``identity_split``,
  ``load_image_folder`` (one folder per person).

``tg.nn.functional.triplet_margin_loss`` / ``tg.nn.TripletMarginLoss`` are PyTorch's variant
(unsquared p-norm distances).
"""
from .mining import (MINING, PKSampler, all_triplets, batch_hard_triplets,  # noqa: F401
                     mine_triplets, random_triplets, semi_hard_triplets, squared_distances)
from .losses import batch_triplet_loss, triplet_loss  # noqa: F401
from .model import SiameseEncoder, VerificationHead, embed, small_convnet  # noqa: F401
from .evaluate import (auc, best_threshold, evaluate_verification, make_pairs,  # noqa: F401
                       pair_distances, roc_auc_score, roc_curve, verification_accuracy)
from .train import train_triplet, train_verification  # noqa: F401
from .database import UNKNOWN, FaceDatabase  # noqa: F401
from .data import (IdentitySplit, identity_split, instance_identities,  # noqa: F401
                   load_identities, load_image_folder)
