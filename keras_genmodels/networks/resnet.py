"""Networks whose number of stages follows the image size: ResNet or plain conv."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers, ops

from keras_genmodels.networks.common import (
    check_input_shape,
    check_latent_dim,
    check_normalization,
    check_width,
    label_inputs,
    normalize,
    one_hot,
)


@keras.saving.register_keras_serializable(package="keras_genmodels")
class SumPooling2D(layers.Layer):
    """Sums a `(batch, H, W, C)` map over its positions to `(batch, C)`.

    The global pooling of SNGAN's ResNet discriminator: unlike an average, the
    sum keeps the critic's output scale independent of the image size's effect
    on the mean of per-position features.

    Example:

    >>> import numpy as np
    >>> tuple(SumPooling2D()(np.ones((2, 3, 4, 5), "float32")).shape)
    (2, 5)

    References:
        Miyato et al., Spectral Normalization for GANs, arXiv:1802.05957.
    """

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])


def _check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = check_input_shape(image_shape)
    if len(shape) != 3:
        raise ValueError(
            "`image_shape` must be (height, width, channels) for these image "
            f"networks; got {image_shape!r}."
        )
    return shape


def _check_widths(width: int, max_width: int | None) -> tuple[int, int]:
    width = check_width(width)
    if max_width is not None:
        check_width(max_width, "max_width")
    max_width = 4 * width if max_width is None else max_width
    if max_width < width:
        raise ValueError(
            f"`max_width` must be >= `width`; got max_width={max_width}, "
            f"width={width}."
        )
    return width, max_width


def num_stages(image_shape: Sequence[int], min_size: int = 4) -> int:
    """Stages of 2x resampling from `min_size` (or a little more) to the image.

    n = max(1, ceil(log2(min(H, W) / min_size))): 8 px -> 1, 28 and 32 px -> 3,
    64 px -> 4, 128 px -> 5 (with `min_size=4`).

    >>> [num_stages((s, s, 1)) for s in (8, 28, 32, 64, 128)]
    [1, 3, 3, 4, 5]
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    return max(1, math.ceil(math.log2(min(height, width) / min_size)))


def stage_widths(stages: int, width: int, max_width: int) -> list[int]:
    """Channels per stage from the image inwards: width, 2 width, ... <= max_width."""
    return [min(max_width, width * 2**i) for i in range(stages)]


def _up_block(h, filters, normalization, residual):
    # BigGAN/SNGAN generator block: norm-ReLU-up-conv-norm-ReLU-conv (+ up-1x1 skip).
    shortcut = h
    h = layers.ReLU()(normalize(h, normalization))
    h = layers.UpSampling2D(2)(h)
    h = layers.Conv2D(filters, 3, padding="same")(h)
    h = layers.ReLU()(normalize(h, normalization))
    h = layers.Conv2D(filters, 3, padding="same")(h)
    if not residual:
        return h
    shortcut = layers.UpSampling2D(2)(shortcut)
    shortcut = layers.Conv2D(filters, 1)(shortcut)
    return layers.Add()([h, shortcut])


def _down_block(h, filters, wrap, normalization, residual, first):
    # SNGAN discriminator block: (ReLU)-conv-ReLU-conv-avgpool (+ 1x1-avgpool skip).
    shortcut = h
    if not first:
        h = layers.ReLU()(normalize(h, normalization))
    h = wrap(layers.Conv2D(filters, 3, padding="same"))(h)
    h = layers.ReLU()(normalize(h, normalization))
    h = wrap(layers.Conv2D(filters, 3, padding="same"))(h)
    h = layers.AveragePooling2D(2, padding="same")(h)
    if not residual:
        return h
    if first:  # the optimised first block: pool, then project the input
        shortcut = layers.AveragePooling2D(2, padding="same")(shortcut)
        shortcut = wrap(layers.Conv2D(filters, 1))(shortcut)
    else:
        shortcut = wrap(layers.Conv2D(filters, 1))(shortcut)
        shortcut = layers.AveragePooling2D(2, padding="same")(shortcut)
    return layers.Add()([h, shortcut])


def _decoder_trunk(inputs, shape, width, max_width, min_size, normalization, residual):
    height, width_px, channels = shape
    stages = num_stages(shape, min_size)
    widths = stage_widths(stages, width, max_width)[::-1]
    small_h, small_w = math.ceil(height / 2**stages), math.ceil(width_px / 2**stages)
    h = layers.Dense(small_h * small_w * widths[0])(inputs)
    h = layers.Reshape((small_h, small_w, widths[0]))(h)
    for filters in widths:
        h = _up_block(h, filters, normalization, residual)
    h = layers.ReLU()(normalize(h, normalization))
    extra_h, extra_w = small_h * 2**stages - height, small_w * 2**stages - width_px
    return h, channels, (extra_h, extra_w)


