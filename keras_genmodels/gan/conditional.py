"""Class-conditional GAN: the GAN's training loop with labels fed to both networks."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels import networks
from keras_genmodels.base import data_shape_argument
from keras_genmodels.gan.model import GAN


@keras.saving.register_keras_serializable(package="keras_genmodels")
class ConditionalGAN(GAN):
    """Class-conditional GAN: G(z, y) and D(x, y) for integer labels y.

    Training data are `(x, y)` batches (as `keras_genmodels.data.load_dataset`
    yields them). Only the hooks that route labels differ from `GAN`; losses,
    penalties, `n_critic`, EMA and serialization are the GAN's own.

    Args:
        generator: keras.Model or None. Takes `[z, labels]`. Defaults to
            `networks.build_generator(data_shape, latent_dim, num_classes)`.
        discriminator: keras.Model or None. Takes `[x, labels]`. Defaults to
            `networks.build_discriminator(data_shape, num_classes, ...)`.
        data_shape: tuple or None. As for `GAN`.
        latent_dim: int. As for `GAN`. Defaults to 64.
        num_classes: int. Number of classes; labels lie in [0, num_classes).
        image_shape: deprecated alias of `data_shape` (a DeprecationWarning).
        **kwargs: the other `GAN` arguments (`spectral_normalization`,
            `ema_decay`, `seed`, `augmentation`, ...).

    Example:

    >>> import numpy as np, keras
    >>> gan = ConditionalGAN(data_shape=(8, 8, 1), latent_dim=4, num_classes=3)
    >>> gan.compile(d_optimizer="adam", g_optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(size=(12, 8, 8, 1)).astype("float32")
    >>> y = np.arange(12) % 3
    >>> _ = gan.fit(x, y, batch_size=6, epochs=1, verbose=0)
    >>> tuple(gan.sample(4, seed=0, labels=[0, 1, 2, 0]).shape)
    (4, 8, 8, 1)

    References:
        Mirza & Osindero, Conditional Generative Adversarial Nets,
        arXiv:1411.1784.
    """

    def __init__(
        self,
        generator=None,
        discriminator=None,
        data_shape=None,
        latent_dim=64,
        num_classes=None,
        spectral_normalization=False,
        image_shape=None,
        **kwargs,
    ):
        networks.check_num_classes(num_classes)
        data_shape = data_shape_argument(data_shape, "image_shape", image_shape)
        if generator is None and discriminator is None and data_shape is not None:
            generator = networks.build_generator(data_shape, latent_dim, num_classes)
            discriminator = networks.build_discriminator(
                data_shape, num_classes, spectral_normalization
            )
        super().__init__(
            generator,
            discriminator,
            data_shape=data_shape,
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

    def sample(self, num_samples: int, seed=None, labels=None):
        """`num_samples` examples, one per label; labels 0, 1, ... cycling if None.

        Equal to `generate(num_samples, seed=seed, labels=labels)`.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int):
            raise ValueError(
                f"`num_samples` must be a positive integer; got {num_samples!r}."
            )
        return self.generate(num_samples, seed=seed, labels=labels)

    def generate(self, num_samples_or_z, seed=None, labels=None):
        """Generates one example per label (cycling 0, 1, ... when `labels` is None).

        `sample` under the GAN's own name, which also takes latent codes `z`.
        """
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
