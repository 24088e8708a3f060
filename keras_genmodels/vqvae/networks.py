"""Default VQ-VAE encoder and decoder: strided convolutions and residual blocks."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

DOWNSAMPLES = 2  # the code grid is the image divided by 2**DOWNSAMPLES per side


def check_image_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    """Returns `(H, W, C)` as ints; H and W must be multiples of 4."""
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = ()
    factor = 2**DOWNSAMPLES
    if len(shape) != 3 or min(shape) <= 0 or shape[0] % factor or shape[1] % factor:
        raise ValueError(
            "`input_shape` must be (height, width, channels) with height and width "
            f"positive multiples of {factor}; got {input_shape!r}."
        )
    return shape


def _residual(h, filters: int, name: str):
    r = layers.Activation("relu")(h)
    r = layers.Conv2D(
        filters // 2, 3, padding="same", activation="relu", name=f"{name}_conv3"
    )(r)
    r = layers.Conv2D(filters, 1, name=f"{name}_conv1")(r)
    return layers.Add(name=f"{name}_add")([h, r])


def build_vq_encoder(
    input_shape: Sequence[int],
    embedding_dim: int,
    filters: int = 64,
    residual_blocks: int = 2,
    name: str = "vq_encoder",
) -> keras.Model:
    """Builds the default encoder: images -> a grid of `embedding_dim` vectors.

    Two stride-2 4x4 convolutions (filters/2, filters), a 3x3 convolution,
    `residual_blocks` residual blocks (relu, 3x3 conv, relu, 1x1 conv) and a
    1x1 projection to `embedding_dim`: (H, W, C) -> (H/4, W/4, embedding_dim),
    e.g. a 7x7 grid for 28x28 images.

    Args:
        input_shape: tuple. `(H, W, C)`, H and W multiples of 4.
        embedding_dim: int. Size of each output vector.
        filters: int. Width of the network. Defaults to 64.
        residual_blocks: int. Number of residual blocks. Defaults to 2.
        name: str. Name of the model. Defaults to `"vq_encoder"`.

    Example:

    >>> build_vq_encoder((28, 28, 1), embedding_dim=16).output.shape
    (None, 7, 7, 16)
    """
    shape = check_image_shape(input_shape)
    inputs = keras.Input(shape=shape, name="x")
    h = layers.Conv2D(filters // 2, 4, strides=2, padding="same", activation="relu")(
        inputs
    )
    h = layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2D(filters, 3, padding="same")(h)
    for index in range(residual_blocks):
        h = _residual(h, filters, f"encoder_residual_{index}")
    h = layers.Activation("relu")(h)
    outputs = layers.Conv2D(embedding_dim, 1, name="pre_quantization", dtype="float32")(
        h
    )
    return keras.Model(inputs, outputs, name=name)


def build_vq_decoder(
    output_shape: Sequence[int],
    embedding_dim: int,
    filters: int = 64,
    residual_blocks: int = 2,
    name: str = "vq_decoder",
) -> keras.Model:
    """Builds the default decoder, the mirror image of `build_vq_encoder`.

    (H/4, W/4, embedding_dim) -> 3x3 conv, residual blocks, two stride-2 4x4
    transposed convolutions -> (H, W, C) with a linear output (the
    reconstruction, compared to the image by squared error).

    Args:
        output_shape: tuple. `(H, W, C)` of the images.
        embedding_dim: int. Size of each code vector.
        filters: int. Width of the network. Defaults to 64.
        residual_blocks: int. Number of residual blocks. Defaults to 2.
        name: str. Name of the model. Defaults to `"vq_decoder"`.

    Example:

    >>> build_vq_decoder((28, 28, 1), embedding_dim=16).output.shape
    (None, 28, 28, 1)
    """
    height, width, channels = check_image_shape(output_shape)
    factor = 2**DOWNSAMPLES
    inputs = keras.Input(
        shape=(height // factor, width // factor, embedding_dim), name="z_q"
    )
    h = layers.Conv2D(filters, 3, padding="same")(inputs)
    for index in range(residual_blocks):
        h = _residual(h, filters, f"decoder_residual_{index}")
    h = layers.Activation("relu")(h)
    h = layers.Conv2DTranspose(
        filters // 2, 4, strides=2, padding="same", activation="relu"
    )(h)
    outputs = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", name="reconstruction", dtype="float32"
    )(h)
    return keras.Model(inputs, outputs, name=name)
