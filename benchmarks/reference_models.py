"""The canonical keras.io train_steps, re-implemented as baselines for the benchmarks.

`ReferenceVAE` follows the keras.io example "Variational AutoEncoder" (a sampling
step, `binary_crossentropy` summed over pixels plus the closed-form KL, the mean over
the batch) and `ReferenceGAN` the keras.io example "DCGAN" (the discriminator trained
on concatenated fake and real images, labels 1 for fake and 0 for real plus 0.05
uniform label noise, then the generator trained on fresh noise to be called real).
Both run on the package's default networks, so comparisons isolate the training
step. Logits go through `from_logits=True`, the numerically safe form of keras.io's
sigmoid outputs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_genmodels import networks


class ReferenceVAE(keras.Model):
    """The keras.io VAE train_step on the package's default networks."""

    def __init__(self, image_shape, latent_dim):
        super().__init__()
        self.encoder = networks.build_encoder(image_shape, latent_dim)
        self.decoder = networks.build_decoder(image_shape, latent_dim)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def train_step(self, x):
        if isinstance(x, tuple):  # (images, labels) from the package's pipeline
            x = x[0]
        with tf.GradientTape() as tape:
            z_mean, z_log_var = tf.split(self.encoder(x), 2, axis=-1)
            z = z_mean + tf.exp(0.5 * z_log_var) * tf.random.normal(tf.shape(z_mean))
            logits = self.decoder(z)
            reconstruction = tf.reduce_sum(
                keras.losses.binary_crossentropy(x, logits, from_logits=True),
                axis=(1, 2),
            )
            kl = -0.5 * tf.reduce_sum(
                1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1
            )
            loss = tf.reduce_mean(reconstruction + kl)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


class ReferenceGAN(keras.Model):
    """The keras.io DCGAN train_step on the package's default networks.

    `compile(learning_rate, beta_1)` sets both Adam optimizers; keras.io uses
    `Adam(1e-4)` (beta_1 0.9), the package's CLI `Adam(2e-4, beta_1=0.5)`.
    """

    def __init__(self, image_shape, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = networks.build_generator(image_shape, latent_dim)
        self.discriminator = networks.build_discriminator(image_shape)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_tracker = keras.metrics.Mean(name="d_loss")
        self.g_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, learning_rate=2e-4, beta_1=0.5):
        super().compile()
        self.d_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        self.g_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)

    @property
    def metrics(self):
        return [self.d_tracker, self.g_tracker]

    def train_step(self, x):
        if isinstance(x, tuple):  # (images, labels) from the package's pipeline
            x = x[0]
        batch = tf.shape(x)[0]
        z = tf.random.normal((batch, self.latent_dim))
        images = tf.concat([self.generator(z), x], axis=0)
        labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        d_vars = self.discriminator.trainable_weights
        with tf.GradientTape() as tape:
            d_loss = self.bce(labels, self.discriminator(images))
        grads = tape.gradient(d_loss, d_vars)
        self.d_optimizer.apply_gradients(zip(grads, d_vars, strict=True))
        z = tf.random.normal((batch, self.latent_dim))
        g_vars = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            fake = self.discriminator(self.generator(z))
            g_loss = self.bce(tf.zeros((batch, 1)), fake)
        grads = tape.gradient(g_loss, g_vars)
        self.g_optimizer.apply_gradients(zip(grads, g_vars, strict=True))
        self.d_tracker.update_state(d_loss)
        self.g_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}
