"""The GAN's serving endpoints (conditional or not) and export metadata."""

from __future__ import annotations

import tensorflow as tf

from keras_genmodels import serving
from keras_genmodels.gan.conditional import ConditionalGAN


def serving_endpoints(gan) -> dict:
    """The GAN's SavedModel signatures; an EMA generator serves its EMA weights.

        serving_default  z [, labels] -> images     (also named generate)
        sample           num_samples, seed [, labels] -> images
        discriminate     images [, labels] -> logits

    `z`: float32 [None, latent_dim]; `images`: float32 [None, *data_shape];
    `labels`: int32 [None] in [0, num_classes) (ConditionalGAN only; for
    `sample` as many as `num_samples`); `num_samples`: int32 scalar >= 1;
    `seed`: int64 scalar. `sample` equals the in-memory
    `GAN.generate(n, seed=seed)`.
    """
    generator = gan.ema_generator or gan.generator
    conditional = isinstance(gan, ConditionalGAN)
    z = serving.spec([None, gan.latent_dim], tf.float32, "z")
    images = serving.spec([None, *gan.data_shape], tf.float32, "images")
    labels = [serving.spec([None], tf.int32, "labels")] if conditional else []

    def checked(values):
        if values is None:
            return None
        message = f"labels must lie in [0, {gan.num_classes})"
        checks = [
            tf.debugging.assert_non_negative(values, message=message),
            tf.debugging.assert_less(values, gan.num_classes, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(values)

    def generate(z, labels=None):
        inputs = gan.generator_inputs(z, checked(labels))
        return {"images": serving.float32(generator(inputs, training=False))}

    def sample(num_samples, seed, labels=None):
        if labels is not None:
            count = tf.debugging.assert_equal(
                tf.size(labels),
                num_samples,
                message="labels must hold num_samples values",
            )
            with tf.control_dependencies([count]):
                labels = tf.identity(labels)
        return generate(serving.normal_noise(num_samples, seed, gan.latent_dim), labels)

    def discriminate(images, labels=None):
        logits = gan.discriminate(images, checked(labels), training=False)
        return {"logits": serving.float32(logits)}

    return {
        "serving_default": (generate, [z, *labels]),
        "generate": (generate, [z, *labels]),
        "sample": (sample, serving.sample_specs() + labels),
        "discriminate": (discriminate, [images, *labels]),
    }


def export_metadata(gan) -> dict:
    return {
        "latent_dim": int(gan.latent_dim),
        "num_classes": getattr(gan, "num_classes", None),
        "ema_generator": gan.ema_generator is not None,
    }
