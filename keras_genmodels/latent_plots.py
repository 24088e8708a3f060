"""Pictures of a VAE's latent space: a scatter of codes by class and a 2-D manifold."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from keras_genmodels import plots


def save_latent_scatter(
    z: Any, labels: Any, path: str | os.PathLike, title: str | None = None
) -> pathlib.Path:
    """Writes a PNG scatter of 2-D latent codes, coloured by class.

    Codes with more than two dimensions are shown on their first two.

    Args:
        z: array-like of shape (N, D), D >= 2. Latent codes, e.g. posterior means.
        labels: array-like of N integers. Class of each code.
        path: str or path-like. Destination PNG file.
        title: str or None. Title of the plot. Defaults to None.

    Returns:
        The `pathlib.Path` written.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> save_latent_scatter(rng.normal(size=(30, 2)), rng.integers(0, 3, 30),
    ...                     "/tmp/kg/scatter.png").name
    'scatter.png'
    """
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"`z` must have shape (N, D >= 2); got {z.shape}.")
    if labels.shape != (len(z),):
        raise ValueError(
            f"`labels` must hold one label per code ({len(z)}); got shape "
            f"{labels.shape}."
        )
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=6)
    fig.colorbar(points, ax=ax, label="class")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    if title:
        ax.set_title(title)
    return plots._atomic_savefig(fig, path)


def latent_manifold(vae, grid_size: int = 15, span: float = 2.0) -> np.ndarray:
    """Decodes a `grid_size` x `grid_size` grid of 2-D codes in [-span, span]^2.

    Rows run from high to low z[1], columns from low to high z[0], so the result,
    tiled with `plots.image_grid(images, ncols=grid_size)`, reads like a plot.

    Args:
        vae: VAE. A model with `latent_dim == 2`.
        grid_size: int. Codes per axis. Defaults to 15.
        span: float. Half-width of the grid, in prior standard deviations.
            Defaults to 2.0.

    Returns:
        np.ndarray of shape (grid_size**2, *vae.data_shape).

    Example:

    >>> from keras_genmodels import VAE
    >>> latent_manifold(VAE(input_shape=(8, 8, 1), latent_dim=2), 3).shape
    (9, 8, 8, 1)
    """
    if vae.latent_dim != 2:
        raise ValueError(
            f"latent_manifold needs a VAE with latent_dim=2; got {vae.latent_dim}."
        )
    if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 2:
        raise ValueError(f"`grid_size` must be an integer >= 2; got {grid_size!r}.")
    axis = np.linspace(-span, span, grid_size, dtype="float32")
    z = np.array([(x, y) for y in axis[::-1] for x in axis], dtype="float32")
    return np.asarray(vae.decode(z))
