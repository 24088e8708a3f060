"""Feature extractors: a cached classifier of a labelled set; dataset keys; caches."""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import pathlib
import re
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels.io_utils import atomic_write

HOME_ENV_VAR = "KERAS_GENMODELS_HOME"
DEFAULT_EPOCHS = {"digits": 20, "mnist5k": 10}
FEATURE_LAYER = "features"


def home_dir(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """`cache_dir`, else `$KERAS_GENMODELS_HOME`, else `~/.keras_genmodels`."""
    root = cache_dir or os.environ.get(HOME_ENV_VAR) or "~/.keras_genmodels"
    return pathlib.Path(root).expanduser()


def _listing_digest(source: str, options: dict | None) -> str:
    """SHA-1 of a folder's or glob's files (path, size, mtime) and the options."""
    digest = hashlib.sha1(json.dumps(options or {}, sort_keys=True).encode())
    if os.path.isdir(source):
        files = sorted(p for p in pathlib.Path(source).rglob("*") if p.is_file())
    else:
        files = sorted(pathlib.Path(p) for p in glob.glob(source))
    for file in files:
        stat = file.stat()
        name = file.relative_to(source) if os.path.isdir(source) else file
        digest.update(f"{name.as_posix()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:10]


def dataset_key(dataset: str, options: dict | None = None) -> str:
    """A file-name-safe key of a dataset that changes when its files change.

    A named set is its name; "npz:PATH" is the file's stem and a hash of its path;
    "folder:PATH" and "tfrecord:GLOB" are the stem and a hash of every file's
    relative path, size and modification time plus the loader `options`, so
    adding, removing or editing a file (or asking for another image size) gives
    another key.

    Example:

    >>> dataset_key("digits")
    'digits'
    """
    for prefix in ("folder:", "tfrecord:"):
        if dataset.startswith(prefix):
            source = os.path.abspath(dataset[len(prefix) :])
            stem = re.sub(r"[^\w.-]", "_", pathlib.Path(source).stem) or "root"
            return f"{prefix[:-1]}-{stem}-{_listing_digest(source, options)}"
    if dataset.startswith("npz:"):
        source = os.path.abspath(dataset[len("npz:") :])
        digest = hashlib.sha1(source.encode()).hexdigest()[:8]
        return f"npz-{pathlib.Path(source).stem}-{digest}"
    return dataset


def classifier_path(
    dataset: str, cache_dir: str | os.PathLike | None = None, options=None
):
    """Returns the cache file of a dataset's classifier.

    Args:
        dataset: str. Dataset name, named after `dataset_key(dataset, options)`.
        cache_dir: path or None. None uses `$KERAS_GENMODELS_HOME`, else
            `~/.keras_genmodels`. Defaults to None.
        options: dict or None. Loader options of a folder or TFRecord set.
            Defaults to None.

    Returns:
        The `pathlib.Path` `<cache_dir>/classifiers/<dataset key>.keras`.

    Example:

    >>> classifier_path("digits", "/tmp/kg").as_posix()
    '/tmp/kg/classifiers/digits.keras'
    """
    name = dataset_key(dataset, options)
    return home_dir(cache_dir) / "classifiers" / f"{name}.keras"


def build_classifier(
    input_shape, num_classes: int, seed: int | None = None
) -> keras.Model:
    """Builds the small conv classifier whose penultimate layer gives features.

    Three 3x3 convolutions (32, 64 stride 2, 128 stride 2), a 128-unit linear
    layer named "features" (taken before its ReLU, so no feature is constantly
    zero and covariances stay full rank), then dropout and softmax.

    Args:
        input_shape: tuple. `(height, width, channels)` of one image.
        num_classes: int. Number of classes.
        seed: int or None. Seeds the initializers and the dropout without
            touching the global random state; None draws from Keras's global
            generator. Defaults to None.

    Returns:
        A functional `keras.Model` from images to class probabilities.

    Example:

    >>> model = build_classifier((8, 8, 1), 10)
    >>> tuple(model.get_layer("features").output.shape), tuple(model.output.shape)
    ((None, 128), (None, 10))
    """
    layers = keras.layers
    seeds = iter(range(5)) if seed is None else iter(range(seed, seed + 5))

    def init():
        offset = next(seeds)
        return keras.initializers.GlorotUniform(None if seed is None else offset)

    x = keras.Input(shape=tuple(input_shape), name="images")
    conv = dict(padding="same", activation="relu")
    h = layers.Conv2D(32, 3, kernel_initializer=init(), **conv)(x)
    h = layers.Conv2D(64, 3, strides=2, kernel_initializer=init(), **conv)(h)
    h = layers.Conv2D(128, 3, strides=2, kernel_initializer=init(), **conv)(h)
    features = layers.Dense(128, kernel_initializer=init(), name=FEATURE_LAYER)(
        layers.Flatten()(h)
    )
    h = layers.Dropout(0.3, seed=seed)(layers.ReLU()(features))
    probabilities = layers.Dense(
        num_classes, activation="softmax", kernel_initializer=init(), name="probs"
    )(h)
    return keras.Model(x, probabilities, name="feature_classifier")


def _train(dataset, epochs, seed, batch_size, verbose, options=None):
    from keras_genmodels.data import load_arrays

    data = load_arrays(dataset, **(options or {}))
    if data.y_train is None or data.x_train.ndim != 4:
        raise ValueError(
            f"A feature classifier needs labelled images; dataset {dataset!r} has "
            f"{'no labels' if data.y_train is None else 'non-image examples'}."
        )
    num_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    model = build_classifier(data.x_train.shape[1:], num_classes, seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    # Shuffled by a local generator: the global random state is left alone.
    order = np.random.default_rng(seed)
    for epoch in range(epochs):
        permutation = order.permutation(len(data.x_train))
        model.fit(
            data.x_train[permutation],
            data.y_train[permutation],
            batch_size=batch_size,
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=False,
            verbose=verbose,
        )
    seconds = time.perf_counter() - started
    test = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    info = dict(
        name="feature_classifier",
        dataset=dataset,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        test_accuracy=float(test["accuracy"]),
        train_seconds=round(seconds, 2),
        num_train=int(len(data.x_train)),
        num_test=int(len(data.x_test)),
        feature_layer=FEATURE_LAYER,
    )
    return model, info


def load_or_train_classifier(
    dataset: str = "mnist5k",
    epochs: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    batch_size: int = 64,
    verbose: int = 0,
    data_options: dict | None = None,
) -> tuple[keras.Model, dict[str, Any]]:
    """Like `train_classifier`, and also returns the classifier's description.

    `data_options` are the loader options (image_size, channels, ...) of a
    folder or TFRecord set; they are part of the cache key.
    """
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer or None; got {epochs!r}.")
    default = classifier_path(dataset, options=data_options)
    path = pathlib.Path(path) if path else default
    info_path = path.with_suffix(".json")
    if path.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        wanted = dict(dataset=dataset, seed=seed)
        if epochs is not None:
            wanted["epochs"] = epochs
        if all(info.get(k) == v for k, v in wanted.items()):
            return keras.saving.load_model(path), {**info, "path": str(path)}
    epochs = epochs if epochs is not None else DEFAULT_EPOCHS.get(dataset, 10)
    extra = {"options": data_options} if data_options else {}
    model, info = _train(dataset, epochs, seed, batch_size, verbose, **extra)
    atomic_write(path, lambda tmp: model.save(tmp))
    text = json.dumps(info, indent=2) + "\n"  # written last: marks a complete cache
    atomic_write(info_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return model, {**info, "path": str(path)}


def train_classifier(
    dataset: str = "mnist5k",
    epochs: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    batch_size: int = 64,
    verbose: int = 0,
) -> keras.Model:
    """Returns the dataset's feature classifier, trained once and then cached.

    The model (see `build_classifier`) is trained with Adam(1e-3) on the train
    split of `load_arrays(dataset)` and saved atomically to `path` with a JSON
    description next to it (`.json`: epochs, seed, test accuracy, time). A later
    call with the same dataset, seed and epochs (or epochs=None) loads the file
    instead of training. Training is reproducible for a fixed `seed` (seeded
    initializers, dropout and shuffling) and leaves the global random state of
    Python, numpy, TensorFlow and Keras as it was.

    Args:
        dataset: str. A labelled image dataset of `load_arrays`. Defaults to
            "mnist5k".
        epochs: int or None. Training epochs; None reuses any cached classifier,
            else trains `DEFAULT_EPOCHS[dataset]` (10 if unlisted). Defaults to
            None.
        seed: int. Seed of the initialisation and shuffling. Defaults to 0.
        path: path or None. The cache file; None uses `classifier_path(dataset)`
            (under `$KERAS_GENMODELS_HOME` or `~/.keras_genmodels`). Defaults to
            None.
        batch_size: int. Training batch size. Defaults to 64.
        verbose: int. Keras verbosity of training. Defaults to 0.

    Returns:
        The trained `keras.Model` (images -> class probabilities).

    Raises:
        ValueError: if the dataset has no labels or no images, or for a
            non-positive `epochs`.

    Example:

    >>> import tempfile
    >>> home = tempfile.mkdtemp()
    >>> model = train_classifier("digits", epochs=1, path=f"{home}/d.keras")
    >>> sorted(p.name for p in pathlib.Path(home).iterdir())
    ['d.json', 'd.keras']
    """
    return load_or_train_classifier(dataset, epochs, seed, path, batch_size, verbose)[0]


def _images(images, shape, arg="images") -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or (shape is not None and x.shape[1:] != tuple(shape)):
        expected = (
            "(N, H, W, C)" if shape is None else f"(N, {', '.join(map(str, shape))})"
        )
        raise ValueError(f"{arg} must have shape {expected}; got {x.shape}.")
    if len(x) == 0:
        raise ValueError(f"{arg} is empty.")
    return x


class FeatureExtractor:
    """Penultimate-layer features and class probabilities of a classifier.

    Args:
        classifier: keras.Model. Images -> class probabilities, with a layer named
            `feature_layer` (as `build_classifier` makes).
        feature_layer: str. Name of the feature layer. Defaults to "features".
        info: dict or None. Description of the classifier (dataset, epochs, ...),
            reported as the extractor's `protocol`. Defaults to None.

    Example:

    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/digits.keras"
    >>> extractor = FeatureExtractor.from_dataset("digits", epochs=1, path=path)
    >>> features, probs = extractor(np.zeros((5, 8, 8, 1)))
    >>> features.shape, probs.shape, extractor.protocol["dataset"]
    ((5, 128), (5, 10), 'digits')
    """

    def __init__(self, classifier, feature_layer: str = FEATURE_LAYER, info=None):
        self.classifier = classifier
        self.model = keras.Model(
            classifier.inputs,
            [classifier.get_layer(feature_layer).output, classifier.outputs[0]],
        )
        self.input_shape = tuple(classifier.input_shape[1:])
        self.num_classes = int(classifier.output_shape[-1])
        self.info = dict(info or {"name": classifier.name})

    @classmethod
    def from_dataset(cls, dataset="mnist5k", epochs=None, seed=0, path=None, **kw):
        """Wraps `train_classifier(dataset, epochs, seed, path, **kw)` (cached)."""
        model, info = load_or_train_classifier(dataset, epochs, seed, path, **kw)
        return cls(model, info=info)

    @property
    def protocol(self) -> dict[str, Any]:
        """The extractor's description, without the local cache path."""
        return {k: v for k, v in self.info.items() if k != "path"}

    def __call__(self, images, batch_size: int = 500):
        """Returns `(features, probabilities)` as float64 arrays, batch first."""
        x = _images(images, self.input_shape)
        features, probs = self.model.predict(x, batch_size=batch_size, verbose=0)
        return features.astype(np.float64), probs.astype(np.float64)


REFERENCE_ORDER_SEED = 0


@dataclasses.dataclass(frozen=True)
class ReferenceFeatures:
    """Features of real images and the statistics of all cached ones.

    Args:
        features: np.ndarray. Float64 (m, d): the first m images of the split in
            its fixed order (a permutation seeded with `REFERENCE_ORDER_SEED`).
        mean: np.ndarray. Mean (d,) of every cached feature vector.
        cov: np.ndarray. Unbiased covariance (d, d) of every cached vector.
        num_split: int. Images in the split.
        path: pathlib.Path or None. The cache file.
        cache_hit: bool. Whether nothing had to be computed.
    """

    features: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    num_split: int
    path: pathlib.Path | None
    cache_hit: bool


def reference_path(dataset, split, image_shape, extractor_key, options=None,
                   cache_dir=None) -> pathlib.Path:
    """`<home>/reference/<dataset key>-<split>-<HxWxC>-<extractor key>.npz`.

    Example:

    >>> reference_path("digits", "train", (8, 8, 1), "inception-ab12", None,
    ...                "/tmp/kg").as_posix()
    '/tmp/kg/reference/digits-train-8x8x1-inception-ab12.npz'
    """
    shape = "x".join(str(int(s)) for s in image_shape)
    name = f"{dataset_key(dataset, options)}-{split}-{shape}-{extractor_key}.npz"
    return home_dir(cache_dir) / "reference" / name


def _extract(extractor, x, progress):
    if progress is not None and hasattr(extractor, "features"):
        return extractor.features(x, progress=progress)
    features = extractor(x)[0]
    if progress is not None:
        progress.add(len(x))
    return features


def _features_at(extractor, ds, labelled, positions, verbose, chunk=256):
    """Features of the stream's elements at `positions`, in that order."""
    rank = {int(i): r for r, i in enumerate(positions)}
    last = int(max(positions))
    bar = keras.utils.Progbar(len(positions)) if verbose else None
    pending, ranks, parts, offset = [], [], [], 0

    def flush():
        parts.append((list(ranks), _extract(extractor, np.concatenate(pending), bar)))
        pending.clear()
        ranks.clear()

    for element in ds:
        x = (element[0] if labelled else element).numpy()
        keep = [j for j in range(len(x)) if offset + j in rank]
        if keep:
            pending.append(x[keep])
            ranks.extend(rank[offset + j] for j in keep)
        offset += len(x)
        if len(ranks) >= chunk:
            flush()
        if offset > last:
            break
    if ranks:
        flush()
    found = sum(len(r) for r, _ in parts)
    if found != len(positions):
        raise ValueError(
            f"the dataset yielded {offset} images, fewer than the {last + 1} it "
            "announced (invalid files skipped while reading?); validate it with "
            "validate='full'."
        )
    out = np.empty((len(positions), parts[0][1].shape[1]), np.float64)
    for r, features in parts:
        out[r] = features
    return out


def reference_features(
    extractor, datasets, split: str = "train", count: int = 2000, path=None,
    verbose: int = 0,
) -> ReferenceFeatures:
    """Features of the first `count` real images of a split, cached in `path`.

    The split's images are taken in a fixed order (a permutation of their
    positions, seeded with 0, of an unshuffled pipeline), so the images used do
    not depend on what is cached. The `.npz` cache holds the features of the
    first n images of that order (float32), their mean and covariance and a
    description (dataset, split, image shape, split size, extractor); a later
    request for at most n images reads it, a larger one computes only the
    missing images and rewrites it atomically. A cache with another description
    is recomputed.

    Args:
        extractor: a feature extractor. `extractor(x)[0]` are features.
        datasets: Datasets. `load_dataset(..., shuffle_buffer=1)` (unshuffled).
        split: str. "train" or "test". Defaults to "train".
        count: int. Images wanted (capped at the split's size). Defaults to 2000.
        path: path or None. The cache file; None caches nothing. Defaults to None.
        verbose: int. 1 shows a progress bar. Defaults to 0.

    Returns:
        A `ReferenceFeatures`.

    Raises:
        ValueError: for a split the dataset does not have.
    """
    ds = datasets.train if split == "train" else datasets.test
    info = datasets.info
    if ds is None:
        raise ValueError(
            f"dataset {info.name!r} has no {split!r} split (test_fraction=0?); "
            "use real_split='train'."
        )
    total = info.num_train if split == "train" else info.num_test
    if total is None:
        total = sum(int(tf.shape(e[0] if info.labelled else e)[0]) for e in ds)
    order = np.random.default_rng(REFERENCE_ORDER_SEED).permutation(total)
    wanted = min(int(count), total)
    meta = dict(
        dataset=info.name,
        split=split,
        image_shape=[int(s) for s in info.image_shape],
        num_split=int(total),
        order_seed=REFERENCE_ORDER_SEED,
        extractor=extractor.protocol,
    )
    meta = json.loads(json.dumps(meta))
    cached = None
    path = None if path is None else pathlib.Path(path)
    if path is not None and path.is_file():
        with np.load(path) as stored:
            if json.loads(str(stored["meta"])) == meta:
                cached = stored["features"].astype(np.float64)
                mean, cov = stored["mean"], stored["cov"]
    hit = cached is not None and len(cached) >= wanted
    if not hit:
        start = 0 if cached is None else len(cached)
        new = _features_at(extractor, ds, info.labelled, order[start:wanted], verbose)
        cached = new if cached is None else np.concatenate([cached, new])
        mean, cov = cached.mean(axis=0), np.cov(cached, rowvar=False)
        if path is not None:
            atomic_write(
                path,
                lambda tmp: np.savez(
                    tmp,
                    features=cached.astype(np.float32),
                    mean=mean,
                    cov=cov,
                    meta=np.array(json.dumps(meta)),
                ),
            )
    return ReferenceFeatures(cached[:wanted], mean, cov, int(total), path, hit)
