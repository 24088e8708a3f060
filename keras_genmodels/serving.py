"""Serving signatures of any family's model: named tensors in, named tensors out."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels.registry import family_of

Endpoint = tuple[Callable[..., dict], list[tf.TensorSpec]]

# Keras draws `keras.random.normal(seed=int)` from the stateless seed
# [seed mod (2**31 - 2), 0]; `stateless_seed` does the same, so a `sample`
# endpoint equals the in-memory `model.sample(n, seed)`.
_SEED_MODULUS = 2**31 - 2


def serving_endpoints(model: keras.Model) -> dict[str, Endpoint]:
    """Returns the serving functions of `model` with their input signatures.

    The functions come from the model's family (`registry.family_of(model)`);
    see each family's `serving` module for its signatures (`keras_genmodels.vae.
    serving`, `keras_genmodels.gan.serving`, ...). Every function takes named
    tensors (batch dimension `None`) and returns a dict, so TF Serving shows
    named inputs and outputs; sampling endpoints take an explicit seed and are
    stateless.

    Args:
        model: a model of a registered family (`VAE`, `GAN`, ...).

    Returns:
        An ordered dict `{name: (function, input_signature)}`; the first entry is
        `serving_default`.

    Raises:
        TypeError: `model` belongs to no registered family.
        ValueError: a weight of the model is NaN or infinite.

    Example:

    >>> from keras_genmodels import GAN
    >>> endpoints = serving_endpoints(GAN(data_shape=(8, 8, 1), latent_dim=4))
    >>> list(endpoints)
    ['serving_default', 'generate', 'sample', 'discriminate']
    >>> [spec.name for spec in endpoints["sample"][1]]
    ['num_samples', 'seed']
    """
    family = family_of(model)
    check_finite_weights(model)
    endpoints = family.endpoints(model)
    if next(iter(endpoints), None) != "serving_default":
        raise ValueError(
            f"The {family.name!r} family's serving_endpoints must list "
            f"'serving_default' first; got {list(endpoints)}."
        )
    return endpoints


def check_finite_weights(model: keras.Model) -> None:
    """Raises ValueError naming the first NaN or infinite weight of `model`.

    The message names the sub-network holding it (e.g. "of its decoder").
    """
    owners = [(f" of its {layer.name}", layer.weights) for layer in model.layers]
    for where, weights in [*owners, ("", model.weights)]:
        for weight in weights:
            if not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all():
                raise ValueError(
                    f"`model` cannot be exported: weight {weight.path!r}{where} has "
                    "NaN or infinite values (did training diverge?)."
                )


def spec(shape, dtype, name: str) -> tf.TensorSpec:
    """A named `tf.TensorSpec` (TF Serving shows the name as the input's)."""
    return tf.TensorSpec(shape=list(shape), dtype=dtype, name=name)


def sample_specs() -> list[tf.TensorSpec]:
    """The inputs of every `sample` endpoint: int32 `num_samples`, int64 `seed`."""
    return [spec([], tf.int32, "num_samples"), spec([], tf.int64, "seed")]


def checked_num_samples(num_samples):
    """`num_samples`, asserted >= 1 in the graph."""
    check = tf.debugging.assert_positive(
        num_samples, message="num_samples must be >= 1"
    )
    with tf.control_dependencies([check]):
        return tf.identity(num_samples)


def stateless_seed(seed):
    """The shape-[2] int32 stateless seed Keras derives from an integer seed."""
    seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), _SEED_MODULUS), tf.int32)
    return tf.stack([seed, tf.constant(0, tf.int32)])


def normal_noise(num_samples, seed, latent_dim: int):
    """z ~ N(0, I) of shape [num_samples, latent_dim], stateless in `seed`."""
    shape = tf.stack([checked_num_samples(num_samples), latent_dim])
    return tf.random.stateless_normal(shape, seed=stateless_seed(seed))


def float32(tensor):
    return tf.cast(tensor, tf.float32)
