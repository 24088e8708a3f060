"""Evaluation reports of a trained model, each with the protocol that produced it."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import metrics
from keras_genmodels.evaluation.features import FeatureExtractor
from keras_genmodels.registry import family_of


def generate_images(model, num_samples: int, seed: int = 0, batch_size: int = 500):
    """Draws `num_samples` images from any family's model, seeded.

    The model's family decides how (`Family.samples`): the VAE and the GAN draw
    z ~ N(0, I) from `np.random.default_rng(seed)`, and a `ConditionalGAN` gets
    balanced labels 0, 1, ..., num_classes - 1, 0, 1, ... The same seed gives
    the same images.

    Args:
        model: a model of a registered family. The generator.
        num_samples: int. Number of images.
        seed: int. Seed of the latent codes. Defaults to 0.
        batch_size: int. Images per forward pass. Defaults to 500.

    Returns:
        A tuple `(images, labels)`: float32 numpy images and the conditioning
        labels (None for unconditional models).

    Raises:
        TypeError: for a model of no registered family.
        ValueError: for a non-positive `num_samples`.
    """
    family = family_of(model)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        raise ValueError(f"num_samples must be an integer; got {num_samples!r}.")
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive; got {num_samples}.")
    images, labels = family.samples(model, num_samples, seed, batch_size)
    return np.asarray(images, dtype=np.float32), labels


def evaluate_generator(
    model,
    dataset: str = "mnist5k",
    num_samples: int = 2000,
    extractor: FeatureExtractor | None = None,
    seed: int = 0,
    real_split: str = "train",
    k: int = 3,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
) -> dict[str, Any]:
    """Sample-quality metrics of a generator against a dataset's real images.

    Features of `num_samples` generated images and of up to `num_samples` real
    images (a seeded random subset of `real_split`, unbinarised) give FID, KID,
    improved precision/recall and the class histogram of the generated images.
    For a conditional model (one whose samples come with labels, such as a
    `ConditionalGAN`) the labels are balanced and `conditional_accuracy` is the
    fraction of samples the classifier assigns to their conditioning label.

    Args:
        model: a model of a registered family. Its `data_shape` must be the
            dataset's.
        dataset: str. A labelled image dataset of `load_arrays`. Defaults to
            "mnist5k".
        num_samples: int. Generated images (and at most as many real ones).
            Defaults to 2000.
        extractor: FeatureExtractor or None. None uses the dataset's cached
            classifier (`FeatureExtractor.from_dataset(dataset)`). Defaults to
            None.
        seed: int. Seed of the latent codes, the real subset and KID's subsets.
            Defaults to 0.
        real_split: str. "train" or "test". Defaults to "train".
        k: int. Neighbour rank of precision/recall. Defaults to 3.
        kid_subsets: int. Number of KID subsets. Defaults to 100.
        kid_subset_size: int. KID subset size (capped at the sample counts).
            Defaults to 1000.

    Returns:
        A dict with "fid", "kid_mean", "kid_std", "precision", "recall",
        "mode_coverage" (a dict), "conditional_accuracy" (conditional models
        only) and "protocol" (sample counts, split, seed, extractor).

    Raises:
        ValueError: for a shape mismatch between model and dataset, or a bad
            `real_split`; and what `generate_images` raises.

    Example:

    >>> import tempfile
    >>> from keras_genmodels import GAN
    >>> extractor = FeatureExtractor.from_dataset(
    ...     "digits", epochs=1, path=f"{tempfile.mkdtemp()}/digits.keras")
    >>> gan = GAN(image_shape=(8, 8, 1), latent_dim=4, seed=0)
    >>> report = evaluate_generator(gan, "digits", num_samples=50,
    ...                             extractor=extractor, kid_subsets=5)
    >>> report["fid"] > 0, report["protocol"]["num_generated"]
    (True, 50)
    """
    if real_split not in ("train", "test"):
        raise ValueError(f"real_split must be 'train' or 'test'; got {real_split!r}.")
    data = load_arrays(dataset)
    x_real = data.x_train if real_split == "train" else data.x_test
    y_real = data.y_train if real_split == "train" else data.y_test
    if tuple(model.data_shape) != x_real.shape[1:]:
        raise ValueError(
            f"The model makes examples of shape {tuple(model.data_shape)} but "
            f"dataset {dataset!r} has shape {x_real.shape[1:]}."
        )
    extractor = extractor or FeatureExtractor.from_dataset(dataset)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(x_real), min(num_samples, len(x_real)), replace=False)
    fake, labels = generate_images(model, num_samples, seed=seed)
    real_features, _ = extractor(x_real[chosen])
    fake_features, fake_probs = extractor(fake)

    kid = metrics.kernel_distance(
        real_features, fake_features, kid_subsets, kid_subset_size, seed=seed
    )
    pr = metrics.precision_recall(real_features, fake_features, k=k)
    num_classes = extractor.num_classes
    reference = np.bincount(y_real, minlength=num_classes) / len(y_real)
    coverage = metrics.mode_coverage(fake_probs, num_classes, reference)
    report = {
        "fid": metrics.frechet_distance(real_features, fake_features),
        "kid_mean": kid.mean,
        "kid_std": kid.std,
        "precision": pr.precision,
        "recall": pr.recall,
        "mode_coverage": dataclasses.asdict(coverage),
    }
    if labels is not None:
        accuracy = np.mean(fake_probs.argmax(axis=1) == labels)
        report["conditional_accuracy"] = float(accuracy)
    report["protocol"] = {
        "model": type(model).__name__,
        "family": family_of(model).name,
        "dataset": dataset,
        "real_split": real_split,
        "num_real": int(len(chosen)),
        "num_generated": int(num_samples),
        "generated_labels": "balanced" if labels is not None else None,
        "seed": seed,
        "kid_num_subsets": kid.num_subsets,
        "kid_subset_size": kid.subset_size,
        "precision_recall_k": k,
        "mode_coverage_reference": f"{dataset} {real_split} label frequencies",
        "extractor": extractor.protocol,
    }
    return report
