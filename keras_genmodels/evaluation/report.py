"""Evaluation reports of a trained model, each with the protocol that produced it."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import metrics
from keras_genmodels.evaluation.features import FeatureExtractor


def generate_images(model, num_samples: int, seed: int = 0, batch_size: int = 500):
    """Draws `num_samples` images from a VAE, GAN or ConditionalGAN.

    The latent codes z ~ N(0, I) come from `np.random.default_rng(seed)`, so the
    same seed gives the same images. A `ConditionalGAN` gets balanced labels
    0, 1, ..., num_classes - 1, 0, 1, ...

    Args:
        model: VAE, GAN or ConditionalGAN. The generator.
        num_samples: int. Number of images.
        seed: int. Seed of the latent codes. Defaults to 0.
        batch_size: int. Images per forward pass. Defaults to 500.

    Returns:
        A tuple `(images, labels)`: float32 numpy images and the conditioning
        labels (None for unconditional models).

    Raises:
        TypeError: for a model that is not a VAE or a GAN.
        ValueError: for a non-positive `num_samples`.
    """
    from keras_genmodels import GAN, VAE, ConditionalGAN

    if not isinstance(model, (VAE, GAN)):
        raise TypeError(f"Expected a VAE, GAN or ConditionalGAN; got {model!r}.")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        raise ValueError(f"num_samples must be an integer; got {num_samples!r}.")
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive; got {num_samples}.")
    z = np.random.default_rng(seed).standard_normal((num_samples, model.latent_dim))
    z = z.astype(np.float32)
    labels = None
    if isinstance(model, ConditionalGAN):
        labels = np.arange(num_samples) % model.num_classes
    images = []
    for start in range(0, num_samples, batch_size):
        chunk = z[start : start + batch_size]
        if isinstance(model, VAE):
            out = model.decode(chunk)
        elif labels is not None:
            out = model.generate(chunk, labels=labels[start : start + batch_size])
        else:
            out = model.generate(chunk)
        images.append(keras.ops.convert_to_numpy(out).astype(np.float32))
    return np.concatenate(images), labels


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
    For a `ConditionalGAN` the labels are balanced and `conditional_accuracy` is
    the fraction of samples the classifier assigns to their conditioning label.

    Args:
        model: VAE, GAN or ConditionalGAN. Its `data_shape` must be the dataset's.
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


def vae_report(
    vae,
    dataset: str = "mnist5k",
    iwae_samples: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
    binarize: str | None = None,
) -> dict[str, Any]:
    """Held-out likelihood numbers of a VAE, in nats per example.

    On the test split of `load_arrays(dataset, binarize, seed=0)` (the data the
    model was trained on must be prepared the same way): the negative ELBO and
    its two terms (one posterior sample per example from the model's own seed
    generator, as `VAE.evaluate` does, so a freshly loaded model gives the same
    numbers), the IWAE negative log-likelihood with K = `iwae_samples` (seeded
    by `seed`) and its standard error, and the per-pixel mean squared error of
    deterministic reconstructions.

    Args:
        vae: VAE. The trained model.
        dataset: str. Dataset name (see `load_arrays`). Defaults to "mnist5k".
        iwae_samples: int. K of the IWAE bound. Defaults to 1000.
        batch_size: int. Examples per batch. Defaults to 100.
        seed: int. Seed of the IWAE noise. Defaults to 0.
        binarize: str or None. The binarisation used in training (None, "static"
            or "dynamic"). Defaults to None.

    Returns:
        A dict with "negative_elbo", "reconstruction_loss", "kl_loss",
        "iwae_nll", "iwae_nll_stderr", "reconstruction_mse", "units" and
        "protocol".

    Raises:
        ValueError: for a shape mismatch between model and dataset.

    Example:

    >>> from keras_genmodels import VAE
    >>> vae = VAE(input_shape=(8, 8, 1), latent_dim=2, seed=0)
    >>> report = vae_report(vae, "digits", iwae_samples=2)
    >>> report["iwae_nll"] <= report["negative_elbo"] + 5, report["protocol"]["K"]
    (True, 2)
    """
    x = load_arrays(dataset, binarize=binarize).x_test
    if tuple(vae.data_shape) != x.shape[1:]:
        raise ValueError(
            f"The VAE models examples of shape {tuple(vae.data_shape)} but dataset "
            f"{dataset!r} has shape {x.shape[1:]}."
        )
    terms = {"loss": [], "reconstruction_loss": [], "kl_loss": []}
    squared_errors = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        losses = vae.compute_losses(batch)
        for name, values in terms.items():
            values.append(keras.ops.convert_to_numpy(losses[name]))
        reconstruction = keras.ops.convert_to_numpy(vae.reconstruct(batch))
        squared_errors.append((reconstruction - batch) ** 2)
    terms = {name: np.concatenate(v).astype(np.float64) for name, v in terms.items()}
    log_px = np.asarray(
        vae.log_likelihood(x, iwae_samples, batch_size=batch_size, seed=seed),
        dtype=np.float64,
    )
    return {
        "negative_elbo": float(terms["loss"].mean()),
        "reconstruction_loss": float(terms["reconstruction_loss"].mean()),
        "kl_loss": float(terms["kl_loss"].mean()),
        "iwae_nll": float(-log_px.mean()),
        "iwae_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "reconstruction_mse": float(np.concatenate(squared_errors).mean()),
        "units": "nats per example (mse: per pixel)",
        "protocol": {
            "dataset": dataset,
            "split": "test",
            "binarize": binarize,
            "num_examples": int(len(x)),
            "K": iwae_samples,
            "elbo_samples_per_example": 1,
            "seed": seed,
        },
    }