def _crop(h, extra):
    if any(extra):
        h = layers.Cropping2D(((0, extra[0]), (0, extra[1])))(h)
    return h


def _encoder_trunk(x, shape, width, max_width, min_size, wrap, normalization, resid):
    stages = num_stages(shape, min_size)
    h = x
    for i, filters in enumerate(stage_widths(stages, width, max_width)):
        h = _down_block(h, filters, wrap, normalization, resid, first=i == 0)
    h = layers.ReLU()(h)
    # Sum over positions (SNGAN): a bottleneck of <= max_width features at any size.
    return SumPooling2D()(h)


def build_resnet_generator(
    image_shape: Sequence[int],
    latent_dim: int,
    width: int = 64,
    max_width: int | None = None,
    num_classes: int | None = None,
    normalization: str | None = "batch",
    residual: bool = True,
    min_size: int = 4,
    name: str = "generator",
) -> keras.Model:
    """Builds an SNGAN/BigGAN-style ResNet generator from z (and labels) to [0, 1].

    z (with the one-hot label concatenated when `num_classes` is set) goes
    through a dense layer to a `ceil(H / 2^n) x ceil(W / 2^n)` map and n
    upsampling blocks, n = `num_stages(image_shape, min_size)`; the output is a
    sigmoid 3x3 convolution, cropped to `H x W`. Stage widths, from the image
    inwards, are width, 2 width, 4 width, ... capped at `max_width`. One block:

        h   = conv3x3(ReLU(norm(conv3x3(up2(ReLU(norm(x)))))))
        out = h + conv1x1(up2(x))          (residual=True; h alone otherwise)

    Args:
        image_shape: tuple. `(height, width, channels)`.
        latent_dim: int. Size of z.
        width: int. Channels of the last (full-resolution) stage. Defaults to 64.
        max_width: int or None. Cap on the channels of any stage. Defaults to
            None (4 * width).
        num_classes: int or None. Conditional generator on `[z, labels]`.
            Defaults to None.
        normalization: str or None. "batch" (synchronized, so N replicas equal
            one device), "layer" or None. Defaults to "batch".
        residual: bool. Residual blocks; False gives a plain conv stack.
            Defaults to True.
        min_size: int. Smallest feature map side (the stage count follows).
            Defaults to 4.
        name: str. Name of the model. Defaults to "generator".

    Returns:
        A functional `keras.Model`.

    Example:

    >>> generator = build_resnet_generator((32, 32, 3), latent_dim=16, width=8)
    >>> tuple(generator.output.shape)
    (None, 32, 32, 3)

    References:
        Miyato et al., Spectral Normalization for GANs, arXiv:1802.05957.
        Brock et al., Large Scale GAN Training (BigGAN), arXiv:1809.11096.
    """
    shape = _check_image_shape(image_shape)
    latent_dim = check_latent_dim(latent_dim)
    width, max_width = _check_widths(width, max_width)
    normalization = check_normalization(normalization)
    z = keras.Input(shape=(latent_dim,), name="z")
    labels = label_inputs(num_classes)
    h = z
    if labels is not None:
        h = layers.Concatenate()([z, one_hot(labels, num_classes)])
    h, channels, extra = _decoder_trunk(
        h, shape, width, max_width, min_size, normalization, bool(residual)
    )
    h = layers.Conv2D(
        channels, 3, padding="same", activation="sigmoid", dtype="float32"
    )(h)
    inputs = z if labels is None else [z, labels]
    return keras.Model(inputs, _crop(h, extra), name=name)


def build_resnet_discriminator(
    image_shape: Sequence[int],
    width: int = 64,
    max_width: int | None = None,
    num_classes: int | None = None,
    spectral_normalization: bool = True,
    residual: bool = True,
    min_size: int = 4,
    name: str = "discriminator",
) -> keras.Model:
    """Builds an SNGAN-style ResNet discriminator (critic) from images to a logit.

    n = `num_stages(image_shape, min_size)` downsampling blocks (the first one
    "optimised": no ReLU before its first convolution, pooling before its 1x1
    shortcut), ReLU, a sum over positions and a dense logit. No normalisation
    layers, so gradient penalties stay per example. With `num_classes` the
    logit gains a projection term, logit = dense(phi) + <embed(y), phi>.

    Args:
        image_shape: tuple. `(height, width, channels)`.
        width: int. Channels of the first (full-resolution) stage. Defaults to 64.
        max_width: int or None. Cap on the channels. Defaults to None (4 * width).
        num_classes: int or None. Projection critic on `[x, labels]`.
            Defaults to None.
        spectral_normalization: bool. Wrap every weight layer in
            `keras.layers.SpectralNormalization`. Defaults to True.
        residual: bool. Residual blocks. Defaults to True.
        min_size: int. Smallest feature map side. Defaults to 4.
        name: str. Name of the model. Defaults to "discriminator".

    Returns:
        A functional `keras.Model` returning logits of shape `(batch, 1)`.

    Example:

    >>> critic = build_resnet_discriminator((32, 32, 3), width=8)
    >>> tuple(critic.output.shape)
    (None, 1)

    References:
        Miyato et al., Spectral Normalization for GANs, arXiv:1802.05957.
        Miyato and Koyama, cGANs with Projection Discriminator, arXiv:1802.05637.
    """
    shape = _check_image_shape(image_shape)
    width, max_width = _check_widths(width, max_width)
    labels = label_inputs(num_classes)

    def wrap(layer):
        return layers.SpectralNormalization(layer) if spectral_normalization else layer

    x = keras.Input(shape=shape, name="x")
    phi = _encoder_trunk(x, shape, width, max_width, min_size, wrap, None, residual)
    logits = wrap(layers.Dense(1, name="logits", dtype="float32"))(phi)
    if labels is not None:
        embedded = layers.Embedding(num_classes, phi.shape[-1])(labels)
        projection = layers.Dot(axes=1)([embedded, phi])
        logits = layers.Add(dtype="float32")([logits, projection])
    inputs = x if labels is None else [x, labels]
    return keras.Model(inputs, logits, name=name)


