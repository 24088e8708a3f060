"""Named in-memory sets: same batches as shuffling the arrays, compact storage."""

import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import data
from keras_genmodels.data import load_arrays, load_dataset


def slices_pipeline(x, y, batch_size, seed, buffer=None):
    """The reference: the arrays themselves shuffled and batched by tf.data."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(buffer or len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


def batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


@pytest.mark.parametrize(
    "name, seed, buffer", [("mnist5k", 0, None), ("digits", 3, 100)]
)
def test_same_batches_as_shuffled_arrays(name, seed, buffer):
    arrays = load_arrays(name)
    train_ds, test_ds = result = load_dataset(
        name, batch_size=200, seed=seed, shuffle_buffer=buffer
    )
    reference = slices_pipeline(arrays.x_train, arrays.y_train, 200, seed, buffer)
    for _ in range(2 if name == "digits" else 1):  # epoch 2: the same reshuffling
        for (x, y), (rx, ry) in zip(batches(train_ds), batches(reference), strict=True):
            np.testing.assert_array_equal(x, rx)
            np.testing.assert_array_equal(y, ry)
    x_test = np.concatenate([x.numpy() for x, _ in test_ds])
    np.testing.assert_array_equal(x_test, arrays.x_test)
    assert (
        result.info.num_train == len(arrays.x_train) and result.info.num_classes == 10
    )
    assert result.info.image_shape == arrays.x_train.shape[1:]


def test_storage_is_compact_and_not_a_graph_constant(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (600, 28, 28), np.uint8)
    np.savez(
        tmp_path / "u8.npz", x_train=images, x_test=images[:10], y_train=images[:, 0, 0]
    )
    train_ds, _ = load_dataset(f"npz:{tmp_path}/u8.npz", batch_size=128)
    values = train_ds._keras_genmodels_values
    assert isinstance(values, tf.Variable) and values.dtype == tf.uint8  # k/255 exact
    assert values.shape == (600, 28, 28, 1)
    digits_ds, _ = load_dataset("digits")
    assert digits_ds._keras_genmodels_values.dtype == tf.float32  # k/16 is not k/255
    # Serialised (as tf.distribute does to shard), the graph holds the uint8 codes
    # only: a quarter of the float32 constant that from_tensor_slices embeds.
    arrays = load_arrays(f"npz:{tmp_path}/u8.npz")
    old = slices_pipeline(arrays.x_train, arrays.y_train, 128, 0)
    new_bytes = len(train_ds._as_serialized_graph().numpy())
    old_bytes = len(old._as_serialized_graph().numpy())
    assert new_bytes < 0.3 * old_bytes, (new_bytes, old_bytes)


def test_static_binarized_and_npz_storage(tmp_path):
    train_ds, _ = load_dataset("digits", binarize="static", seed=2)
    assert train_ds._keras_genmodels_values.dtype == tf.uint8  # 0 and 1 are k/255
    arrays = load_arrays("digits", binarize="static", seed=2)
    reference = slices_pipeline(arrays.x_train, arrays.y_train, 128, 2)
    for (x, _), (rx, _) in zip(batches(train_ds), batches(reference), strict=True):
        np.testing.assert_array_equal(x, rx)
    floats = np.random.default_rng(0).uniform(size=(9, 4)).astype(np.float32)
    np.savez(tmp_path / "f.npz", x_train=floats, x_test=floats[:2])
    npz_ds, _ = load_dataset(f"npz:{tmp_path}/f.npz", batch_size=9)
    np.testing.assert_array_equal(
        np.sort(next(iter(npz_ds)).numpy(), 0), np.sort(floats, 0)
    )


def test_public_names():
    from keras_genmodels.data import BINARIZE_MODES, DATASETS, DataArrays

    assert BINARIZE_MODES == (None, "static", "dynamic") and DataArrays._fields[0]
    assert {"folder:PATH", "tfrecord:GLOB", "npz:PATH"} <= set(DATASETS)
    assert data.load_dataset is load_dataset and data.load_arrays is load_arrays
