"""The averaged generator forgets its initialisation and copies G's buffers."""

import keras
import numpy as np
import pytest

from keras_genmodels import GAN
from tests.test_case import assert_config_round_trip

X = np.random.default_rng(0).uniform(0.2, 0.8, size=(40, 4)).astype("float32")


def _networks():
    z = keras.Input((2,))
    h = keras.layers.Dense(16)(z)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.LeakyReLU(0.2)(h)
    x = keras.layers.Dense(4, activation="sigmoid")(h)
    critic = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.SpectralNormalization(keras.layers.Dense(16)),
            keras.layers.LeakyReLU(0.2),
            keras.layers.Dense(1),
        ]
    )
    return keras.Model(z, x), critic


def test_ema_generator_follows_g_after_a_few_steps_and_copies_buffers():
    keras.utils.set_random_seed(0)
    generator, critic = _networks()
    gan = GAN(generator, critic, ema_decay=0.999, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(0.05), g_optimizer=keras.optimizers.Adam(0.05)
    )
    initial = keras.models.clone_model(generator)
    initial.set_weights(generator.get_weights())
    gan.fit(X, batch_size=8, epochs=2, shuffle=False, verbose=0)  # 10 G updates
    z = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    ema, now, init = (np.asarray(m(z)) for m in (gan.ema_generator, generator, initial))
    to_g, to_init = np.abs(ema - now).mean(), np.abs(ema - init).mean()
    print(f"|ema - G| = {to_g:.4f}, |ema - G_0| = {to_init:.4f}")
    assert to_g < 0.25 * to_init, (to_g, to_init)  # fixed decay: about 1
    # A fixed decay of 0.999 would keep 0.999^10 = 99% of the initial weights.
    trainable = {id(v) for v in generator.trainable_weights}
    for average, weight in zip(
        gan.ema_generator.weights, generator.weights, strict=True
    ):
        if id(weight) not in trainable:  # BatchNorm moving mean / variance
            np.testing.assert_array_equal(np.asarray(average), np.asarray(weight))


@pytest.mark.parametrize(
    ("data_range", "resolved"),
    [("auto", (0.0, 1.0)), (None, None), ((-1, 1), (-1.0, 1.0))],
)
def test_data_range_argument(data_range, resolved):
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(4,), latent_dim=2, data_range=data_range)
    assert gan.data_range == resolved
    rebuilt = assert_config_round_trip(gan)
    assert rebuilt.data_range == resolved


def test_data_range_errors_and_check():
    with pytest.raises(ValueError, match="data_range.*low < high.*got \\(1, 0\\)"):
        GAN(data_shape=(4,), data_range=(1, 0))
    gan = GAN(data_shape=(4,), latent_dim=2)
    gan.compile()
    with pytest.raises(ValueError, match="data_range"):
        gan.fit(X * 255, batch_size=8, verbose=0)
    unchecked = GAN(data_shape=(4,), latent_dim=2, data_range=None)
    unchecked.compile()
    unchecked.fit(X * 255, batch_size=8, epochs=1, verbose=0)
