"""Evaluation reports of a trained model, each with the protocol that produced it."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from keras_genmodels.data import load_arrays, load_dataset
from keras_genmodels.evaluation import features as features_lib
from keras_genmodels.evaluation import inception, metrics
from keras_genmodels.evaluation.features import FeatureExtractor
from keras_genmodels.registry import family_of

FEATURES = ("auto", "classifier", "inception")
CLASSIFIER_MAX_SIZE = 64
_STREAMED = ("folder:", "tfrecord:")


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


def choose_features(image_shape, labelled: bool) -> str:
    """The extractor `features="auto"` picks for a dataset.

    "classifier" for labelled grey-level images of at most 64 x 64 pixels (the
    named digit sets, labelled grey folders), where a small classifier trained on
    the set is fast, offline and sensitive; "inception" for everything else:
    unlabelled sets, colour images, or images larger than 64 x 64.

    Example:

    >>> choose_features((28, 28, 1), True), choose_features((32, 32, 3), True)
    ('classifier', 'inception')
    """
    small = max(image_shape[:2]) <= CLASSIFIER_MAX_SIZE
    grey = len(image_shape) == 3 and image_shape[-1] == 1
    return "classifier" if labelled and grey and small else "inception"


def frechet_distance(features_a, features_b) -> float:
    """FID from the spectrum of S_a S_b: fast and exact at any sample count.

    Tr (S_a S_b)^{1/2} is the sum of the square roots of the eigenvalues of
    S_a S_b. With S = C^T C / (n - 1) for centred features C, these are the
    squared singular values of X = C_a C_b^T / sqrt((n_a - 1)(n_b - 1)), i.e.
    the eigenvalues of X X^T, when a count is below the dimension; else the
    eigenvalues of the symmetric S_a^{1/2} S_b S_a^{1/2}. At 2048-d features
    this takes seconds where a general matrix square root takes a minute.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(500, 3))
    >>> round(frechet_distance(a, a + 1.0), 6)
    3.0
    """
    a = metrics._features(features_a, "features_a")
    b = metrics._features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Feature sizes differ: {a.shape[1]} and {b.shape[1]}.")
    ca, cb = a - a.mean(axis=0), b - b.mean(axis=0)
    if min(len(a), len(b)) < a.shape[1]:
        cross = (ca @ cb.T) / np.sqrt((len(a) - 1) * (len(b) - 1))
        gram = cross @ cross.T if len(a) <= len(b) else cross.T @ cross
        squares = np.maximum(np.linalg.eigvalsh(gram), 0.0)
        trace_root = float(np.sum(np.sqrt(squares)))
    else:
        s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        w, v = np.linalg.eigh(s_a)
        root_a = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
        middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
        trace_root = float(np.sum(np.sqrt(np.maximum(middle, 0.0))))
    diff = a.mean(axis=0) - b.mean(axis=0)
    trace = np.sum(ca * ca) / (len(a) - 1) + np.sum(cb * cb) / (len(b) - 1)
    return float(diff @ diff + trace - 2.0 * trace_root)


def _streamed_options(dataset, model, options):
    options = dict(options)
    if dataset.startswith(_STREAMED):
        shape = tuple(model.data_shape)
        if len(shape) == 3 and shape[-1] in (1, 3, 4):
            options.setdefault("image_size", shape[:2])
            options.setdefault("channels", shape[-1])
    return options


def _make_extractor(kind, dataset, labelled, options, weights, verbose):
    if kind == "classifier":
        if not labelled:
            raise ValueError(
                f"features='classifier' needs a labelled dataset; {dataset!r} has "
                "no labels. Use features='inception' (with weights=PATH offline)."
            )
        return FeatureExtractor.from_dataset(dataset, data_options=options or None)
    try:
        return inception.InceptionExtractor(weights, verbose=verbose)
    except inception.InceptionWeightsError as err:
        raise inception.InceptionWeightsError(err.reason, labelled) from err


def evaluate_generator(
    model,
    dataset: str = "mnist5k",
    num_samples: int = 2000,
    extractor=None,
    seed: int = 0,
    real_split: str = "train",
    k: int = 3,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    *,
    features: str = "auto",
    weights=None,
    cache_dir=None,
    verbose: int = 0,
    **data_options,
) -> dict[str, Any]:
    """Sample-quality metrics of a generator against a dataset's real images.

    Features of `num_samples` generated images and of up to `num_samples` real
    images give FID, KID, improved precision/recall and, with a classifier, the
    class histogram of the generated images. The extractor (see
    `choose_features`): the dataset's cached classifier for labelled grey sets
    up to 64 x 64 (the real images are a seeded random subset of `real_split`,
    unbinarised; for a conditional model, whose samples come with balanced
    labels, `conditional_accuracy` is the fraction the classifier assigns to
    their label), else InceptionV3 pool-3 features, which need no labels
    (`mode_coverage` is then None). With InceptionV3 the real images are the
    first `num_samples` of the split in a fixed order, and their features are
    cached under `<home>/reference/` (see `reference_features`), keyed by the
    dataset's files, the image shape and the weights' hash.

    Args:
        model: a model of a registered family. Its `data_shape` must be the
            dataset's.
        dataset: str. Any dataset of `load_dataset`: a named set, "npz:PATH",
            "folder:PATH" or "tfrecord:GLOB". Defaults to "mnist5k".
        num_samples: int. Generated images (and at most as many real ones).
            Defaults to 2000.
        extractor: an extractor or None. A `FeatureExtractor`, an
            `InceptionExtractor`, or any object with `(features, probabilities or
            None) = extractor(images)`, `num_classes` and `protocol`. None builds
            the one `features` asks for. Defaults to None.
        seed: int. Seed of the latent codes, the real subset and KID's subsets.
            Defaults to 0.
        real_split: str. "train" or "test". Defaults to "train".
        k: int. Neighbour rank of precision/recall. Defaults to 3.
        kid_subsets: int. Number of KID subsets. Defaults to 100.
        kid_subset_size: int. KID subset size (capped at the sample counts).
            Defaults to 1000.
        features: str. "auto", "classifier" or "inception". Defaults to "auto".
        weights: InceptionV3 weights: "imagenet" (downloaded once), a local
            `.h5`/`.keras` path, or None for `$KERAS_GENMODELS_INCEPTION_WEIGHTS`
            else "imagenet". Defaults to None.
        cache_dir: path or None. Root of the reference cache; None uses
            `$KERAS_GENMODELS_HOME` or `~/.keras_genmodels`. Defaults to None.
        verbose: int. 1 shows progress bars of the InceptionV3 passes.
            Defaults to 0.
        **data_options: loader options of `load_dataset` for folders and
            TFRecords (crop, labels, test_fraction, image_key, ...);
            image_size and channels default to the model's `data_shape`.

    Returns:
        A dict with "fid", "kid_mean", "kid_std", "precision", "recall",
        "mode_coverage" (a dict, or None without classes),
        "conditional_accuracy" (conditional models with a classifier only) and
        "protocol" (sample counts, split, seed, extractor).

    Raises:
        ValueError: for a shape mismatch between model and dataset, a bad
            `real_split` or `features`; and what `generate_images` raises.
        InceptionWeightsError: InceptionV3 is needed but its ImageNet weights
            cannot be downloaded (the message names `weights=PATH` and the
            classifier of a labelled dataset).

    Example:

    >>> import tempfile
    >>> from keras_genmodels import GAN
    >>> extractor = FeatureExtractor.from_dataset(
    ...     "digits", epochs=1, path=f"{tempfile.mkdtemp()}/digits.keras")
    >>> gan = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    >>> report = evaluate_generator(gan, "digits", num_samples=50,
    ...                             extractor=extractor, kid_subsets=5)
    >>> report["fid"] > 0, report["protocol"]["num_generated"]
    (True, 50)
    """
    if real_split not in ("train", "test"):
        raise ValueError(f"real_split must be 'train' or 'test'; got {real_split!r}.")
    if features not in FEATURES:
        raise ValueError(
            f"features must be one of {', '.join(map(repr, FEATURES))}; got "
            f"{features!r}."
        )
    options = _streamed_options(dataset, model, data_options)
    datasets = data = None
    if dataset.startswith(_STREAMED):
        datasets = load_dataset(
            dataset, batch_size=64, shuffle_buffer=1, seed=0, **options
        )
        shape, labelled = tuple(datasets.info.image_shape), datasets.info.labelled
    else:
        if options:
            raise ValueError(
                f"options {sorted(options)} apply to 'folder:PATH' and "
                f"'tfrecord:GLOB' datasets only, not to {dataset!r}."
            )
        data = load_arrays(dataset)
        shape, labelled = data.x_train.shape[1:], data.y_train is not None
    if tuple(model.data_shape) != tuple(shape):
        raise ValueError(
            f"The model makes examples of shape {tuple(model.data_shape)} but "
            f"dataset {dataset!r} has shape {tuple(shape)}."
        )
    if extractor is None:
        kind = choose_features(shape, labelled) if features == "auto" else features
        extractor = _make_extractor(
            kind, dataset, labelled, options, weights, verbose
        )
    fake, labels = generate_images(model, num_samples, seed=seed)
    reference = None
    if extractor.num_classes is not None:
        if data is None:
            data = load_arrays(dataset, **options)
        x_real = data.x_train if real_split == "train" else data.x_test
        y_real = data.y_train if real_split == "train" else data.y_test
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(x_real), min(num_samples, len(x_real)), replace=False)
        real_features, _ = extractor(x_real[chosen])
        num_real = len(chosen)
        fid = metrics.frechet_distance
    else:
        if datasets is None:
            datasets = load_dataset(dataset, batch_size=64, shuffle_buffer=1, seed=0)
        key = getattr(extractor, "key", None)
        path = None if key is None else features_lib.reference_path(
            dataset, real_split, shape, key, options, cache_dir
        )
        reference = features_lib.reference_features(
            extractor, datasets, real_split, num_samples, path, verbose
        )
        real_features, num_real = reference.features, len(reference.features)
        fid = frechet_distance
    fake_features, fake_probs = extractor(fake)

    kid = metrics.kernel_distance(
        real_features, fake_features, kid_subsets, kid_subset_size, seed=seed
    )
    pr = metrics.precision_recall(real_features, fake_features, k=k)
    coverage = None
    if extractor.num_classes is not None:
        num_classes = extractor.num_classes
        reference_freq = np.bincount(y_real, minlength=num_classes) / len(y_real)
        coverage = dataclasses.asdict(
            metrics.mode_coverage(fake_probs, num_classes, reference_freq)
        )
    report = {
        "fid": fid(real_features, fake_features),
        "kid_mean": kid.mean,
        "kid_std": kid.std,
        "precision": pr.precision,
        "recall": pr.recall,
        "mode_coverage": coverage,
    }
    if labels is not None and coverage is not None:
        accuracy = np.mean(fake_probs.argmax(axis=1) == labels)
        report["conditional_accuracy"] = float(accuracy)
    report["protocol"] = {
        "model": type(model).__name__,
        "family": family_of(model).name,
        "dataset": dataset,
        "real_split": real_split,
        "num_real": int(num_real),
        "num_generated": int(num_samples),
        "generated_labels": "balanced" if labels is not None else None,
        "seed": seed,
        "kid_num_subsets": kid.num_subsets,
        "kid_subset_size": kid.subset_size,
        "precision_recall_k": k,
        "mode_coverage_reference": f"{dataset} {real_split} label frequencies"
        if coverage is not None
        else None,
        "extractor": extractor.protocol,
    }
    if reference is not None:
        report["protocol"]["real_images"] = (
            f"the first {num_real} of {reference.num_split} {real_split} images in "
            f"a fixed order (seed {features_lib.REFERENCE_ORDER_SEED})"
        )
        report["protocol"]["reference_cache_hit"] = reference.cache_hit
    if options:
        report["protocol"]["data_options"] = {
            name: list(v) if isinstance(v, tuple) else v
            for name, v in options.items()
        }
    return report
