"""Argument checks and label inputs shared by the network builders."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def check_latent_dim(latent_dim: int) -> int:
    if (
        isinstance(latent_dim, bool)
        or not isinstance(latent_dim, int)
        or latent_dim <= 0
    ):
        raise ValueError(
            f"`latent_dim` must be a positive integer; got {latent_dim!r}."
        )
    return latent_dim


def check_width(value: int, arg: str = "width") -> int:
    """Returns a channel count or raises ValueError unless it is a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{arg}` must be a positive integer; got {value!r}.")
    return value


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
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


def check_num_classes(num_classes: int) -> int:
    """Returns `num_classes` or raises ValueError unless it is an integer >= 2."""
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or (num_classes < 2)
    ):
        raise ValueError(f"`num_classes` must be an integer >= 2; got {num_classes!r}.")
    return num_classes


def label_inputs(num_classes: int | None):
    if num_classes is None:
        return None
    check_num_classes(num_classes)
    return keras.Input(shape=(), dtype="int32", name="labels")


def one_hot(labels, num_classes: int):
    return layers.CategoryEncoding(num_classes, output_mode="one_hot")(labels)


NORMALIZATIONS = ("batch", "layer", None)


def check_normalization(normalization: str | None) -> str | None:
    """Returns `normalization` or raises ValueError unless it is in NORMALIZATIONS."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"`normalization` must be one of {NORMALIZATIONS}; got {normalization!r}."
        )
    return normalization


def normalize(h, normalization: str | None):
    """Applies the named normalisation to feature map or features `h`.

    "batch": `BatchNormalization(synchronized=True, momentum=0.9)`, statistics over
    the global batch, so N replicas compute what one device computes; momentum 0.9
    (PyTorch's 0.1) lets the moving statistics follow a short training run.
    "layer": `LayerNormalization` over the channels of each example and position,
    the same in training and inference. None: `h` unchanged.
    """
    if normalization == "batch":
        return layers.BatchNormalization(momentum=0.9, synchronized=True)(h)
    if normalization == "layer":
        return layers.LayerNormalization()(h)
    return h
