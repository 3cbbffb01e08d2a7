"""Object detection (course chapter 8.12), built on ``tg.vision.ops`` and the graph.

* ``localization``: classification with localization (target vector, the course's loss and the
  practical one), landmark heads and loss;
* ``sliding``: sliding-window detection and its convolutional implementation;
* ``anchors``: YOLO's grid and anchor assignment, k-means anchors, target encoding;
* ``yolo``: decoding, the YOLO loss, post-processing (threshold + per-class NMS), ``YOLO``;
* ``evaluate``: precision/recall curves, VOC mAP@0.5, COCO mAP@[.5:.95];
* ``synthetic``: a seeded dataset of coloured shapes with boxes;
* ``draw``: boxes, labels and scores on images (matplotlib), before and after NMS.
"""
from .localization import (localization_target, localization_loss,  # noqa: F401
                           localization_loss_practical, LocalizationHead, LandmarkHead,
                           landmark_target, landmark_loss)
from .sliding import (WindowClassifier, to_convolutional, sliding_windows,  # noqa: F401
                      sliding_window_outputs, window_detections)
from .anchors import (wh_iou, kmeans_anchors, mean_best_iou, grid_cell, match_anchor,  # noqa: F401
                      encode_targets, targets_to_boxes)
from .yolo import (decode_outputs, ignore_mask, yolo_loss, postprocess, YOLO,  # noqa: F401
                   train_yolo)
from .evaluate import (precision_recall_curve, average_precision, voc_map, coco_map,  # noqa: F401
                       evaluate_detections)
from .synthetic import SyntheticShapes, SHAPE_NAMES  # noqa: F401
from .draw import draw_detections, draw_nms  # noqa: F401
