"""Models check data against the range of their outputs: arrays and pipelines."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE
from keras_genmodels.base import GenerativeModel
from keras_genmodels.validation import infer_output_range

RNG = np.random.default_rng(0)
UNIT = RNG.uniform(size=(8, 4)).astype("float32")


@pytest.fixture(scope="module")
def gan():
    gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
    gan.compile(d_optimizer="sgd", g_optimizer="sgd")
    return gan


def _pipeline(x):
    return tf.data.Dataset.from_tensor_slices(x).batch(4)


def test_the_range_comes_from_data_range_or_unit_interval(gan):
    assert GenerativeModel.data_range is None
    assert gan.expected_data_range() == (0.0, 1.0)  # a sigmoid generator
    assert VAE(data_shape=(4,), latent_dim=2).expected_data_range() == (0.0, 1.0)
    gaussian = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
    assert gaussian.expected_data_range() is None


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (UNIT * 255, r"`x` has values in \[.*\].*\[0, 1\].*divide by 255"),
        (UNIT * 2 - 1, r"`x` has values in \[-.*\].*\[0, 1\].*\(x \+ 1\) / 2"),
    ],
    ids=["0..255", "-1..1"],
)
@pytest.mark.parametrize("as_pipeline", [False, True], ids=["array", "pipeline"])
def test_out_of_range_data_is_refused_before_training(gan, x, message, as_pipeline):
    weights = gan.get_weights()
    data = _pipeline(x) if as_pipeline else x
    for call in (
        lambda: gan.fit(data, epochs=1, verbose=0),
        lambda: gan.evaluate(data, verbose=0),
        lambda: gan.fit(UNIT, validation_data=data, epochs=1, verbose=0),
    ):
        with pytest.raises(ValueError, match=message.replace("`x`", "`.*`")):
            call()
    for a, b in zip(weights, gan.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_error_names_the_argument_and_the_way_out(gan):
    with pytest.raises(ValueError, match=r"`validation_data`.*data_range=\(low, high"):
        gan.fit(UNIT, validation_data=UNIT * 255, verbose=0)


def test_integer_pipelines_are_refused_with_the_fix(gan):
    images = (UNIT * 255).astype("uint8")
    with pytest.raises(
        ValueError, match=r"`x` yields uint8.*\[0, 1\].*tf\.float32\) / 255"
    ):
        gan.fit(_pipeline(images), verbose=0)


def test_a_model_of_another_range_takes_that_range():
    z = keras.Input((2,))
    generator = keras.Model(z, keras.layers.Dense(4, activation="tanh")(z))
    x = keras.Input((4,))
    discriminator = keras.Model(x, keras.layers.Dense(1)(x))
    gan = GAN(generator=generator, discriminator=discriminator, seed=0)
    gan.compile(d_optimizer="sgd", g_optimizer="sgd")
    assert gan.expected_data_range() == (-1.0, 1.0)
    gan.fit(UNIT * 2 - 1, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]: it looks like 0..255.*127.5"):
        gan.fit(UNIT * 255, verbose=0)


def test_infer_output_range():
    z = keras.Input((2,))
    dense = keras.layers.Dense(4)
    assert infer_output_range(keras.Model(z, dense(z))) is None
    tanh = keras.Model(z, keras.layers.Dense(4, activation="tanh")(z))
    assert infer_output_range(tanh) == (-1.0, 1.0)
    sigmoid_op = keras.Model(z, keras.ops.sigmoid(dense(z)))
    assert infer_output_range(sigmoid_op) == (0.0, 1.0)
    reshaped = keras.layers.Reshape((2, 1, 1))(keras.layers.Activation("sigmoid")(z))
    cropped = keras.layers.Cropping2D(((0, 1), (0, 0)))(reshaped)
    assert infer_output_range(keras.Model(z, cropped)) == (0.0, 1.0)
    scaled = keras.layers.Rescaling(2.0)(keras.layers.Activation("sigmoid")(z))
    assert infer_output_range(keras.Model(z, scaled)) is None
    sequential = keras.Sequential(
        [keras.Input((2,)), dense, keras.layers.Activation("tanh")]
    )
    assert infer_output_range(sequential) == (-1.0, 1.0)
    assert infer_output_range(keras.Sequential([tanh])) == (-1.0, 1.0)

    class Doubled(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(4, activation="sigmoid")

        def call(self, x):
            return 2 * self.dense(x)

    subclassed = Doubled()
    subclassed(np.zeros((1, 2), "float32"))
    assert infer_output_range(subclassed) is None
