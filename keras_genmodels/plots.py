"""PNG figures without a screen: image grids, reconstructions and training curves."""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_genmodels.data.pixels import checkerboard, composite_array, straight_rgba
from keras_genmodels.io_utils import atomic_write

# Figures are built on an explicit Agg canvas, never through pyplot: nothing needs a
# display, no global backend is switched, and no figure outlives its function.
_DPI = 100
_MIN_GRID_PIXELS = 600  # small grids (8x8 digits) are upscaled to at least this width


def _as_images(images: Any, arg: str = "images") -> np.ndarray:
    """Returns `images` as float32 (N, H, W, C); square (N, D) -> (N, s, s, 1)."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1] or side == 0:
            raise ValueError(
                f"{arg} has shape {x.shape}: flattened images (N, D) need D to be a "
                f"perfect square, got D={x.shape[1]}."
            )
        x = x.reshape(-1, side, side, 1)
    elif x.ndim != 4:
        raise ValueError(
            f"{arg} has rank {x.ndim} (shape {x.shape}); expected a batch of images "
            "(N, H, W, C) or flattened square images (N, D). For one image pass "
            "images[None]."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{arg} is empty (shape {x.shape}); pass at least one image.")
    if x.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{arg} has {x.shape[-1]} channels (shape {x.shape}); expected 1 "
            "(grayscale), 3 (RGB) or 4 (premultiplied RGBA)."
        )
    if x.shape[-1] == 4:  # shown over a checkerboard, the picture of transparency
        board = checkerboard(x.shape[1], x.shape[2], square=max(2, x.shape[1] // 8))
        x = composite_array(x, board)
    return x


def image_grid(
    images: Any, ncols: int | None = None, padding: int = 1, pad_value: float = 1.0
) -> np.ndarray:
    """Tiles a batch of images into one image, row by row.

    Tiles are separated, and surrounded, by `padding` pixels of value `pad_value`.
    Unused cells of the last row are filled with `pad_value` as well.

    Args:
        images: array-like. Images (N, H, W, C) with C = 1, 3 or 4, values in
            [0, 1] (C = 4: premultiplied RGBA, shown over a checkerboard); or
            flattened images (N, D) where D is a perfect square (grayscale).
        ncols: int or None. Tiles per row; None uses ceil(sqrt(N)). Defaults to None.
        padding: int. Pixels between and around tiles. Defaults to 1.
        pad_value: float. Value of the padding pixels. Defaults to 1.0 (white).

    Returns:
        A float32 array of shape
        (rows * H + (rows + 1) * padding, ncols * W + (ncols + 1) * padding, C)
        with rows = ceil(N / ncols).

    Example:

    >>> image_grid(np.zeros((10, 8, 8, 1)), ncols=5, padding=1).shape
    (19, 46, 1)
    """
    x = _as_images(images)
    n = len(x)
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    if isinstance(ncols, bool) or not isinstance(ncols, int | np.integer) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer or None, got {ncols!r}.")
    if isinstance(padding, bool) or not isinstance(padding, int | np.integer):
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}.")
    if padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}.")
    return _tile(x, int(ncols), int(padding), pad_value)


def _tile(x: np.ndarray, ncols: int, padding: int, pad_value: float) -> np.ndarray:
    """The tiling of `image_grid`, on checked (N, H, W, C) images."""
    n, h, w, c = x.shape
    nrows = math.ceil(n / ncols)
    grid = np.full(
        (nrows * h + (nrows + 1) * padding, ncols * w + (ncols + 1) * padding, c),
        pad_value,
        dtype=np.float32,
    )
    for i in range(n):
        top = padding + (i // ncols) * (h + padding)
        left = padding + (i % ncols) * (w + padding)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def _atomic_savefig(fig: Figure, path: str | os.PathLike) -> pathlib.Path:
    """Writes `fig` as a PNG, atomically (see `io_utils.atomic_write`)."""
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=_DPI))


def _show(ax: Any, grid: np.ndarray, title: str | None = None) -> None:
    """Draws an image grid on `ax` without axes; grayscale for one channel."""
    grid = np.clip(grid, 0.0, 1.0)
    if grid.shape[-1] == 1:
        ax.imshow(
            grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"
        )
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def _figure_for(
    grids: Sequence[np.ndarray], titled: bool, label_inches: float = 0.0
) -> Figure:
    """A figure sized so the widest grid is shown at >= _MIN_GRID_PIXELS pixels."""
    width = max(g.shape[1] for g in grids)
    height = sum(g.shape[0] for g in grids)
    scale = max(1, math.ceil(_MIN_GRID_PIXELS / width))
    title_inches = 0.35 * len(grids) if titled else 0.0
    return Figure(
        figsize=(
            width * scale / _DPI + label_inches,
            height * scale / _DPI + title_inches,
        ),
        dpi=_DPI,
        layout="constrained" if titled or label_inches else None,
    )


def _label_rows(ax: Any, grid: np.ndarray, row_labels: Sequence[str]) -> None:
    """Writes one label left of each row of tiles of `grid`."""
    rows = len(row_labels)
    tile = (grid.shape[0] - 1) / rows  # tile height plus one padding pixel
    ax.set_axis_on()
    ax.set_yticks([0.5 + tile * (i + 0.5) for i in range(rows)], list(row_labels))
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def save_image_grid(
    images: Any,
    path: str | os.PathLike,
    ncols: int | None = None,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
) -> pathlib.Path:
    """Writes a batch of images as one PNG grid (atomically, creating parent dirs).

    Args:
        images: array-like. Images (N, H, W, C) in [0, 1] or (N, D) with square D,
            as for `image_grid`. Values outside [0, 1] are clipped for display.
        path: str or path-like. Destination PNG file.
        ncols: int or None. Tiles per row; None uses ceil(sqrt(N)). Defaults to None.
        title: str or None. Title above the grid. Defaults to None.
        row_labels: list of str or None. One label per row of tiles, written
            left of the row (e.g. the class of a conditional model's row).
            Defaults to None.

    Returns:
        The `pathlib.Path` written. Premultiplied RGBA images (C = 4) are drawn
        over a checkerboard, and also written as a transparent PNG grid beside
        it (`<name>_rgba.png`).

    Example:

    >>> save_image_grid(np.random.rand(16, 8, 8, 1), "/tmp/kg/grid.png").name
    'grid.png'
    >>> save_image_grid(np.random.rand(6, 8, 8, 1), "/tmp/kg/rows.png", ncols=3,
    ...                 row_labels=["class 0", "class 1"]).name
    'rows.png'
    """
    grid = image_grid(images, ncols=ncols)
    if row_labels is not None:
        rows = math.ceil(len(_as_images(images)) / _columns(images, ncols))
        if len(row_labels) != rows:
            raise ValueError(
                f"row_labels has {len(row_labels)} labels for a grid of {rows} rows."
            )
    label_inches = 0.12 * max(map(len, row_labels)) + 0.2 if row_labels else 0.0
    fig = _figure_for([grid], titled=bool(title), label_inches=label_inches)
    if title or row_labels:
        ax = fig.add_subplot()
        _show(ax, grid, title)
        if row_labels:
            _label_rows(ax, grid, row_labels)
    else:
        _show(fig.add_axes((0.0, 0.0, 1.0, 1.0)), grid)
    x = np.asarray(images, np.float32)
    if x.ndim == 4 and x.shape[-1] == 4:
        save_rgba_grid(
            x,
            pathlib.Path(path).with_name(pathlib.Path(path).stem + "_rgba.png"),
            ncols=ncols,
        )
    return _atomic_savefig(fig, path)


def save_rgba_grid(images: Any, path: str | os.PathLike, ncols=None) -> pathlib.Path:
    """Writes premultiplied RGBA images (N, H, W, 4) as one transparent PNG grid.

    Pixels are stored straight (colour = premultiplied / alpha), as PNG expects;
    the padding between tiles is fully transparent.
    """
    from PIL import Image

    x = np.asarray(images, np.float32)
    if x.ndim != 4 or x.shape[-1] != 4:
        raise ValueError(f"images must have shape (N, H, W, 4), got {x.shape}.")
    columns = ncols or math.ceil(math.sqrt(len(x)))
    grid = _tile(straight_rgba(x), columns, padding=1, pad_value=0.0)
    pixels = np.rint(grid * 255.0).astype(np.uint8)
    return atomic_write(
        path, lambda tmp: Image.fromarray(pixels, "RGBA").save(tmp, format="PNG")
    )


def _columns(images: Any, ncols: int | None) -> int:
    """The number of columns `image_grid` uses for `images`."""
    return ncols or math.ceil(math.sqrt(len(_as_images(images))))


def arrange_by_label(
    images: Any, labels: Any, pad_value: float = 1.0
) -> tuple[np.ndarray, int, list[int]]:
    """Orders images into one row per label, padding short rows with blank tiles.

    Args:
        images: array-like (N, H, W, C) or (N, D), see `image_grid`.
        labels: array-like of N integers, the class of each image.
        pad_value: float. Value of the blank tiles. Defaults to 1.0 (white).

    Returns:
        `(tiles, ncols, classes)`: the tiles row by row (for
        `image_grid(tiles, ncols)`), the tiles per row (the largest class count)
        and the class of each row, in increasing order.

    Example:

    >>> tiles, ncols, classes = arrange_by_label(np.zeros((5, 2, 2, 1)),
    ...                                          [1, 0, 1, 0, 1])
    >>> tiles.shape, ncols, classes
    ((6, 2, 2, 1), 3, [0, 1])
    """
    x = _as_images(images)
    labels = np.asarray(labels).ravel()
    if labels.shape != (len(x),):
        raise ValueError(
            f"labels must hold one label per image ({len(x)}); got shape "
            f"{labels.shape}."
        )
    classes = sorted(int(c) for c in np.unique(labels))
    ncols = max(int(np.sum(labels == c)) for c in classes)
    blank = np.full(x.shape[1:], pad_value, dtype=x.dtype)
    rows = []
    for c in classes:
        members = list(x[labels == c])
        rows.extend(members + [blank] * (ncols - len(members)))
    return np.stack(rows), ncols, classes


def save_reconstructions(
    originals: Any, reconstructions: Any, path: str | os.PathLike, num: int = 16
) -> pathlib.Path:
    """Writes a PNG with inputs above and their reconstructions below.

    The first `num` images of each batch are shown in two panels, "input" and
    "reconstruction", laid out identically (at most 16 per row), so an image and its
    reconstruction sit at the same position in their panels.

    Args:
        originals: array-like. Input images (N, H, W, C) or (N, D), see `image_grid`.
        reconstructions: array-like. Reconstructions with the same shape.
        path: str or path-like. Destination PNG file.
        num: int. Number of pairs shown (at most N). Defaults to 16.

    Returns:
        The `pathlib.Path` written.

    Example:

    >>> x = np.random.rand(8, 8, 8, 1)
    >>> save_reconstructions(x, 1 - x, "/tmp/kg/rec.png", num=8).name
    'rec.png'
    """
    x = np.asarray(originals, dtype=np.float32)
    x_hat = np.asarray(reconstructions, dtype=np.float32)
    if x.shape != x_hat.shape:
        raise ValueError(
            f"originals and reconstructions must have the same shape, got {x.shape} "
            f"and {x_hat.shape}."
        )
    if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 1:
        raise ValueError(f"num must be a positive integer, got {num!r}.")
    x = _as_images(x, "originals")
    x_hat = _as_images(x_hat, "reconstructions")
    num = min(int(num), len(x))
    ncols = min(num, 16)
    grids = [image_grid(x[:num], ncols=ncols), image_grid(x_hat[:num], ncols=ncols)]
    fig = _figure_for(grids, titled=True)
    top, bottom = fig.subplots(2, 1)
    _show(top, grids[0], "input")
    _show(bottom, grids[1], "reconstruction")
    return _atomic_savefig(fig, path)


def save_history(
    history: Mapping[str, Sequence[float]] | Any, path: str | os.PathLike
) -> pathlib.Path:
    """Writes training curves as a PNG: one panel per metric, validation beside train.

    Each metric name without its "val_" prefix gets a panel showing the training
    curve and, when present, the "val_" curve, against epochs 1..n. Non-finite
    values are left as gaps.

    Args:
        history: dict or `keras.callbacks.History`. Metric name -> per-epoch values,
            e.g. `model.fit(...).history`.
        path: str or path-like. Destination PNG file.

    Returns:
        The `pathlib.Path` written.

    Example:

    >>> h = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5], "kl_loss": [1.0, 1.2]}
    >>> save_history(h, "/tmp/kg/history.png").name
    'history.png'
    """
    history = getattr(history, "history", history)
    if not isinstance(history, Mapping) or not history:
        raise ValueError(
            "history must be a non-empty dict of metric name -> per-epoch values "
            f"(e.g. model.fit(...).history), got {history!r}."
        )
    curves = {}
    for key, values in history.items():
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 1 or v.size == 0:
            raise ValueError(
                f"history[{key!r}] must be a non-empty 1-D sequence of numbers, got "
                f"shape {v.shape}."
            )
        curves[str(key)] = np.where(np.isfinite(v), v, np.nan)
    names = list(dict.fromkeys(k.removeprefix("val_") for k in curves))
    names.sort(key=lambda name: name != "loss")  # the total loss first, else as given
    num_epochs = max(len(v) for v in curves.values())
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.0 * ncols, 3.0 * nrows), dpi=_DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in curves:
                epochs = np.arange(1, len(curves[key]) + 1)
                ax.plot(epochs, curves[key], marker=".", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, num_epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    return _atomic_savefig(fig, path)
