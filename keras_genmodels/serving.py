"""Serving signatures of the models: named tensors in, dicts of named tensors out."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels.gan.conditional import ConditionalGAN
from keras_genmodels.gan.model import GAN
from keras_genmodels.vae.model import VAE

Endpoint = tuple[Callable[..., dict], list[tf.TensorSpec]]

# Keras draws `keras.random.normal(seed=int)` from the stateless seed
# [seed mod (2**31 - 2), 0]; `sample` does the same, so it equals the in-memory
# `VAE.sample(n, seed)` / `GAN.generate(n, seed)`.
_SEED_MODULUS = 2**31 - 2


def serving_endpoints(model: keras.Model) -> dict[str, Endpoint]:
    """Returns the serving functions of `model` with their input signatures.

    Every function takes named tensors (batch dimension `None`) and returns a
    dict, so TF Serving shows named inputs and outputs. Sampling is stateless:
    the same `seed` gives the same images, equal to the in-memory
    `VAE.sample(n, seed=seed)` / `GAN.generate(n, seed=seed)`. A GAN with an EMA
    generator serves the EMA weights, as `GAN.generate` does.

        VAE:  serving_default  x -> reconstruction        (E[x | z = mean of q])
              encode           x -> z_mean, z_stddev      (q(z | x))
              decode           z -> x_mean                (E[x | z])
              sample           num_samples, seed -> images
        GAN:  serving_default  z [, labels] -> images     (also named generate)
              sample           num_samples, seed [, labels] -> images
              discriminate     images [, labels] -> logits

    `x`, `images`: float32 [None, *data_shape]; `z`: float32 [None, latent_dim];
    `labels`: int32 [None] in [0, num_classes) (conditional GAN only);
    `num_samples`: int32 scalar >= 1 (equal to the number of labels);
    `seed`: int64 scalar.

    Args:
        model: `VAE`, `GAN` or `ConditionalGAN`.

    Returns:
        An ordered dict `{name: (function, input_signature)}`; the first entry is
        `serving_default`.

    Raises:
        TypeError: `model` is not one of the package's models.
        ValueError: a weight of the model is NaN or infinite.

    Example:

    >>> from keras_genmodels import GAN
    >>> endpoints = serving_endpoints(GAN(image_shape=(8, 8, 1), latent_dim=4))
    >>> list(endpoints)
    ['serving_default', 'generate', 'sample', 'discriminate']
    >>> [spec.name for spec in endpoints["sample"][1]]
    ['num_samples', 'seed']
    """
    if isinstance(model, VAE):
        networks = {"encoder": model.encoder, "decoder": model.decoder}
    elif isinstance(model, GAN):
        networks = {"generator": model.generator, "discriminator": model.discriminator}
        if model.ema_generator is not None:
            networks["ema_generator"] = model.ema_generator
    else:
        raise TypeError(
            "`model` must be a keras_genmodels VAE, GAN or ConditionalGAN (or a "
            f"subclass); got an object of type {type(model).__name__}."
        )
    for name, network in networks.items():  # built: the models require it
        for weight in network.weights:
            if not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all():
                raise ValueError(
                    f"`model` cannot be exported: weight {weight.path!r} of its "
                    f"{name} has NaN or infinite values (did training diverge?)."
                )
    if isinstance(model, VAE):
        return _vae_endpoints(model)
    return _gan_endpoints(model)


def _spec(shape, dtype, name: str) -> tf.TensorSpec:
    return tf.TensorSpec(shape=list(shape), dtype=dtype, name=name)


def _sample_specs() -> list[tf.TensorSpec]:
    return [_spec([], tf.int32, "num_samples"), _spec([], tf.int64, "seed")]


def _noise(num_samples, seed, latent_dim: int):
    """z ~ N(0, I) of shape [num_samples, latent_dim], stateless in `seed`."""
    check = tf.debugging.assert_positive(
        num_samples, message="num_samples must be >= 1"
    )
    seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), _SEED_MODULUS), tf.int32)
    with tf.control_dependencies([check]):
        shape = tf.stack([num_samples, latent_dim])
    return tf.random.stateless_normal(shape, seed=tf.stack([seed, 0]))


def _float32(tensor):
    return tf.cast(tensor, tf.float32)


def _vae_endpoints(vae: VAE) -> dict[str, Endpoint]:
    x = _spec([None, *vae.data_shape], tf.float32, "x")
    z = _spec([None, vae.latent_dim], tf.float32, "z")

    def mean_of(latents):
        return _float32(vae.likelihood.mean(vae.decoder(latents, training=False)))

    def reconstruct(x):
        return {"reconstruction": _float32(vae(x, training=False))}

    def encode(x):
        q = vae.posterior(x, training=False)
        return {"z_mean": q.mean(), "z_stddev": q.stddev()}

    def decode(z):
        return {"x_mean": mean_of(z)}

    def sample(num_samples, seed):
        return {"images": mean_of(_noise(num_samples, seed, vae.latent_dim))}

    return {
        "serving_default": (reconstruct, [x]),
        "encode": (encode, [x]),
        "decode": (decode, [z]),
        "sample": (sample, _sample_specs()),
    }


def _gan_endpoints(gan: GAN) -> dict[str, Endpoint]:
    generator = gan.ema_generator or gan.generator
    conditional = isinstance(gan, ConditionalGAN)
    z = _spec([None, gan.latent_dim], tf.float32, "z")
    images = _spec([None, *gan.data_shape], tf.float32, "images")
    labels = [_spec([None], tf.int32, "labels")] if conditional else []

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
        return {"images": _float32(generator(inputs, training=False))}

    def sample(num_samples, seed, labels=None):
        if labels is not None:
            count = tf.debugging.assert_equal(
                tf.size(labels),
                num_samples,
                message="labels must hold num_samples values",
            )
            with tf.control_dependencies([count]):
                labels = tf.identity(labels)
        return generate(_noise(num_samples, seed, gan.latent_dim), labels)

    def discriminate(images, labels=None):
        logits = gan.discriminate(images, checked(labels), training=False)
        return {"logits": _float32(logits)}

    return {
        "serving_default": (generate, [z, *labels]),
        "generate": (generate, [z, *labels]),
        "sample": (sample, _sample_specs() + labels),
        "discriminate": (discriminate, [images, *labels]),
    }
