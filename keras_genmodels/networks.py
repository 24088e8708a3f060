"""Default encoder and decoder networks: convolutional for images, MLP for vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers


def _check_latent_dim(latent_dim: int) -> int:
    if (
        isinstance(latent_dim, bool)
        or not isinstance(latent_dim, int)
        or latent_dim <= 0
    ):
        raise ValueError(
            f"`latent_dim` must be a positive integer; got {latent_dim!r}."
        )
    return latent_dim


def _check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = None
    if not shape or len(shape) not in (1, 3) or min(shape) <= 0:
        raise ValueError(
            "`input_shape` must be (features,) for vectors or (height, width, "
            f"channels) for images, with positive sizes; got {input_shape!r}."
        )
    return shape


def build_encoder(
    input_shape: Sequence[int], latent_dim: int, name: str = "encoder"
) -> keras.Model:
    """Builds the default encoder: a conv net for images, an MLP for vectors.

    The encoder maps a batch of inputs to `2 * latent_dim` features: the posterior
    mean followed by the posterior log-variance, the convention `VAE` expects.

    Args:
        input_shape: tuple. `(height, width, channels)` for images or `(features,)`
            for vectors.
        latent_dim: int. Size of the latent space.
        name: str. Name of the returned model. Defaults to `"encoder"`.

    Returns:
        A functional `keras.Model` from `input_shape` to `(2 * latent_dim,)`.

    Example:

    >>> encoder = build_encoder((28, 28, 1), latent_dim=2)
    >>> tuple(encoder.output.shape)
    (None, 4)
    """
    shape = _check_input_shape(input_shape)
    latent_dim = _check_latent_dim(latent_dim)
    inputs = keras.Input(shape=shape, name="x")
    if len(shape) == 3:
        h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
        h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
        h = layers.Flatten()(h)
        h = layers.Dense(256, activation="relu")(h)
    else:
        h = layers.Dense(256, activation="relu")(inputs)
        h = layers.Dense(128, activation="relu")(h)
    outputs = layers.Dense(2 * latent_dim, name="posterior_params")(h)
    return keras.Model(inputs, outputs, name=name)


def build_decoder(
    output_shape: Sequence[int], latent_dim: int, name: str = "decoder"
) -> keras.Model:
    """Builds the default decoder, the mirror image of `build_encoder`.

    The decoder maps latent codes to unconstrained parameters of the likelihood
    (Bernoulli logits or Gaussian means) with the data's shape. Images of any
    height and width are supported: the net upsamples by 4 from
    `ceil(height / 4) x ceil(width / 4)` and crops the excess.

    Args:
        output_shape: tuple. Shape of one example, as for `build_encoder`.
        latent_dim: int. Size of the latent space.
        name: str. Name of the returned model. Defaults to `"decoder"`.

    Returns:
        A functional `keras.Model` from `(latent_dim,)` to `output_shape`.

    Example:

    >>> decoder = build_decoder((28, 28, 1), latent_dim=2)
    >>> tuple(decoder.output.shape)
    (None, 28, 28, 1)
    """
    shape = _check_input_shape(output_shape)
    latent_dim = _check_latent_dim(latent_dim)
    inputs = keras.Input(shape=(latent_dim,), name="z")
    if len(shape) == 3:
        height, width, channels = shape
        small_h, small_w = math.ceil(height / 4), math.ceil(width / 4)
        h = layers.Dense(256, activation="relu")(inputs)
        h = layers.Dense(small_h * small_w * 64, activation="relu")(h)
        h = layers.Reshape((small_h, small_w, 64))(h)
        h = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(
            h
        )
        h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(
            h
        )
        h = layers.Conv2D(channels, 3, padding="same")(h)
        extra_h, extra_w = 4 * small_h - height, 4 * small_w - width
        if extra_h or extra_w:
            h = layers.Cropping2D(((0, extra_h), (0, extra_w)))(h)
        outputs = h
    else:
        h = layers.Dense(128, activation="relu")(inputs)
        h = layers.Dense(256, activation="relu")(h)
        outputs = layers.Dense(shape[0])(h)
    return keras.Model(inputs, outputs, name=name)
