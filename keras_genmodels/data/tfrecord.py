"""TFRecord files of encoded images (and optional int64 labels) as tf.data pipelines."""

from __future__ import annotations

import glob
import io
import os

import tensorflow as tf

from keras_genmodels.data import pipeline, pixels
from keras_genmodels.data.folder import background_name, header_of

_BUCKETS = 1 << 62


def _first_example(name: str, files: list[str]) -> tf.train.Example:
    for path in files:
        try:
            for record in tf.data.TFRecordDataset(path).take(1):
                return tf.train.Example.FromString(record.numpy())
        except tf.errors.OpError as err:
            raise ValueError(
                f"dataset {name!r}: {path!r} is not a readable TFRecord file "
                f"({type(err).__name__})."
            ) from err
        except Exception as err:  # not a serialized tf.train.Example
            raise ValueError(
                f"dataset {name!r}: the first record of {path!r} is not a "
                f"tf.train.Example ({type(err).__name__}: {err})."
            ) from err
    raise ValueError(
        f"dataset {name!r}: no records in {len(files)} file(s) ({files[0]!r}, ...)."
    )


def _check_keys(name, example, image_key, label_key) -> bool:
    """Checks the feature keys of the first record; returns True if labelled."""
    features = example.features.feature
    found = sorted(features.keys())
    kinds = {k: features[k].WhichOneof("kind") for k in found}
    listing = ", ".join(f"{k!r} ({kinds[k]})" for k in found) or "none"
    if image_key not in features or kinds[image_key] != "bytes_list":
        raise ValueError(
            f"dataset {name!r}: image_key={image_key!r} is not a bytes feature of "
            f"the first record; keys found: {listing}."
        )
    if label_key is None or (label_key == "label" and label_key not in features):
        return False
    if label_key not in features or kinds[label_key] != "int64_list":
        raise ValueError(
            f"dataset {name!r}: label_key={label_key!r} is not an int64 feature of "
            f"the first record; keys found: {listing} (label_key=None for no labels)."
        )
    return True


def _header(name: str, contents: bytes):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(contents)) as im:
            return header_of(im)
    except Exception as err:
        raise ValueError(
            f"dataset {name!r}: the image of the first record cannot be read "
            f"({type(err).__name__}: {err})."
        ) from err


def _records(files, image_key, label_key, labelled):
    """(image bytes, label, key) of every record; key = hash of 'file:index'."""
    spec = {image_key: tf.io.FixedLenFeature([], tf.string)}
    if labelled:
        spec[label_key] = tf.io.FixedLenFeature([], tf.int64)
    names = tf.constant([os.path.basename(f) for f in files])

    def one_file(i):
        def parse(index, record):
            example = tf.io.parse_single_example(record, spec)
            label = example[label_key] if labelled else tf.constant(-1, tf.int64)
            text = tf.strings.join([names[i], tf.strings.as_string(index)], ":")
            key = tf.strings.to_hash_bucket_fast(text, _BUCKETS)
            return example[image_key], label, key

        return tf.data.TFRecordDataset(tf.constant(files)[i]).enumerate().map(parse)

    return tf.data.Dataset.range(len(files)).flat_map(one_file)


def orientation_of(contents: tf.Tensor) -> tf.Tensor:
    """The EXIF orientation of a JPEG record's bytes (1 for other formats)."""

    def read():
        value = tf.numpy_function(
            pixels.exif_orientation_of_bytes, [contents], tf.int64, stateful=False
        )
        return tf.reshape(value, [])

    return tf.cond(tf.io.is_jpeg(contents), read, lambda: tf.constant(1, tf.int64))


def _validate(name, records, channels, skip_invalid, background, image_size):
    """Decodes every record once: labels, keys, invalid records and the counts
    of transparent, rotated and resized images."""

    def check(contents, label, key):
        native = pipeline.decode_native(contents)
        orientation = orientation_of(contents)
        x = pipeline.convert(native, channels, background, orientation)
        flags = tf.stack(
            [
                tf.shape(native)[-1] % 2 == 0,
                orientation != 1,
                tf.reduce_any(tf.shape(x)[:2] != image_size),
            ]
        )
        return tf.cast(flags, tf.int64), label, key

    total = int(records.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))
    ok = records.map(check, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    labels, keys, counts = [], [], [0, 0, 0]
    for flags, label, key in ok.batch(4096):
        labels += label.numpy().tolist()
        keys += key.numpy().tolist()
        counts = [
            c + int(f) for c, f in zip(counts, flags.numpy().sum(axis=0), strict=True)
        ]
    invalid = total - len(keys)
    if invalid and not skip_invalid:
        raise ValueError(
            f"dataset {name!r}: {invalid} of {total} records cannot be decoded as "
            "images or lack a key of the first record; fix them, or pass "
            "skip_invalid=True to skip them."
        )
    return labels, keys, invalid, counts


def load_tfrecord(
    pattern: str,
    *,
    image_size,
    channels,
    background,
    crop,
    cache,
    test_fraction,
    skip_invalid,
    validate,
    image_key,
    label_key,
    **build,
):
    """The `load_dataset("tfrecord:GLOB", ...)` implementation."""
    name = f"tfrecord:{pattern}"
    files = sorted(glob.glob(pattern, recursive=True))
    files = [f for f in files if os.path.isfile(f)]
    if not files:
        raise ValueError(f"dataset {name!r}: no files match the pattern {pattern!r}.")
    example = _first_example(name, files)
    labelled = _check_keys(name, example, image_key, label_key)
    first = _header(name, example.features.feature[image_key].bytes_list.value[0])
    channels = channels or (3 if first.colour else 1)
    image_size = image_size or (first.height, first.width)
    rgb = pixels.parse_background(background)
    records = _records(files, image_key, label_key, labelled)
    num_train = num_test = num_classes = None
    invalid, counts = 0, [0, 0, 0]
    if validate == "full":
        labels, keys, invalid, counts = _validate(
            name, records, channels, skip_invalid, rgb, image_size
        )
        test = [pipeline.in_test_split(k << 1, test_fraction) for k in keys]
        num_test = sum(test)
        num_train = len(keys) - num_test
        if num_train == 0 or test_fraction > 0 and num_test == 0:
            raise ValueError(
                f"dataset {name!r}: test_fraction={test_fraction} puts {num_test} of "
                f"{len(keys)} records in the test split; use more records or "
                "another test_fraction (0 for no test split)."
            )
        if labelled:
            num_classes = max(labels) + 1 if labels else 0

    threshold = int(test_fraction * _BUCKETS)

    def load(contents):
        x = pipeline.decode(contents, channels, rgb, orientation_of(contents))
        return pipeline.resize(x, image_size, crop)

    def split(held_out: bool):
        def chosen(contents, label, key):
            return key < threshold if held_out else key >= threshold

        return pipeline.build(
            records.filter(chosen),
            load,
            labelled=labelled,
            train=not held_out,
            num_elements=1024,
            cache=cache,  # a bounded buffer of encoded records
            cache_suffix="test" if held_out else "train",
            skip_invalid=skip_invalid,
            **build,
        )

    info = pipeline.DatasetInfo(
        name=name,
        image_shape=(*image_size, channels),
        num_train=num_train,
        num_test=num_test,
        labelled=labelled,
        num_classes=num_classes,
        skipped=tuple(f"{invalid} record(s)" for _ in range(1 if invalid else 0)),
        background=None if channels == 4 else background_name(background),
        transparent=counts[0],
        rotated=counts[1],
        resized=counts[2],
    )
    test_ds = split(True) if test_fraction > 0 else None
    return pipeline.Datasets(split(False), test_ds, info)
