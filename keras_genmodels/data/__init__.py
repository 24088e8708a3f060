"""Datasets as tf.data pipelines: named sets, image folders and TFRecords in [0, 1]."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_genmodels.data import pipeline, pixels
from keras_genmodels.data.folder import IMAGE_EXTENSIONS, load_folder
from keras_genmodels.data.named import DATASETS, DataArrays
from keras_genmodels.data.named import load_arrays as _load_named
from keras_genmodels.data.pipeline import (
    BINARIZE_MODES,
    CROP_MODES,
    DatasetInfo,
    Datasets,
)
from keras_genmodels.data.tfrecord import load_tfrecord

__all__ = [
    "BINARIZE_MODES",
    "CROP_MODES",
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "DataArrays",
    "DatasetInfo",
    "Datasets",
    "load_arrays",
    "load_dataset",
]

_STREAMED = ("folder:", "tfrecord:")
_MAX_ARRAY_EXAMPLES = 50_000
_LEVELS = (np.arange(256) / 255.0).astype(np.float32)  # exact k / 255 in float32


def _streamed(name: object) -> bool:
    return isinstance(name, str) and name.startswith(_STREAMED)


def _codes(x: np.ndarray, rows: int = 4096) -> np.ndarray | None:
    """uint8 codes k with x == k / 255 exactly (checked in chunks), else None."""
    codes = np.empty(x.shape, np.uint8)
    for start in range(0, len(x), rows):
        chunk = x[start : start + rows]
        code = np.clip(np.rint(chunk * 255.0), 0, 255).astype(np.uint8)
        if not np.array_equal(_LEVELS[code], chunk):
            return None
        codes[start : start + rows] = code
    return codes


def _store(x: np.ndarray) -> tuple[tf.Variable, tf.Tensor | None]:
    """Holds an array in a variable: uint8 codes + levels if x is exactly k/255."""
    codes = _codes(x)
    with tf.device("/cpu:0"):
        if codes is not None:
            return tf.Variable(codes, trainable=False), tf.constant(_LEVELS)
        return tf.Variable(x, trainable=False), None


def _named(data: DataArrays, train: bool, batch_size, binarize, seed, shuffle_buffer):
    """Index batches gathered from a variable: no graph constant, no element buffer."""
    x, y = (data.x_train, data.y_train) if train else (data.x_test, data.y_test)
    values, levels = _store(x)
    labels = None if y is None else tf.constant(y, tf.int64)

    def gather(index):
        batch = tf.gather(values, index)
        batch = batch if levels is None else tf.gather(levels, tf.cast(batch, tf.int32))
        return batch if labels is None else (batch, tf.gather(labels, index))

    ds = tf.data.Dataset.range(len(x))
    if train:  # same permutation as shuffling the examples themselves
        ds = ds.shuffle(
            shuffle_buffer or len(x), seed=seed, reshuffle_each_iteration=True
        )
    ds = ds.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if train and binarize == "dynamic":
        ds = pipeline.dynamic_binarize(ds, seed, labelled=labels is not None)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds._keras_genmodels_values = values  # the variable lives as long as the dataset
    return ds


def load_dataset(
    name: str = "mnist5k",
    batch_size: int = 128,
    binarize: str | None = None,
    seed: int = 0,
    shuffle_buffer: int | None = None,
    *,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
    background: str | tuple[float, float, float] | None = None,
    crop: str | None = "center",
    cache: str | None = None,
    test_fraction: float = 0.1,
    skip_invalid: bool = False,
    validate: str = "full",
    labels: str | None = "inferred",
    min_images_per_class: int = 2,
    image_key: str = "image",
    label_key: str | None = "label",
) -> Datasets:
    """Builds batched train and test `tf.data` pipelines for a dataset.

    Elements are `(x, y)` tuples when the dataset has labels (int64), else `x` alone;
    images are float32 NHWC in [0, 1]. The train pipeline reshuffles every epoch
    (deterministically given `seed`); with `binarize="dynamic"` it also draws a fresh
    Bernoulli sample of every pixel each epoch. The test pipeline keeps a fixed order.

    Named sets stay in memory once (uint8 when exactly k/255) in a variable, and
    batches are gathered from shuffled indices: nothing is embedded as a graph
    constant or copied into a shuffle buffer. Build them outside `strategy.scope()`
    (inside, the variable is mirrored, one copy per replica).

    Folder and TFRecord images are turned upright by their EXIF orientation, and
    transparent pixels (PNG alpha, grey+alpha, a palette's transparent index) are
    composited over `background` before any resize, so fully transparent pixels
    become the background whatever colour the file stored under them;
    `channels=4` keeps alpha instead (premultiplied RGBA). `result.info` counts
    the images that were composited, rotated, resized or skipped
    (`result.info.summary()` says it in one line).

    "folder:PATH" streams PNG/JPEG/BMP/GIF files from a directory tree. Subfolders
    of PATH are classes (label i = i-th name in sorted order, kept in
    `result.info.class_names`); a folder of images without subfolders is unlabelled.
    Files are listed once; each epoch reads, decodes (in parallel), resizes
    (bilinear, antialiased) and scales them, so memory does not grow with the data
    unless `cache` asks for it. The held-out split is fixed by the file itself: a
    file is a test file iff SHA-1(relative posix path) / 2**160 < test_fraction
    (to 63 bits), so adding files never moves existing ones between splits.

    "tfrecord:GLOB" reads `tf.train.Example` records with the encoded image under
    `image_key` and an optional int64 label under `label_key`; a record is held out
    iff FarmHash64("file name:record index") mod 2**62 < test_fraction * 2**62.

    Args:
        name: str. "mnist5k", "digits", "mnist", "fashion_mnist", "cifar10",
            "npz:PATH" (see `load_arrays`), "folder:PATH" or "tfrecord:GLOB".
            Defaults to "mnist5k".
        batch_size: int. Examples per batch (the last batch may be smaller).
            Defaults to 128.
        binarize: str or None. None, "static" (one fixed Bernoulli sample per
            pixel) or "dynamic" (train resampled per batch, test fixed). Defaults
            to None.
        seed: int. Seed of the shuffling and binarisation noise. Defaults to 0.
        shuffle_buffer: int or None. Shuffle buffer size. None shuffles the whole
            train split of a named set or folder (a folder shuffles its file names,
            not images), 1024 records of a TFRecord set, or 1024 cached images.
            Defaults to None.
        image_size: int, (height, width) or None. Output size of folder/TFRecord
            images; None keeps the size of the images if they all share one.
            Defaults to None.
        channels: 1, 3, 4 or None. Grey, RGB or premultiplied RGBA output (grey
            images are repeated to RGB, colour ones averaged with ITU-R 601
            weights; 1 and 3 composite alpha over `background`, 4 keeps it as
            (a * rgb, a)); None is 3 if any image has colour, else 1. Defaults
            to None.
        background: str, (r, g, b) or None. The colour transparent pixels are
            composited over: a name ("white", "black"), a hex code ("#808080")
            or an RGB triple in [0, 1]; None is "white". Defaults to None.
        crop: "center", "pad" or None. Keep the aspect ratio by cropping the middle
            or zero-padding around it, or stretch (None). Defaults to "center".
        cache: None, "memory" or a file path prefix. Caches decoded, resized
            images (float32, height * width * channels * 4 bytes each) after the
            first epoch; files are `PREFIX.train` and `PREFIX.test`. Defaults to
            None.
        test_fraction: float in [0, 1). Held-out fraction of a folder or TFRecord
            set; 0 gives no test pipeline (None). Defaults to 0.1.
        skip_invalid: bool. Skip unreadable or corrupt images (listed in
            `info.skipped`) instead of raising. Defaults to False.
        validate: "full" or "header". "full" decodes every image once up front and
            names every invalid file; "header" only reads file headers (fast on
            huge sets; a corrupt image body then fails, or is skipped uncounted
            with `skip_invalid`, during training). Defaults to "full".
        labels: "inferred" or None. None reads a folder tree unlabelled. Defaults to
            "inferred".
        min_images_per_class: int. Fewest images a class folder may hold (a class
            with one image cannot be in both splits). Defaults to 2.
        image_key: str. TFRecord feature of the encoded image. Defaults to "image".
        label_key: str or None. TFRecord int64 label feature; the default "label"
            is used when present, another name must be present, None ignores
            labels. Defaults to "label".

    Returns:
        A `Datasets` pair `(train_ds, test_ds)` with `.info` (a `DatasetInfo`).

    Raises:
        ValueError: for an invalid argument, a missing or empty folder, no image
            files or records, invalid images, wrong TFRecord keys, a class folder
            with too few images, and everything `load_arrays` raises.

    Example:

    >>> train_ds, test_ds = load_dataset("digits", batch_size=32)
    >>> x, y = next(iter(train_ds))
    >>> tuple(x.shape), tuple(y.shape)
    ((32, 8, 8, 1), (32,))
    """
    pipeline.check_positive_int("batch_size", batch_size)
    if shuffle_buffer is not None:
        pipeline.check_positive_int("shuffle_buffer", shuffle_buffer)
    pipeline.check_binarize(binarize)
    build = dict(
        batch_size=batch_size,
        binarize=binarize,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
    )
    if not _streamed(name):
        for arg, value in (
            ("image_size", image_size),
            ("channels", channels),
            ("background", background),
            ("cache", cache),
        ):
            if value is not None:
                raise ValueError(
                    f"{arg}={value!r} applies to 'folder:PATH' and 'tfrecord:GLOB' "
                    f"datasets only, not to {name!r}; leave it None."
                )
        data = _load_named(name, binarize=binarize, seed=seed)
        y = data.y_train
        y_max = -1 if data.y_test is None or not len(data.y_test) else data.y_test.max()
        info = DatasetInfo(
            name=name,
            image_shape=tuple(int(s) for s in data.x_train.shape[1:]),
            num_train=len(data.x_train),
            num_test=len(data.x_test),
            labelled=y is not None,
            num_classes=None if y is None else int(max(y.max(), y_max)) + 1,
        )
        return Datasets(_named(data, True, **build), _named(data, False, **build), info)
    image_size = pipeline.check_image_size(image_size)
    pipeline.check_image_options(channels, crop, cache, test_fraction, validate)
    pipeline.check_positive_int("min_images_per_class", min_images_per_class)
    background = pixels.DEFAULT_BACKGROUND if background is None else background
    pixels.parse_background(background)
    options = dict(
        image_size=image_size,
        channels=channels,
        background=background,
        crop=crop,
        cache=cache,
        test_fraction=float(test_fraction),
        skip_invalid=bool(skip_invalid),
        validate=validate,
        **build,
    )
    if name.startswith("folder:"):
        return load_folder(
            name[len("folder:") :],
            labels=labels,
            min_images_per_class=min_images_per_class,
            **options,
        )
    return load_tfrecord(
        name[len("tfrecord:") :], image_key=image_key, label_key=label_key, **options
    )


def load_arrays(
    name: str = "mnist5k", binarize: str | None = None, seed: int = 0, **options
) -> DataArrays:
    """Loads a dataset as numpy arrays with a fixed train/test split.

    Named sets: see `keras_genmodels.data.named.load_arrays` (mnist5k, digits, Keras
    downloads, npz:PATH). Folders and TFRecords of at most 50,000 images are read
    through `load_dataset(name, **options)` in a fixed order (larger ones: use
    `load_dataset`, which streams them).

    Args:
        name: str. A dataset name of `load_dataset`. Defaults to "mnist5k".
        binarize: str or None. None, "static" or "dynamic" (train continuous, test
            binarised once). Defaults to None.
        seed: int. Seed of the binarisation noise. Defaults to 0.
        **options: image options of `load_dataset` (image_size, channels, ...).

    Returns:
        A `DataArrays(x_train, y_train, x_test, y_test)` tuple.

    Example:

    >>> data = load_arrays("digits", binarize="static")
    >>> data.x_train.shape[1:], sorted(set(data.x_test.ravel().tolist()))
    ((8, 8, 1), [0.0, 1.0])
    """
    if not _streamed(name):
        if options:
            raise ValueError(
                f"options {sorted(options)} apply to 'folder:PATH' and "
                f"'tfrecord:GLOB' datasets only, not to {name!r}."
            )
        return _load_named(name, binarize=binarize, seed=seed)
    options.pop("shuffle_buffer", None)
    pipeline.check_binarize(binarize)
    out = {}
    for split, mode in (
        ("train", "static" if binarize == "static" else None),
        ("test", "static" if binarize else None),
    ):
        train_ds, test_ds = result = load_dataset(
            name, batch_size=256, binarize=mode, seed=seed, **options
        )
        total = (result.info.num_train or 0) + (result.info.num_test or 0)
        if total > _MAX_ARRAY_EXAMPLES:
            raise ValueError(
                f"dataset {name!r} has {total} images, more than load_arrays reads "
                f"into memory ({_MAX_ARRAY_EXAMPLES}); use load_dataset, which "
                "streams them."
            )
        ds = train_ds if split == "train" else test_ds
        xs, ys = [], []
        for element in [] if ds is None else ds.unbatch().batch(4096):
            x, y = element if result.info.labelled else (element, None)
            xs.append(x.numpy())
            ys.append(None if y is None else y.numpy())
        shape = (0, *result.info.image_shape)
        out[f"x_{split}"] = np.concatenate(xs) if xs else np.zeros(shape, np.float32)
        out[f"y_{split}"] = np.concatenate(ys) if ys and ys[0] is not None else None
    return DataArrays(**out)
