import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import ConditionalGAN
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip


def _two_class_data(n=512):
    """Class 0 lives in [0, 0.2]^4, class 1 in [0.8, 1]^4."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    low, high = rng.uniform(0, 0.2, (n, 4)), rng.uniform(0.8, 1.0, (n, 4))
    return np.where(y[:, None] == 1, high, low).astype("float32"), y


def _cgan(**kwargs):
    keras.utils.set_random_seed(0)
    gan = ConditionalGAN(
        data_shape=(4,), latent_dim=4, num_classes=2, seed=0, **kwargs
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3)
    )
    return gan


def test_generator_honours_labels_after_training():
    x, y = _two_class_data()
    gan = _cgan()
    gan.fit(x, y, batch_size=64, epochs=10, verbose=0)
    samples = gan.generate(200, labels=np.repeat([0, 1], 100), seed=1).numpy()
    assert samples[:100].mean() < 0.3 < 0.7 < samples[100:].mean()
    # The default labels cycle through the classes.
    cycled = gan.generate(4, seed=2).numpy().mean(axis=1)
    assert cycled[0] < 0.5 < cycled[1] and cycled[2] < 0.5 < cycled[3]


def test_trains_from_a_labelled_dataset_and_round_trips(tmp_path):
    x, y = _two_class_data(32)
    gan = _cgan(ema_decay=0.9)
    assert_config_round_trip(gan)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = gan.fit(dataset, epochs=1, verbose=0).history
    assert set(history) == {"d_loss", "g_loss"}
    z = np.random.default_rng(1).normal(size=(4, 4)).astype("float32")
    labels = np.array([0, 1, 1, 0])
    loaded = assert_saved_model_round_trip(
        gan, tmp_path, lambda m: [m.generate(z, labels=labels)]
    )
    assert loaded.num_classes == 2 and int(loaded.g_optimizer.iterations) == 4


def test_bad_labels_and_arguments():
    x, y = _two_class_data(16)
    gan = _cgan()
    with pytest.raises(ValueError, match="needs labelled data"):
        gan.fit(x, batch_size=8, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=2"):
        gan.fit(x, y + 5, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, 2\)"):
        gan.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="`labels` must be 2 integers"):
        gan.generate(2, labels=[0.5, 1.0])
    with pytest.raises(ValueError, match="num_classes.*got None"):
        ConditionalGAN(data_shape=(4,), latent_dim=2)


def test_sample_equals_generate_with_balanced_default_labels():
    gan = _cgan()
    np.testing.assert_array_equal(gan.sample(4, seed=1), gan.generate(4, seed=1))
    np.testing.assert_array_equal(
        gan.sample(4, seed=1),
        gan.generate(4, seed=1, labels=[0, 1, 0, 1]),
    )
    assert not np.allclose(
        gan.sample(4, seed=1), gan.sample(4, seed=1, labels=[1, 1, 1, 1])
    )
    with pytest.warns(DeprecationWarning, match="image_shape"):
        old = ConditionalGAN(image_shape=(4,), latent_dim=2, num_classes=2)
    config = old.get_config()
    assert config["data_shape"] == [4] and "image_shape" not in config
    config["image_shape"] = config.pop("data_shape")
    assert ConditionalGAN.from_config(config).data_shape == (4,)
