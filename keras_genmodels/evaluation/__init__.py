"""Sample-quality and likelihood evaluation: features, FID/KID, precision/recall."""

from keras_genmodels.evaluation.features import (
    FeatureExtractor,
    classifier_path,
    inception_features,
    train_classifier,
)
from keras_genmodels.evaluation.metrics import (
    KernelDistance,
    ModeCoverage,
    PrecisionRecall,
    frechet_distance,
    kernel_distance,
    mode_coverage,
    precision_recall,
)
from keras_genmodels.evaluation.report import (
    evaluate_generator,
    generate_images,
)

__all__ = [
    "FeatureExtractor",
    "KernelDistance",
    "ModeCoverage",
    "PrecisionRecall",
    "classifier_path",
    "evaluate_generator",
    "frechet_distance",
    "generate_images",
    "inception_features",
    "kernel_distance",
    "mode_coverage",
    "precision_recall",
    "train_classifier",
]
