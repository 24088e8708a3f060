"""Sample-quality and likelihood evaluation: features, FID/KID, precision/recall."""

from keras_genmodels.evaluation.features import (
    FeatureExtractor,
    ReferenceFeatures,
    classifier_path,
    dataset_key,
    reference_features,
    reference_path,
    train_classifier,
)
from keras_genmodels.evaluation.inception import (
    InceptionExtractor,
    InceptionWeightsError,
    inception_features,
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
    choose_features,
    evaluate_generator,
    generate_images,
)

__all__ = [
    "FeatureExtractor",
    "InceptionExtractor",
    "InceptionWeightsError",
    "ReferenceFeatures",
    "KernelDistance",
    "ModeCoverage",
    "PrecisionRecall",
    "choose_features",
    "classifier_path",
    "dataset_key",
    "evaluate_generator",
    "frechet_distance",
    "generate_images",
    "inception_features",
    "kernel_distance",
    "mode_coverage",
    "precision_recall",
    "reference_features",
    "reference_path",
    "train_classifier",
]
