"""Subclassed networks in the VAE, the GAN and the VQ-VAE: fit, .keras, SavedModel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE
from keras_genmodels.export import export_saved_model
from tests.test_case import assert_saved_model_round_trip

# Grey-level 8x8 images.
X = np.random.default_rng(0).uniform(0.2, 0.8, size=(16, 8, 8, 1)).astype("float32")


@keras.saving.register_keras_serializable(package="subclassed_test")
class Downsampler(keras.Model):
    """8x8 images -> `features` numbers (an encoder or a discriminator)."""

    def __init__(self, features, **kwargs):
        super().__init__(**kwargs)
        self.features = features
        self.conv = keras.layers.Conv2D(4, 3, strides=2, padding="same")
        self.flatten = keras.layers.Flatten()
        self.head = keras.layers.Dense(features)

    def call(self, x, training=False):
        return self.head(self.flatten(keras.ops.relu(self.conv(x))))

    def get_config(self):
        return {**super().get_config(), "features": self.features}


@keras.saving.register_keras_serializable(package="subclassed_test")
class Upsampler(keras.Model):
    """z -> 8x8x1 images (a decoder or a generator), with a BatchNorm buffer."""

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.dense = keras.layers.Dense(4 * 4 * 4)
        self.norm = keras.layers.BatchNormalization()
        self.reshape = keras.layers.Reshape((4, 4, 4))
        self.up = keras.layers.Conv2DTranspose(
            1, 3, strides=2, padding="same", activation=activation
        )

    def call(self, z, training=False):
        hidden = keras.ops.relu(self.norm(self.dense(z), training=training))
        return self.up(self.reshape(hidden))

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class NoConfigGenerator(keras.Model):
    """A generator whose constructor takes a layer: no `get_config` of its own."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def call(self, z, training=False):
        return keras.ops.reshape(self.layer(z), (-1, 8, 8, 1))


def _changed(before, after):
    return max(np.abs(a - b).max() for a, b in zip(before, after, strict=True)) > 0


def _check_export(model, tmp_path):
    path = export_saved_model(model, tmp_path / "export")
    sample = tf.saved_model.load(str(path)).signatures["sample"]
    outputs = sample(num_samples=tf.constant(3), seed=tf.constant(5, tf.int64))
    np.testing.assert_allclose(
        outputs["images"].numpy(), model.sample(3, seed=5), atol=1e-5
    )


def test_vae_with_subclassed_networks(tmp_path):
    keras.utils.set_random_seed(0)
    vae = VAE(Downsampler(4), Upsampler(), latent_dim=2, seed=0)
    assert vae.data_shape == (8, 8, 1) and vae.latent_dim == 2  # from building
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = vae.get_weights()
    history = vae.fit(X, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and _changed(before, vae.get_weights())
    assert vae.sample(3, seed=1).shape == (3, 8, 8, 1)
    loaded = assert_saved_model_round_trip(
        vae, tmp_path, lambda m: [m.sample(3, seed=1), m.reconstruct(X[:2])],
        atol=1e-6,
    )  # fmt: skip
    assert isinstance(loaded.encoder, Downsampler)
    _check_export(vae, tmp_path)


def test_vae_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"2 \* latent_dim = 6.*gives \[4\]"):
        VAE(Downsampler(4), Upsampler(), latent_dim=3)
    with pytest.raises(ValueError, match=r"output \(8, 8, 1\) does not match `data"):
        VAE(Downsampler(4), Upsampler(), data_shape=(4, 4, 1), latent_dim=2)


def test_gan_with_subclassed_networks_and_ema(tmp_path):
    keras.utils.set_random_seed(0)
    gan = GAN(
        Upsampler("sigmoid"), Downsampler(1), latent_dim=3, ema_decay=0.9, seed=0
    )
    # Shapes from building; no final activation to read a range from.
    assert gan.data_shape == (8, 8, 1) and gan.data_range is None
    assert isinstance(gan.ema_generator, Upsampler)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2)
    )
    before = gan.get_weights()
    history = gan.fit(X, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and _changed(before, gan.get_weights())
    # The EMA copy moved (warm-up decay ~0.1-0.18) but is not the generator.
    ema_weights, g_weights = gan.ema_generator.weights, gan.generator.weights
    assert _changed([w.numpy() for w in ema_weights], [w.numpy() for w in g_weights])
    z = np.random.default_rng(1).normal(size=(3, 3)).astype("float32")
    np.testing.assert_allclose(gan.generate(z), gan.ema_generator(z), atol=1e-7)
    np.testing.assert_array_equal(gan.sample(3, seed=2), gan.generate(3, seed=2))
    loaded = assert_saved_model_round_trip(
        gan,
        tmp_path,
        lambda m: [m.sample(3, seed=2), m.generator(z), m.discriminate(X[:2])],
        atol=1e-6,
    )
    assert isinstance(loaded.ema_generator, Upsampler)
    _check_export(gan, tmp_path)


def test_a_generator_without_get_config_cannot_have_an_ema_copy():
    generator = NoConfigGenerator(keras.layers.Dense(64, activation="sigmoid"))
    gan = GAN(generator, Downsampler(1), latent_dim=2)  # fine without EMA
    assert gan.data_shape == (8, 8, 1)
    generator = NoConfigGenerator(keras.layers.Dense(64, activation="sigmoid"))
    with pytest.raises(ValueError, match="NoConfigGenerator.from_config.*get_config"):
        GAN(generator, Downsampler(1), latent_dim=2, ema_decay=0.9)


@keras.saving.register_keras_serializable(package="subclassed_test")
class GridEncoder(keras.Model):
    """8x8x1 images -> 4x4 grids of `channels` numbers (a VQ-VAE encoder)."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.conv = keras.layers.Conv2D(channels, 3, strides=2, padding="same")

    def call(self, x, training=False):
        return self.conv(x)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="subclassed_test")
class GridDecoder(keras.Model):
    """4x4 grids -> 8x8x1 images in [0, 1] (a VQ-VAE decoder)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.up = keras.layers.Conv2DTranspose(
            1, 3, strides=2, padding="same", activation="sigmoid"
        )

    def call(self, grids, training=False):
        return self.up(grids)


def test_vqvae_with_subclassed_networks(tmp_path):
    from keras_genmodels import VQVAE

    with pytest.raises(ValueError, match="`data_shape` is required with a subclass"):
        VQVAE(GridEncoder(4), GridDecoder(), embedding_dim=4, num_embeddings=8)
    keras.utils.set_random_seed(0)
    vqvae = VQVAE(
        GridEncoder(4), GridDecoder(), data_shape=(8, 8, 1), embedding_dim=4,
        num_embeddings=8, seed=0,
    )  # fmt: skip
    assert vqvae.grid_shape == (4, 4)  # from calling the encoder
    vqvae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = vqvae.get_weights()
    history = vqvae.fit(X, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and _changed(before, vqvae.get_weights())
    loaded = assert_saved_model_round_trip(
        vqvae, tmp_path, lambda m: [m.sample(3, seed=1), m.reconstruct(X[:2])],
        atol=1e-6,
    )  # fmt: skip
    assert isinstance(loaded.encoder, GridEncoder)
    _check_export(vqvae, tmp_path)
