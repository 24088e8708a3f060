"""The shared streaming pipeline: decode, resize, split, cache, shuffle, batch."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_genmodels.data import pixels

BINARIZE_MODES = (None, "static", "dynamic")
CROP_MODES = ("center", "pad", None)
VALIDATE_MODES = ("full", "header")
_AUTOTUNE = tf.data.AUTOTUNE


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a loaded dataset is: its shape, split sizes and class names.

    Args:
        name: str. The dataset name given to `load_dataset`.
        image_shape: tuple of int. Shape of one example, e.g. `(64, 64, 3)`.
        num_train: int or None. Train examples (None if not counted).
        num_test: int or None. Held-out examples (None if not counted).
        labelled: bool. Whether elements are `(x, y)` pairs (else `x` alone).
        class_names: tuple of str or None. Label `i` is `class_names[i]`; None for
            unlabelled data or labels without names.
        num_classes: int or None. Number of classes (None if unlabelled or unknown).
        skipped: tuple of str. Invalid files or records skipped with
            `skip_invalid=True` (those found by validation).
        background: str or None. The colour transparent pixels were composited
            over (None for named sets, or with `channels=4`, which keeps alpha).
        transparent: int. Images with an alpha channel or a transparent palette
            index (composited over `background`, or kept as alpha).
        rotated: int. Images turned upright from their EXIF orientation.
        resized: int. Images whose size differed from `image_shape` (resized).
        transparency_ignored: int. Images whose transparency is not read (a GIF's
            transparent index, a grey or RGB PNG's transparent colour key).

    Example:

    >>> info = DatasetInfo("folder:pets", (64, 64, 3), 90, 10, True, ("cat", "dog"), 2)
    >>> info.labelled, info.to_dict()["class_names"]
    (True, ['cat', 'dog'])
    """

    name: str
    image_shape: tuple[int, ...]
    num_train: int | None = None
    num_test: int | None = None
    labelled: bool = False
    class_names: tuple[str, ...] | None = None
    num_classes: int | None = None
    skipped: tuple[str, ...] = ()
    background: str | None = None
    transparent: int = 0
    rotated: int = 0
    resized: int = 0
    transparency_ignored: int = 0

    def summary(self) -> str:
        """One line on what loading did to the images (empty for named sets)."""
        parts = []
        if self.transparent:
            what = (
                "kept as premultiplied alpha"
                if self.background is None
                else f"composited over {self.background}"
            )
            parts.append(f"{self.transparent} with transparency {what}")
        if self.transparency_ignored:
            parts.append(
                f"{self.transparency_ignored} with a GIF or colour-key transparency "
                "that is not read"
            )
        if self.rotated:
            parts.append(f"{self.rotated} turned upright (EXIF orientation)")
        if self.resized:
            parts.append(f"{self.resized} resized to {self.image_shape[:2]}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped as invalid")
        return f"dataset {self.name!r}: " + "; ".join(parts) + "." if parts else ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (e.g. for a run folder's `dataset.json`)."""
        out = dataclasses.asdict(self)
        for key in ("image_shape", "class_names", "skipped"):
            out[key] = None if out[key] is None else list(out[key])
        return out


class Datasets(tuple):
    """`(train_ds, test_ds)` as returned by `load_dataset`, with an `info` attribute.

    Unpacks like a pair (`train_ds, test_ds = load_dataset(...)`); `.info` is the
    `DatasetInfo` of the data (class names, shapes, split sizes).
    """

    def __new__(cls, train: tf.data.Dataset, test: tf.data.Dataset | None, info):
        obj = super().__new__(cls, (train, test))
        obj.info = info
        return obj

    @property
    def train(self) -> tf.data.Dataset:
        return self[0]

    @property
    def test(self) -> tf.data.Dataset | None:
        return self[1]


# ---- argument checks ----------------------------------------------------------------
def check_positive_int(arg: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{arg} must be a positive integer, got {value!r}.")


def check_binarize(binarize: str | None) -> None:
    if binarize not in BINARIZE_MODES:
        raise ValueError(
            f"Invalid binarize={binarize!r}. Valid values: None, 'static', 'dynamic'."
        )


def check_image_size(image_size: object) -> tuple[int, int] | None:
    """None, an int n (n x n) or a pair (H, W) of positive ints -> (H, W) or None."""
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    try:
        size = tuple(size)
        ok = len(size) == 2 and all(
            isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0
            for s in size
        )
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"image_size must be a positive int or a pair (height, width) of positive "
            f"ints, got {image_size!r}."
        )
    return int(size[0]), int(size[1])


def check_image_options(channels, crop, cache, test_fraction, validate) -> None:
    if channels not in (None, 1, 3, 4):
        raise ValueError(
            f"channels must be None, 1 (grey), 3 (RGB) or 4 (premultiplied RGBA), "
            f"got {channels!r}."
        )
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be 'center', 'pad' or None, got {crop!r}.")
    if cache is not None and not isinstance(cache, str) or cache == "":
        raise ValueError(
            f"cache must be None, 'memory' or a file path prefix, got {cache!r}."
        )
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, int | float)
        or not 0 <= test_fraction < 1
    ):
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}.")
    if validate not in VALIDATE_MODES:
        raise ValueError(f"validate must be 'full' or 'header', got {validate!r}.")


