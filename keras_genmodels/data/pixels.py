"""Pixel formats: alpha compositing, premultiplied RGBA and EXIF orientation."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

DEFAULT_BACKGROUND = "white"
EXIF_ORIENTATION_TAG = 0x0112
# ITU-R 601 luma weights (they sum to exactly 1, so white stays 1 in grey).
_LUMA = (0.299, 0.587, 0.114)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def parse_background(background: object) -> tuple[float, float, float]:
    """A colour name ("white"), hex ("#ffcc00") or RGB triple in [0, 1] -> RGB.

    Example:

    >>> parse_background("white"), parse_background("#000000")
    ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    """
    from matplotlib import colors

    if isinstance(background, str):
        try:
            rgb = colors.to_rgb(background)
        except ValueError:
            rgb = None
    else:
        try:
            rgb = tuple(float(v) for v in background)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            rgb = None
        if rgb is not None and (len(rgb) != 3 or not all(0 <= v <= 1 for v in rgb)):
            rgb = None
    if rgb is None:
        raise ValueError(
            f"background must be a colour name (e.g. 'white', 'black'), a hex colour "
            f"('#rrggbb') or an (r, g, b) triple in [0, 1], got {background!r}."
        )
    return tuple(float(v) for v in rgb)


def has_transparency(image) -> bool:
    """Whether a PIL image (header only) carries alpha or a transparent colour."""
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def exif_orientation(image) -> int:
    """The EXIF orientation (1-8) of a PIL image; 1 (upright) when absent."""
    try:
        value = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except Exception:  # a malformed EXIF block: treat the image as upright
        return 1
    return value if 1 <= value <= 8 else 1


def exif_orientation_of_bytes(contents: bytes) -> np.int64:
    """`exif_orientation` of encoded image bytes (1 if they cannot be opened)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(contents))) as im:
            return np.int64(exif_orientation(im))
    except Exception:
        return np.int64(1)


def orient(x: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """Turns an [h, w, c] image upright from its EXIF orientation (1-8).

    The eight orientations (EXIF 2.32, tag 0x0112) and the transform that undoes
    each: 1 none, 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom,
    5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 anticlockwise.
    """
    transpose = lambda t: tf.transpose(t, [1, 0, 2])  # noqa: E731
    branches = [
        lambda: x,
        lambda: tf.reverse(x, [1]),
        lambda: tf.reverse(x, [0, 1]),
        lambda: tf.reverse(x, [0]),
        lambda: transpose(x),
        lambda: tf.image.rot90(x, k=3),
        lambda: tf.reverse(transpose(x), [0, 1]),
        lambda: tf.image.rot90(x, k=1),
    ]
    index = tf.clip_by_value(tf.cast(orientation, tf.int32) - 1, 0, 7)
    return tf.switch_case(index, branches)


def composite(x: tf.Tensor, channels: int, background: Sequence[float]) -> tf.Tensor:
    """Decoded pixels with or without alpha -> `channels` channels in [0, 1].

    Images with alpha a (grey+alpha or RGBA, straight as PNG stores them) are
    composited over `background`: out = a * colour + (1 - a) * background, before
    any resize. `channels=4` keeps alpha as premultiplied RGBA (a * colour, a),
    which resizes correctly and leaves every fully transparent pixel at 0.
    Opaque images come back unchanged (a = 1 is exact).
    """
    n = tf.shape(x)[-1]  # 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
    alpha = tf.cond(
        tf.equal(n % 2, 0), lambda: x[..., -1:], lambda: tf.ones_like(x[..., :1])
    )
    bg_rgb = tf.constant(background, tf.float32)
    bg_grey = tf.constant(
        sum(w * c for w, c in zip(_LUMA, background, strict=True)), tf.float32
    )

    def rgb():
        return tf.cond(
            n >= 3, lambda: x[..., :3], lambda: tf.repeat(x[..., :1], 3, axis=-1)
        )

    if channels == 4:
        return tf.concat([rgb() * alpha, alpha], axis=-1)
    if channels == 3:
        return rgb() * alpha + bg_rgb * (1.0 - alpha)

    def grey_of_colour():
        over = x[..., :3] * alpha + bg_rgb * (1.0 - alpha)
        return tf.image.rgb_to_grayscale(over)

    def grey_of_grey():
        return x[..., :1] * alpha + bg_grey * (1.0 - alpha)

    return tf.cond(n >= 3, grey_of_colour, grey_of_grey)


def composite_array(images, background: Sequence[float] = (1.0, 1.0, 1.0)):
    """Premultiplied RGBA (N, H, W, 4) -> RGB over `background`; others unchanged.

    out = rgb_premultiplied + (1 - a) * background, clipped to [0, 1].

    Example:

    >>> x = np.zeros((1, 1, 1, 4), np.float32)  # one fully transparent pixel
    >>> composite_array(x, (1.0, 0.0, 0.0))[0, 0, 0].tolist()
    [1.0, 0.0, 0.0]
    """
    x = np.asarray(images, np.float32)
    if x.ndim != 4 or x.shape[-1] != 4:
        return x
    alpha = np.clip(x[..., 3:], 0.0, 1.0)
    out = np.clip(x[..., :3], 0.0, 1.0) + (1.0 - alpha) * np.asarray(
        background, np.float32
    )
    return np.clip(out, 0.0, 1.0)


def checkerboard(height: int, width: int, square: int = 4) -> np.ndarray:
    """A light grey checkerboard (H, W, 3), the usual picture of transparency."""
    rows = (np.arange(height) // square)[:, None]
    cols = (np.arange(width) // square)[None, :]
    light = ((rows + cols) % 2 == 0)[..., None]
    return np.where(light, 0.8, 0.6).astype(np.float32) * np.ones(3, np.float32)


def straight_rgba(images) -> np.ndarray:
    """Premultiplied RGBA in [0, 1] -> straight RGBA (as PNG stores it).

    colour = rgb_premultiplied / a where a > 0 (clipped to [0, 1]), 0 where a = 0.
    """
    x = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    alpha = x[..., 3:]
    colour = np.divide(
        x[..., :3], alpha, out=np.zeros_like(x[..., :3]), where=alpha > 0
    )
    return np.concatenate([np.clip(colour, 0.0, 1.0), alpha], axis=-1)
