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
    """Writes a PNG scatter of latent codes, coloured by class.

    Two-dimensional codes are plotted as they are. Codes with more dimensions
    are projected on their first two principal components (PCA of the centred
    codes, by SVD); the axis labels say so and give each component's share of
    the variance.

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
    xy, (xlabel, ylabel) = _project_2d(z)
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=6)
    fig.colorbar(points, ax=ax, label="class")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return plots._atomic_savefig(fig, path)


def _project_2d(z: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """`z` itself when 2-D, else its first two principal components; axis labels."""
    if z.shape[1] == 2:
        return z, ("z[0]", "z[1]")
    centred = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(float(np.sum(singular**2)), 1e-300)
    labels = tuple(
        f"PC {i + 1} of the {z.shape[1]}-D codes ({100 * share[i]:.0f}% of variance)"
        for i in range(2)
    )
    return centred @ vt[:2].T, labels


def save_latent_manifold(
    vae,
    path: str | os.PathLike,
    grid_size: int = 15,
    span: float = 2.0,
    title: str | None = "decoded grid of the 2-D latent space",
) -> pathlib.Path:
    """Writes `latent_manifold(vae, grid_size, span)` as a PNG with z axes.

    Args:
        vae: VAE. A model with `latent_dim == 2`.
        path: str or path-like. Destination PNG file.
        grid_size: int. Codes per axis. Defaults to 15.
        span: float. Half-width of the grid, in prior standard deviations.
            Defaults to 2.0.
        title: str or None. Title of the plot. Defaults to "decoded grid of the
            2-D latent space".

    Returns:
        The `pathlib.Path` written.

    Example:

    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    >>> save_latent_manifold(vae, "/tmp/kg/manifold.png", grid_size=3).name
    'manifold.png'
    """
    grid = plots.image_grid(latent_manifold(vae, grid_size, span), ncols=grid_size)
    grid = np.clip(grid, 0.0, 1.0)
    edge = span * grid_size / (grid_size - 1)  # tile centres sit on the codes
    fig = Figure(figsize=(6.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    image = grid[..., 0] if grid.shape[-1] == 1 else grid
    ax.imshow(
        image,
        cmap="gray",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(-edge, edge, -edge, edge),
    )
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
    >>> latent_manifold(VAE(data_shape=(8, 8, 1), latent_dim=2), 3).shape
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