# ---- split and noise keys -----------------------------------------------------------
def path_key(relative_path: str) -> int:
    """A stable 63-bit key of a relative posix path: the first bytes of its SHA-1."""
    digest = hashlib.sha1(relative_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def in_test_split(key: int, test_fraction: float) -> bool:
    """The held-out rule: key / 2**63 < test_fraction."""
    return key / 2.0**63 < test_fraction


# ---- decoding -----------------------------------------------------------------------
def decode(
    contents: tf.Tensor,
    channels: int,
    background: Sequence[float] = (1.0, 1.0, 1.0),
    orientation: tf.Tensor | int = 1,
) -> tf.Tensor:
    """Encoded PNG/JPEG/BMP/GIF bytes -> float32 [h, w, channels] in [0, 1].

    The image is first turned upright by its EXIF `orientation` (1-8). A PNG's
    alpha (RGBA, grey+alpha, or a palette with a transparent index) is then
    composited over `background` (see `pixels.composite`), or kept premultiplied
    for `channels=4`. Grey images are repeated to RGB for `channels=3`; colour
    images become grey with the ITU-R 601 weights for `channels=1`. A BMP's
    fourth channel (often unused padding) and GIF transparency are not read.
    """
    return convert(decode_native(contents), channels, background, orientation)


def decode_native(contents: tf.Tensor) -> tf.Tensor:
    """Encoded bytes -> float32 [h, w, 1|2|3|4] as stored (2 and 4: with alpha)."""
    x = tf.io.decode_image(contents, dtype=tf.float32, expand_animations=False)
    bmp = tf.equal(tf.strings.substr(contents, 0, 2), b"BM")
    return tf.cond(bmp & (tf.shape(x)[-1] == 4), lambda: x[..., :3], lambda: x)


def convert(
    x: tf.Tensor,
    channels: int,
    background: Sequence[float],
    orientation: tf.Tensor | int,
) -> tf.Tensor:
    """`decode_native` pixels -> upright, composited `channels` (see `decode`)."""
    out = pixels.composite(pixels.orient(x, orientation), channels, background)
    return tf.ensure_shape(out, [None, None, channels])


def resize(x: tf.Tensor, size: tuple[int, int], crop: str | None) -> tf.Tensor:
    """Antialiased bilinear resize to `size`, keeping the aspect by crop or pad.

    "center" scales the shorter side to fit and crops the middle; "pad" scales the
    longer side to fit and pads with zeros around the middle; None stretches.
    An image already of `size` is returned unchanged (its pixels exact).
    """
    height, width = size
    same = tf.reduce_all(tf.shape(x)[:2] == tf.constant([height, width]))
    return tf.cond(
        same,
        lambda: tf.ensure_shape(x, [height, width, None]),
        lambda: _resized(x, size, crop),
    )


def _resized(x: tf.Tensor, size: tuple[int, int], crop: str | None) -> tf.Tensor:
    height, width = size
    if crop is None:
        out = tf.image.resize(x, size, antialias=True)
    else:
        hw = tf.cast(tf.shape(x)[:2], tf.float32)
        ratio = tf.constant([height, width], tf.float32) / hw
        scale = tf.reduce_max(ratio) if crop == "center" else tf.reduce_min(ratio)
        new = tf.cast(tf.round(hw * scale), tf.int32)
        if crop == "center":
            new = tf.maximum(new, [height, width])
            out = tf.image.resize(x, new, antialias=True)
            top, left = (new[0] - height) // 2, (new[1] - width) // 2
            out = out[top : top + height, left : left + width]
        else:
            new = tf.clip_by_value(new, 1, [height, width])
            out = tf.image.resize(x, new, antialias=True)
            top, left = (height - new[0]) // 2, (width - new[1]) // 2
            out = tf.image.pad_to_bounding_box(out, top, left, height, width)
    return tf.ensure_shape(tf.clip_by_value(out, 0.0, 1.0), [height, width, None])


def bernoulli(x: tf.Tensor, seed: int, key: tf.Tensor) -> tf.Tensor:
    """One Bernoulli(x) sample per pixel from the stateless seed (seed, key)."""
    stateless = tf.stack([tf.cast(seed, tf.int64), tf.cast(key, tf.int64)])
    u = tf.random.stateless_uniform(tf.shape(x), seed=stateless, dtype=x.dtype)
    return tf.cast(u < x, x.dtype)


def dynamic_binarize(ds: tf.data.Dataset, seed: int, labelled: bool):
    """A fresh Bernoulli sample of every batch, from a stream that changes per epoch."""
    noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def resample(element, noise_seed):
        x = element[0] if labelled else element
        x = bernoulli(x, seed, noise_seed)
        return (x, element[1]) if labelled else x

    return tf.data.Dataset.zip(ds, noise_seeds).map(
        resample, num_parallel_calls=_AUTOTUNE, deterministic=True
    )


# ---- the streaming pipeline over decoded examples -----------------------------------
def build(
    elements: tf.data.Dataset,
    load: Callable[..., tf.Tensor],
    *,
    labelled: bool,
    train: bool,
    batch_size: int,
    binarize: str | None,
    seed: int,
    shuffle_buffer: int | None,
    num_elements: int | None,
    cache: str | None,
    cache_suffix: str,
    skip_invalid: bool,
) -> tf.data.Dataset:
    """Elements `(source, label, key)` -> batches of `x` or `(x, y)`.

    `load(source)` returns one float32 image. Without a cache, the (cheap) sources
    are shuffled before decoding, so memory holds only a few batches; with a cache,
    decoded images are cached once and shuffled after by a bounded buffer
    (`shuffle_buffer`, default 1024).
    """
    static = binarize == "static" or (binarize == "dynamic" and not train)

    def load_element(source, label, key):
        x = load(source)
        if static:
            x = bernoulli(x, seed, key)
        return (x, label) if labelled else x

    ds = elements
    if train and cache is None:
        ds = ds.shuffle(
            shuffle_buffer or num_elements or 1 << 16,
            seed=seed,
            reshuffle_each_iteration=True,
        )
    ds = ds.map(load_element, num_parallel_calls=_AUTOTUNE, deterministic=True)
    if skip_invalid:
        ds = ds.ignore_errors()
    if cache == "memory":
        ds = ds.cache()
    elif cache is not None:
        ds = ds.cache(f"{cache}.{cache_suffix}")
    if train and cache is not None:
        ds = ds.shuffle(
            shuffle_buffer or 1024, seed=seed, reshuffle_each_iteration=True
        )
    ds = ds.batch(batch_size)
    if train and binarize == "dynamic":
        ds = dynamic_binarize(ds, seed, labelled)
    return ds.prefetch(_AUTOTUNE)


def element_dataset(
    sources: Sequence[str], labels: Sequence[int] | None, keys: Sequence[int]
) -> tf.data.Dataset:
    """A dataset of `(source, label, key)` (label -1 when unlabelled)."""
    labels = [-1] * len(sources) if labels is None else labels
    return tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(list(sources), tf.string),
            tf.constant(list(labels), tf.int64),
            tf.constant(list(keys), tf.int64),
        )
    )
