"""Tests for TFRecord datasets: values against PIL, keys, split stability, errors."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_genmodels.data import load_dataset
from tests.test_data_folder import collect, digit_images, match


def encode(image: np.ndarray, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt)
    return buffer.getvalue()


def write_records(path, images, labels=None, image_key="image", extra=None):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, im in enumerate(images):
            contents = im if isinstance(im, bytes) else encode(im)
            feature = {
                image_key: tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[contents])
                )
            }
            if labels is not None:
                feature["label"] = tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[labels[i]])
                )
            for key, value in (extra or {}).items():
                feature[key] = tf.train.Feature(
                    float_list=tf.train.FloatList(value=[value])
                )
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())


def as_float(images):
    return np.stack(images).astype(np.float32) / 255.0


def test_labelled_records(tmp_path):
    images = digit_images(12)
    labels = [i % 3 for i in range(12)]
    write_records(tmp_path / "a.tfrecord", images[:7], labels[:7])
    write_records(tmp_path / "b.tfrecord", images[7:], labels[7:])
    result = load_dataset(
        f"tfrecord:{tmp_path}/*.tfrecord", test_fraction=0.0, batch_size=5
    )
    info = result.info
    assert info.labelled and info.num_classes == 3 and info.num_train == 12
    assert info.image_shape == (12, 10, 3) and result.test is None
    x, y = collect(result.train)
    nearest = match(x, as_float(images), atol=1e-6)
    np.testing.assert_array_equal(y, [labels[i] for i in nearest])

    grey = load_dataset(
        f"tfrecord:{tmp_path}/a.tfrecord",
        image_size=(6, 5),
        channels=1,
        label_key=None,
        test_fraction=0.0,
    )
    assert not grey.info.labelled and grey.info.image_shape == (6, 5, 1)
    x, y = collect(grey.train)
    refs = [
        np.asarray(Image.fromarray(im).convert("L").resize((5, 6), Image.BILINEAR))
        for im in images[:7]
    ]
    assert y is None
    match(x, as_float(refs)[..., None], atol=0.1)


def test_split_stable_when_shards_are_added(tmp_path):
    images = digit_images(40)
    write_records(tmp_path / "part-0.tfrecord", images[:20])

    def held_out(total):
        result = load_dataset(f"tfrecord:{tmp_path}/part-*", test_fraction=0.4)
        x = collect(result.test)[0]
        assert result.info.num_test == len(x) and 0 < len(x) < total
        assert result.info.num_train + len(x) == total
        return {r.tobytes() for r in np.round(x * 255).astype(np.uint8)}

    before = held_out(20)
    write_records(tmp_path / "part-1.tfrecord", images[20:])
    after = held_out(40)
    assert before < after
    train = load_dataset(f"tfrecord:{tmp_path}/part-*", test_fraction=0.4).train
    seen = {r.tobytes() for r in np.round(collect(train)[0] * 255).astype(np.uint8)}
    assert not seen & after and len(seen | after) == 40


def test_invalid_records(tmp_path):
    images = digit_images(6)
    write_records(tmp_path / "r.tfrecord", images[:5] + [b"\x89PNG broken"])
    with pytest.raises(ValueError, match=r"1 of 6 records cannot be decoded.*skip_inv"):
        load_dataset(f"tfrecord:{tmp_path}/r.tfrecord")
    result = load_dataset(
        f"tfrecord:{tmp_path}/r.tfrecord", skip_invalid=True, test_fraction=0.0
    )
    assert result.info.num_train == 5 and result.info.skipped == ("1 record(s)",)
    assert len(collect(result.train)[0]) == 5


def test_tfrecord_errors(tmp_path):
    def raises(match, pattern, **kwargs):
        with pytest.raises(ValueError, match=match):
            load_dataset(f"tfrecord:{tmp_path}/{pattern}", **kwargs)

    raises(r"no files match the pattern .*\*\.rec", "*.rec")
    write_records(tmp_path / "empty.rec", [])
    raises(r"no records in 1 file\(s\)", "*.rec")
    (tmp_path / "junk.bin").write_bytes(b"0123456789abcdefghij")
    raises(r"junk\.bin' is not a readable TFRecord file", "junk.bin")
    write_records(
        tmp_path / "keys.rec",
        digit_images(3),
        labels=[0, 1, 2],
        image_key="jpeg",
        extra={"score": 0.5},
    )
    raises(
        r"image_key='image' is not a bytes feature.*keys found: 'jpeg' \(bytes_list\), "
        r"'label' \(int64_list\), 'score' \(float_list\)",
        "keys.rec",
    )
    raises(
        r"label_key='klass' is not an int64.*'jpeg'",
        "keys.rec",
        image_key="jpeg",
        label_key="klass",
    )
    raises(
        r"label_key='score' is not an int64",
        "keys.rec",
        image_key="jpeg",
        label_key="score",
    )
    raises(
        r"test_fraction=0.01 puts 0 of 3 records",
        "keys.rec",
        image_key="jpeg",
        test_fraction=0.01,
    )
