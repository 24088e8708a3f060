"""Class-conditional GAN: the GAN's training loop with labels fed to both networks."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels import networks
from keras_genmodels.gan.model import GAN


@keras.saving.register_keras_serializable(package="keras_genmodels")
class ConditionalGAN(GAN):
    """Class-conditional GAN: G(z, y) and D(x, y) for integer labels y.

    Training data are `(x, y)` batches (as `keras_genmodels.data.load_dataset`
    yields them). Only the hooks that route labels differ from `GAN`; losses,
    penalties, `n_critic`, EMA and serialization are the GAN's own.

    Args:
        generator: keras.Model or None. Takes `[z, labels]`. Defaults to
            `networks.build_generator(image_shape, latent_dim, num_classes)`.
        discriminator: keras.Model or None. Takes `[x, labels]`. Defaults to
            `networks.build_discriminator(image_shape, num_classes, ...)`.
        image_shape: tuple or None. As for `GAN`.
        latent_dim: int. As for `GAN`. Defaults to 64.
        num_classes: int. Number of classes; labels lie in [0, num_classes).
        **kwargs: the other `GAN` arguments (`spectral_normalization`,
            `ema_decay`, `seed`, ...).

    Example:

    >>> import numpy as np, keras
    >>> gan = ConditionalGAN(image_shape=(8, 8, 1), latent_dim=4, num_classes=3)
    >>> gan.compile(d_optimizer="adam", g_optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(size=(12, 8, 8, 1)).astype("float32")
    >>> y = np.arange(12) % 3
    >>> _ = gan.fit(x, y, batch_size=6, epochs=1, verbose=0)
    >>> tuple(gan.generate(4, labels=[0, 1, 2, 0], seed=0).shape)
    (4, 8, 8, 1)

    References:
        Mirza & Osindero, Conditional Generative Adversarial Nets,
        arXiv:1411.1784.
    """

    def __init__(
        self,
        generator=None,
        discriminator=None,
        image_shape=None,
        latent_dim=64,
        num_classes=None,
        spectral_normalization=False,
        **kwargs,
    ):
        networks.check_num_classes(num_classes)
        if generator is None and discriminator is None and image_shape is not None:
            generator = networks.build_generator(image_shape, latent_dim, num_classes)
            discriminator = networks.build_discriminator(
                image_shape, num_classes, spectral_normalization
            )
        super().__init__(
            generator,
            discriminator,
            image_shape=image_shape,
            latent_dim=latent_dim,
            spectral_normalization=spectral_normalization,
            **kwargs,
        )
        self.num_classes = num_classes

    def split_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                "ConditionalGAN needs labelled data: pass `fit(x, y)` or a dataset "
                f"yielding `(x, y)`; got a batch of {type(data).__name__}."
            )
        labels = tf.reshape(tf.cast(data[1], tf.int32), [-1])
        checks = [
            tf.debugging.assert_greater_equal(
                labels, 0, message="Labels must be >= 0."
            ),
            tf.debugging.assert_less(
                labels,
                self.num_classes,
                message=f"Labels must be < num_classes={self.num_classes}.",
            ),
        ]
        with tf.control_dependencies(checks):
            labels = tf.identity(labels)
        return self.valid_batch(tf.convert_to_tensor(data[0])), labels

    def generator_inputs(self, z, labels):
        return [z, tf.cast(labels, tf.int32)]

    def discriminator_inputs(self, x, labels):
        return [tf.convert_to_tensor(x), tf.cast(labels, tf.int32)]

    def call(self, inputs, training=False):
        generator = self.ema_generator or self.generator
        return generator(inputs, training=training)

    def generate(self, num_samples_or_z, seed=None, labels=None):
        """Generates one example per label (cycling 0, 1, ... when `labels` is None)."""
        z = self._latents(num_samples_or_z, seed)
        count = int(z.shape[0])
        if labels is None:
            labels = np.arange(count) % self.num_classes
        labels = np.asarray(labels)
        if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"`labels` must be {count} integers (one per sample); got an array "
                f"of shape {labels.shape} and dtype {labels.dtype}."
            )
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(
                f"`labels` must lie in [0, {self.num_classes}); got values in "
                f"[{labels.min()}, {labels.max()}]."
            )
        return self([z, labels.astype("int32")])

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
