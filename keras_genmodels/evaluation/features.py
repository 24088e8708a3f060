"""Offline feature extractors: a cached in-package classifier, or local InceptionV3."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import time
from typing import Any

import keras
import numpy as np

from keras_genmodels.io_utils import atomic_write

HOME_ENV_VAR = "KERAS_GENMODELS_HOME"
DEFAULT_EPOCHS = {"digits": 20, "mnist5k": 10}
FEATURE_LAYER = "features"


def classifier_path(dataset: str, cache_dir: str | os.PathLike | None = None):
    """Returns the cache file of a dataset's classifier.

    Args:
        dataset: str. Dataset name; "npz:PATH" is named after the file's stem
            and a hash of its path.
        cache_dir: path or None. None uses `$KERAS_GENMODELS_HOME`, else
            `~/.keras_genmodels`. Defaults to None.

    Returns:
        The `pathlib.Path` `<cache_dir>/classifiers/<dataset>.keras`.

    Example:

    >>> classifier_path("digits", "/tmp/kg").as_posix()
    '/tmp/kg/classifiers/digits.keras'
    """
    root = cache_dir or os.environ.get(HOME_ENV_VAR) or "~/.keras_genmodels"
    name = dataset
    if dataset.startswith("npz:"):
        source = os.path.abspath(dataset[len("npz:") :])
        digest = hashlib.sha1(source.encode()).hexdigest()[:8]
        name = f"npz-{pathlib.Path(source).stem}-{digest}"
    return pathlib.Path(root).expanduser() / "classifiers" / f"{name}.keras"


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


def _train(dataset: str, epochs: int, seed: int, batch_size: int, verbose: int):
    from keras_genmodels.data import load_arrays

    data = load_arrays(dataset)
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
) -> tuple[keras.Model, dict[str, Any]]:
    """Like `train_classifier`, and also returns the classifier's description."""
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer or None; got {epochs!r}.")
    path = pathlib.Path(path) if path else classifier_path(dataset)
    info_path = path.with_suffix(".json")
    if path.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        wanted = dict(dataset=dataset, seed=seed)
        if epochs is not None:
            wanted["epochs"] = epochs
        if all(info.get(k) == v for k, v in wanted.items()):
            return keras.saving.load_model(path), {**info, "path": str(path)}
    epochs = epochs if epochs is not None else DEFAULT_EPOCHS.get(dataset, 10)
    model, info = _train(dataset, epochs, seed, batch_size, verbose)
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


_INCEPTION_MODELS: dict[tuple[str, float], keras.Model] = {}


def inception_features(images, weights, batch_size: int = 32) -> np.ndarray:
    """Pool-3 (2048-d) InceptionV3 features from a LOCAL weights file.

    Images in [0, 1] are resized to 299 x 299 (bilinear), grayscale is repeated
    to 3 channels, and pixels are mapped to [-1, 1] as InceptionV3 expects. The
    model is `keras.applications.InceptionV3(weights=weights, include_top=False,
    pooling="avg")`, built once per file. Nothing is downloaded: use e.g. the
    Keras file `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`. These
    are Keras ImageNet weights, not the TF-slim graph of the original FID code,
    so values are comparable with each other but not with published FIDs.

    Args:
        images: array-like. Images (N, H, W, C), C = 1 or 3, values in [0, 1].
        weights: str or path. The local weights file (required).
        batch_size: int. Images per forward pass. Defaults to 32.

    Returns:
        A float64 array (N, 2048).

    Raises:
        ValueError: if `weights` is None or "imagenet" (a download), or the
            images have a bad shape.
        FileNotFoundError: if the weights file does not exist.

    Example:

    >>> inception_features(np.zeros((1, 8, 8, 1)), weights=None)
    Traceback (most recent call last):
    ...
    ValueError: inception_features needs `weights`: the path of a local ...
    """
    if weights is None or str(weights) == "imagenet":
        raise ValueError(
            "inception_features needs `weights`: the path of a local InceptionV3 "
            "no-top weights file (e.g. inception_v3_weights_tf_dim_ordering_tf_"
            f"kernels_notop.h5); got {weights!r}. Nothing is downloaded at runtime."
        )
    path = os.path.abspath(os.fspath(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"InceptionV3 weights file not found: {path!r}")
    x = _images(images, None)
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels; got {x.shape[-1]}.")
    key = (path, os.path.getmtime(path))
    if key not in _INCEPTION_MODELS:
        _INCEPTION_MODELS[key] = keras.applications.InceptionV3(
            weights=path, include_top=False, pooling="avg", input_shape=(299, 299, 3)
        )
    model = _INCEPTION_MODELS[key]
    out = []
    for start in range(0, len(x), batch_size):
        batch = keras.ops.image.resize(x[start : start + batch_size], (299, 299))
        if batch.shape[-1] == 1:
            batch = keras.ops.repeat(batch, 3, axis=-1)
        out.append(keras.ops.convert_to_numpy(model(batch * 2.0 - 1.0)))
    return np.concatenate(out).astype(np.float64)
