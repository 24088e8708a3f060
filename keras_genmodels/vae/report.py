"""The VAE's evaluation: held-out likelihoods, and the images it is judged by."""

from __future__ import annotations

import pathlib
from typing import Any

import keras
import numpy as np

from keras_genmodels.data import load_arrays


def evaluation_samples(vae, num_samples: int, seed: int = 0, batch_size: int = 500):
    """Decodes z ~ N(0, I) drawn from `np.random.default_rng(seed)`; no labels."""
    z = np.random.default_rng(seed).standard_normal((num_samples, vae.latent_dim))
    z = z.astype(np.float32)
    images = [
        keras.ops.convert_to_numpy(vae.decode(z[start : start + batch_size]))
        for start in range(0, num_samples, batch_size)
    ]
    return np.concatenate(images).astype(np.float32), None


def evaluation_report(
    vae, dataset: str, iwae_samples=1000, seed=0, binarize=None, **data_options
) -> dict[str, Any]:
    """The family's part of `keras-genmodels evaluate`: `{"likelihood": ...}`."""
    report = vae_report(
        vae,
        dataset,
        iwae_samples=iwae_samples,
        seed=seed,
        binarize=binarize,
        **data_options,
    )
    summary = f"IWAE NLL (K={iwae_samples}): {report['iwae_nll']:.2f} nats"
    return {"likelihood": report, "summary": summary}


def save_pictures(vae, directory, x, y=None, seed: int = 0) -> list[str]:
    """Missing reconstructions.png, and the latent pictures, in `directory`."""
    from keras_genmodels import plots
    from keras_genmodels.vae import latent_plots

    directory = pathlib.Path(directory)
    written = []
    if not (directory / "reconstructions.png").exists():
        shown = x[:16]
        rebuilt = keras.ops.convert_to_numpy(vae.reconstruct(shown))
        plots.save_reconstructions(shown, rebuilt, directory / "reconstructions.png")
        written.append("reconstructions.png")
    if y is not None:
        z_mean = keras.ops.convert_to_numpy(vae.encode(x)[0])
        latent_plots.save_latent_scatter(
            z_mean,
            y,
            directory / "latent_scatter.png",
            title="posterior means of the test set",
        )
        written.append("latent_scatter.png")
    if vae.latent_dim == 2:
        latent_plots.save_latent_manifold(
            vae, directory / "latent_manifold.png", grid_size=15
        )
        written.append("latent_manifold.png")
    return written


def vae_report(
    vae,
    dataset: str = "mnist5k",
    iwae_samples: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
    binarize: str | None = None,
    **data_options,
) -> dict[str, Any]:
    """Held-out likelihood numbers of a VAE, in nats per example.

    On the test split of `load_arrays(dataset, binarize, seed=0)` (the data the
    model was trained on must be prepared the same way): the negative ELBO and
    its two terms (one posterior sample per example from the model's own seed
    generator, as `VAE.evaluate` does, so a freshly loaded model gives the same
    numbers), the IWAE negative log-likelihood with K = `iwae_samples` (seeded
    by `seed`) and its standard error, and the per-pixel mean squared error of
    deterministic reconstructions.

    Args:
        vae: VAE. The trained model.
        dataset: str. Dataset name (see `load_arrays`). Defaults to "mnist5k".
        iwae_samples: int. K of the IWAE bound. Defaults to 1000.
        batch_size: int. Examples per batch. Defaults to 100.
        seed: int. Seed of the IWAE noise. Defaults to 0.
        binarize: str or None. The binarisation used in training (None, "static"
            or "dynamic"). Defaults to None.
        **data_options: loader options of a folder or TFRecord dataset
            (`image_size`, `channels`, `crop`, ...; see `data.load_arrays`).

    Returns:
        A dict with "negative_elbo", "reconstruction_loss", "kl_loss",
        "iwae_nll", "iwae_nll_stderr", "reconstruction_mse", "units" and
        "protocol".

    Raises:
        ValueError: for a shape mismatch between model and dataset.

    Example:

    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    >>> report = vae_report(vae, "digits", iwae_samples=2)
    >>> report["iwae_nll"] <= report["negative_elbo"] + 5, report["protocol"]["K"]
    (True, 2)
    """
    x = load_arrays(dataset, binarize=binarize, **data_options).x_test
    if tuple(vae.data_shape) != x.shape[1:]:
        raise ValueError(
            f"The VAE models examples of shape {tuple(vae.data_shape)} but dataset "
            f"{dataset!r} has shape {x.shape[1:]}."
        )
    terms = {"loss": [], "reconstruction_loss": [], "kl_loss": []}
    squared_errors = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        losses = vae.compute_losses(batch)
        for name, values in terms.items():
            values.append(keras.ops.convert_to_numpy(losses[name]))
        reconstruction = keras.ops.convert_to_numpy(vae.reconstruct(batch))
        squared_errors.append((reconstruction - batch) ** 2)
    terms = {name: np.concatenate(v).astype(np.float64) for name, v in terms.items()}
    log_px = np.asarray(
        vae.log_likelihood(x, iwae_samples, batch_size=batch_size, seed=seed),
        dtype=np.float64,
    )
    return {
        "negative_elbo": float(terms["loss"].mean()),
        "reconstruction_loss": float(terms["reconstruction_loss"].mean()),
        "kl_loss": float(terms["kl_loss"].mean()),
        "iwae_nll": float(-log_px.mean()),
        "iwae_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "reconstruction_mse": float(np.concatenate(squared_errors).mean()),
        "units": "nats per example (mse: per pixel)",
        "protocol": {
            "dataset": dataset,
            "split": "test",
            "binarize": binarize,
            "num_examples": int(len(x)),
            "K": iwae_samples,
            "elbo_samples_per_example": 1,
            "seed": seed,
        },
    }
