"""Training throughput of the package's VAE and GAN vs the canonical keras.io pattern.

Run: python benchmarks/throughput.py [--steps 100] [--repeats 3]

The reference models are plain re-implementations of the train_step pattern of the
keras.io examples "Variational AutoEncoder" and "DCGAN" (a sampling layer,
`binary_crossentropy` summed over pixels plus the KL, `ops.mean` over the batch; a
discriminator trained on concatenated real and fake images with BCE on sigmoid
outputs). They use the package's own default networks, the same batch (128) and the
same MNIST-5k pipeline, so the table compares the training steps. The package is
also timed under the `mixed_bfloat16` policy, a candidate faster default.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import seconds_per_step  # noqa: E402

from keras_genmodels import GAN, VAE, data, networks  # noqa: E402

SHAPE, LATENT, GAN_LATENT = (28, 28, 1), 16, 64


class ReferenceVAE(keras.Model):
    """The keras.io VAE train_step on the package's default networks."""

    def __init__(self):
        super().__init__()
        self.encoder = networks.build_encoder(SHAPE, LATENT)
        self.decoder = networks.build_decoder(SHAPE, LATENT)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def train_step(self, x):
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
    """The keras.io DCGAN train_step on the package's default networks."""

    def __init__(self):
        super().__init__()
        self.generator = networks.build_generator(SHAPE, GAN_LATENT)
        self.discriminator = networks.build_discriminator(SHAPE)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_tracker = keras.metrics.Mean(name="d_loss")

    def compile(self):
        super().compile()
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)

    def train_step(self, x):
        batch = tf.shape(x)[0]
        z = tf.random.normal((batch, GAN_LATENT))
        images = tf.concat([self.generator(z), x], axis=0)
        labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        d_vars = self.discriminator.trainable_weights
        with tf.GradientTape() as tape:
            d_loss = self.bce(labels, self.discriminator(images))
        grads = tape.gradient(d_loss, d_vars)
        self.d_optimizer.apply_gradients(zip(grads, d_vars, strict=True))
        z = tf.random.normal((batch, GAN_LATENT))
        g_vars = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            fake = self.discriminator(self.generator(z))
            g_loss = self.bce(tf.zeros((batch, 1)), fake)
        grads = tape.gradient(g_loss, g_vars)
        self.g_optimizer.apply_gradients(zip(grads, g_vars, strict=True))
        self.d_tracker.update_state(d_loss)
        return {"d_loss": self.d_tracker.result()}


def build(name, policy):
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    if name == "reference VAE":
        model = ReferenceVAE()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    elif name == "reference GAN":
        model = ReferenceGAN()
        model.compile()
    elif name == "package VAE":
        model = VAE(input_shape=SHAPE, latent_dim=LATENT, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    else:
        model = GAN(image_shape=SHAPE, latent_dim=GAN_LATENT, seed=0)
        model.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    train, _ = data.load_dataset("mnist5k", batch_size=128)
    images = train.map(lambda x, y: x).repeat()
    print(f"| model | setup | examples/s (median of {args.repeats}) | ratio |")
    print("| --- | --- | --- | --- |")
    for family in ("VAE", "GAN"):
        baseline = None
        for name, policy in (
            (f"reference {family}", "float32"),
            (f"package {family}", "float32"),
            (f"package {family}", "mixed_bfloat16"),
        ):
            model = build(name, policy)
            rate = 128 / seconds_per_step(model, images, args.steps, args.repeats)
            baseline = baseline or rate
            print(
                f"| {family} | {name}, {policy} | {rate:.0f} | {rate / baseline:.2f} |"
            )
    keras.mixed_precision.set_dtype_policy("float32")


if __name__ == "__main__":
    main()
