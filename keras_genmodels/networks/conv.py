"""Default two-stage conv nets for small images (28x28) and MLPs for vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers

from keras_genmodels.networks.common import (
    check_input_shape,
    check_latent_dim,
    check_normalization,
    check_width,
    label_inputs,
    normalize,
    one_hot,
)


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
    shape = check_input_shape(input_shape)
    latent_dim = check_latent_dim(latent_dim)
    inputs = keras.Input(shape=shape, name="x")
    if len(shape) == 3:
        h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
        h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
        h = layers.Flatten()(h)
        h = layers.Dense(256, activation="relu")(h)
    else:
        h = layers.Dense(256, activation="relu")(inputs)
        h = layers.Dense(128, activation="relu")(h)
    # Output layers run in float32 under mixed precision (losses and TFP maths).
    outputs = layers.Dense(2 * latent_dim, name="posterior_params", dtype="float32")(h)
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
    shape = check_input_shape(output_shape)
    latent_dim = check_latent_dim(latent_dim)
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
        h = layers.Conv2D(channels, 3, padding="same", dtype="float32")(h)
        extra_h, extra_w = 4 * small_h - height, 4 * small_w - width
        if extra_h or extra_w:
            h = layers.Cropping2D(((0, extra_h), (0, extra_w)))(h)
        outputs = h
    else:
        h = layers.Dense(128, activation="relu")(inputs)
        h = layers.Dense(256, activation="relu")(h)
        outputs = layers.Dense(shape[0], dtype="float32")(h)
    return keras.Model(inputs, outputs, name=name)


def build_generator(
    image_shape: Sequence[int],
    latent_dim: int,
    num_classes: int | None = None,
    name: str = "generator",
    normalization: str | None = "batch",
    width: int = 64,
) -> keras.Model:
    """Builds a DCGAN-style generator from z (and labels) to data in [0, 1].

    Images: a dense layer to a `ceil(H / 4) x ceil(W / 4) x 2 width` map, two strided
    transposed convolutions (2 width, then width channels) and a sigmoid
    convolution, cropped to `H x W`; the
    dense and transposed-convolution outputs are normalised (as in DCGAN) before
    each LeakyReLU. Vectors: an MLP. With `num_classes`, the one-hot label is
    concatenated to z, so the model takes `[z, labels]`.

    Why the normalisation: Glorot-initialised strided transposed convolutions
    reach each output pixel through only a quarter of their kernel taps, so
    without it the signal shrinks about 3x per layer; at initialisation the
    output's per-pixel standard deviation across z is then ~0.004 around 0.5,
    i.e. G(z) barely depends on z, and losses such as least squares collapse to
    one blank image within an epoch. With batch normalisation (training mode) it
    is ~0.15.

    Args:
        image_shape: tuple. `(height, width, channels)` or `(features,)`.
        latent_dim: int. Size of z.
        num_classes: int or None. Number of classes of a conditional generator.
            Defaults to None (unconditional).
        name: str. Name of the returned model. Defaults to `"generator"`.
        normalization: str or None. Normalisation of the image generator's hidden
            maps: "batch" (synchronized batch normalisation, so N replicas equal
            one device), "layer" (per example and position) or None (no
            normalisation; collapses easily, see above). Defaults to "batch".
        width: int. Images: channels of the last hidden map; the dense map and
            the first transposed convolution have twice as many, and the cost of
            a step grows about as `width ** 2`. Vectors: unused. Defaults to 64
            (128, 128, 64 channels).

    Returns:
        A functional `keras.Model`.

    Example:

    >>> generator = build_generator((28, 28, 1), latent_dim=8, num_classes=10)
    >>> [tuple(t.shape) for t in generator.inputs], tuple(generator.output.shape)
    ([(None, 8), (None,)], (None, 28, 28, 1))

    References:
        Radford et al., DCGAN, arXiv:1511.06434.
    """
    shape = check_input_shape(image_shape)
    latent_dim = check_latent_dim(latent_dim)
    normalization = check_normalization(normalization)
    width = check_width(width)
    z = keras.Input(shape=(latent_dim,), name="z")
    labels = label_inputs(num_classes)
    h = z
    if labels is not None:
        h = layers.Concatenate()([z, one_hot(labels, num_classes)])
    if len(shape) == 3:
        height, columns, channels = shape
        small_h, small_w = math.ceil(height / 4), math.ceil(columns / 4)
        bias = normalization is None  # a normalisation's shift replaces the bias
        h = layers.Dense(small_h * small_w * 2 * width, use_bias=bias)(h)
        h = layers.Reshape((small_h, small_w, 2 * width))(h)
        h = layers.LeakyReLU(0.2)(normalize(h, normalization))
        for filters in (2 * width, width):
            h = layers.Conv2DTranspose(
                filters, 4, strides=2, padding="same", use_bias=bias
            )(h)
            h = layers.LeakyReLU(0.2)(normalize(h, normalization))
        h = layers.Conv2D(
            channels, 5, padding="same", activation="sigmoid", dtype="float32"
        )(h)
        extra_h, extra_w = 4 * small_h - height, 4 * small_w - columns
        if extra_h or extra_w:
            h = layers.Cropping2D(((0, extra_h), (0, extra_w)))(h)
    else:
        for units in (128, 256):
            h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
        h = layers.Dense(shape[0], activation="sigmoid", dtype="float32")(h)
    inputs = z if labels is None else [z, labels]
    return keras.Model(inputs, h, name=name)


def build_discriminator(
    image_shape: Sequence[int],
    num_classes: int | None = None,
    spectral_normalization: bool = False,
    name: str = "discriminator",
    width: int = 64,
) -> keras.Model:
    """Builds a DCGAN-style discriminator (critic) from data to one logit.

    Images: two strided 4x4 convolutions (width, then 2 width channels) with
    LeakyReLU, then a dense logit; no
    batch normalisation, so gradient penalties stay per-example. Vectors: an MLP.
    With `num_classes`, the one-hot label is mapped by a dense layer to one extra
    input channel (images) or concatenated (vectors); the model takes `[x, labels]`.

    Args:
        image_shape: tuple. `(height, width, channels)` or `(features,)`.
        num_classes: int or None. Number of classes of a conditional critic.
            Defaults to None.
        spectral_normalization: bool. Wrap every weight layer in
            `keras.layers.SpectralNormalization`. Defaults to False.
        name: str. Name of the returned model. Defaults to `"discriminator"`.
        width: int. Images: channels of the first convolution (the second has
            twice as many). Vectors: unused. Defaults to 64.

    Returns:
        A functional `keras.Model` returning logits of shape `(batch, 1)`.

    Example:

    >>> critic = build_discriminator((8, 8, 1), spectral_normalization=True)
    >>> tuple(critic.output.shape)
    (None, 1)

    References:
        Radford et al., DCGAN, arXiv:1511.06434; Miyato et al., Spectral
        Normalization for GANs, arXiv:1802.05957.
    """
    shape = check_input_shape(image_shape)
    width = check_width(width)
    labels = label_inputs(num_classes)

    def weight_layer(layer):
        return layers.SpectralNormalization(layer) if spectral_normalization else layer

    x = keras.Input(shape=shape, name="x")
    h = x
    if len(shape) == 3:
        if labels is not None:
            label_map = layers.Dense(shape[0] * shape[1])(one_hot(labels, num_classes))
            label_map = layers.Reshape((shape[0], shape[1], 1))(label_map)
            h = layers.Concatenate()([x, label_map])
        for filters in (width, 2 * width):
            h = weight_layer(layers.Conv2D(filters, 4, strides=2, padding="same"))(h)
            h = layers.LeakyReLU(0.2)(h)
        h = layers.Flatten()(h)
    else:
        if labels is not None:
            h = layers.Concatenate()([x, one_hot(labels, num_classes)])
        for units in (256, 128):
            h = layers.LeakyReLU(0.2)(weight_layer(layers.Dense(units))(h))
    logits = weight_layer(layers.Dense(1, name="logits", dtype="float32"))(h)
    inputs = x if labels is None else [x, labels]
    return keras.Model(inputs, logits, name=name)