def build_resnet_encoder(
    input_shape: Sequence[int],
    latent_dim: int,
    width: int = 32,
    max_width: int | None = None,
    normalization: str | None = None,
    residual: bool = True,
    min_size: int = 4,
    name: str = "encoder",
) -> keras.Model:
    """Builds a ResNet VAE encoder from images to `2 * latent_dim` features.

    The trunk of `build_resnet_discriminator` (without spectral normalisation)
    followed by a dense layer to the posterior mean and log-variance, the
    convention `VAE` expects. The dense layer sees at most `max_width` features
    at any image size.

    Args:
        input_shape: tuple. `(height, width, channels)`.
        latent_dim: int. Size of the latent space.
        width: int. Channels of the first stage. Defaults to 32.
        max_width: int or None. Cap on the channels. Defaults to None (4 * width).
        normalization: str or None. "batch", "layer" or None. Defaults to None.
        residual: bool. Residual blocks. Defaults to True.
        min_size: int. Smallest feature map side. Defaults to 4.
        name: str. Name of the model. Defaults to "encoder".

    Returns:
        A functional `keras.Model` from `input_shape` to `(2 * latent_dim,)`.

    Example:

    >>> encoder = build_resnet_encoder((64, 64, 3), latent_dim=8, width=8)
    >>> tuple(encoder.output.shape)
    (None, 16)
    """
    shape = _check_image_shape(input_shape)
    latent_dim = check_latent_dim(latent_dim)
    width, max_width = _check_widths(width, max_width)
    normalization = check_normalization(normalization)
    x = keras.Input(shape=shape, name="x")
    phi = _encoder_trunk(
        x, shape, width, max_width, min_size, lambda layer: layer, normalization,
        bool(residual),
    )
    outputs = layers.Dense(2 * latent_dim, name="posterior_params", dtype="float32")(
        phi
    )
    return keras.Model(x, outputs, name=name)


def build_resnet_decoder(
    output_shape: Sequence[int],
    latent_dim: int,
    width: int = 32,
    max_width: int | None = None,
    normalization: str | None = "batch",
    residual: bool = True,
    min_size: int = 4,
    name: str = "decoder",
) -> keras.Model:
    """Builds a ResNet VAE decoder, the mirror image of `build_resnet_encoder`.

    The trunk of `build_resnet_generator` with a linear 3x3 output convolution:
    unconstrained likelihood parameters (Bernoulli logits or Gaussian means).

    Args:
        output_shape: tuple. `(height, width, channels)`.
        latent_dim: int. Size of the latent space.
        width: int. Channels of the last stage. Defaults to 32.
        max_width: int or None. Cap on the channels. Defaults to None (4 * width).
        normalization: str or None. "batch" (synchronized), "layer" or None.
            Defaults to "batch".
        residual: bool. Residual blocks. Defaults to True.
        min_size: int. Smallest feature map side. Defaults to 4.
        name: str. Name of the model. Defaults to "decoder".

    Returns:
        A functional `keras.Model` from `(latent_dim,)` to `output_shape`.

    Example:

    >>> decoder = build_resnet_decoder((28, 28, 1), latent_dim=8, width=8)
    >>> tuple(decoder.output.shape)
    (None, 28, 28, 1)
    """
    shape = _check_image_shape(output_shape)
    latent_dim = check_latent_dim(latent_dim)
    width, max_width = _check_widths(width, max_width)
    normalization = check_normalization(normalization)
    z = keras.Input(shape=(latent_dim,), name="z")
    h, channels, extra = _decoder_trunk(
        z, shape, width, max_width, min_size, normalization, bool(residual)
    )
    h = layers.Conv2D(channels, 3, padding="same", dtype="float32")(h)
    return keras.Model(z, _crop(h, extra), name=name)
