"""The VQ-VAE's evaluation: reconstructions, codebook use, the prior's bits per code."""

from __future__ import annotations

import pathlib
from typing import Any

import keras
import numpy as np

from keras_genmodels.data import load_arrays


def code_statistics(codes: np.ndarray, num_embeddings: int) -> dict[str, Any]:
    """Perplexity exp(H(p)) and usage of the codes' empirical distribution p.

    Example:

    >>> code_statistics(np.array([[0, 1], [2, 3]]), 8)["perplexity"]
    4.0
    """
    counts = np.bincount(np.ravel(codes), minlength=num_embeddings)
    p = counts / counts.sum()
    entropy = -np.sum(p[p > 0] * np.log(p[p > 0]))
    return {
        "perplexity": float(np.exp(entropy)),
        "usage": float(np.mean(counts > 0)),
        "counts": counts.tolist(),
    }


def vqvae_report(vqvae, x: np.ndarray, batch_size: int = 256) -> dict[str, Any]:
    """Held-out numbers of a VQ-VAE on images `x` (numpy, in [0, 1]).

    Reconstruction MSE per pixel, PSNR = 10 log10(1 / MSE) in dB (peak 1),
    the perplexity and usage of the codes of `x`, and the prior's bits per code.
    """
    squared = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        rebuilt = keras.ops.convert_to_numpy(vqvae.reconstruct(batch))
        squared.append(((rebuilt - batch) ** 2).reshape(len(batch), -1).mean(axis=1))
    mse = float(np.concatenate(squared).mean())
    stats = code_statistics(vqvae.codes_of(x), vqvae.num_embeddings)
    return {
        "reconstruction_mse": mse,
        "psnr_db": float(10 * np.log10(1.0 / mse)) if mse > 0 else float("inf"),
        "perplexity": stats["perplexity"],
        "usage": stats["usage"],
        "num_embeddings": int(vqvae.num_embeddings),
        "prior_bits_per_code": float(vqvae.prior_bits_per_code(x)),
        "code_counts": stats["counts"],
        "protocol": {"num_examples": int(len(x)), "split": "test"},
    }


def evaluation_report(
    vqvae, dataset: str, binarize=None, iwae_samples=None, seed=0, **data_options
) -> dict[str, Any]:
    """The family's part of `keras-genmodels evaluate`: `{"codes": ...}`."""
    x = load_arrays(dataset, binarize=binarize, **data_options).x_test
    report = vqvae_report(vqvae, x)
    summary = (
        f"recon MSE {report['reconstruction_mse']:.4f} ({report['psnr_db']:.1f} dB)"
        f" | perplexity {report['perplexity']:.1f}/{report['num_embeddings']}"
        f" | prior {report['prior_bits_per_code']:.2f} bits/code"
    )
    return {"codes": report, "summary": summary}


def save_codebook_usage(counts, path) -> pathlib.Path:
    """A bar chart of how often each code is used (sorted, most used first)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    counts = np.sort(np.asarray(counts))[::-1]
    share = counts / max(counts.sum(), 1)
    figure, axes = plt.subplots(figsize=(6, 3), layout="constrained")
    axes.bar(np.arange(len(share)), share, width=1.0)
    used = int((counts > 0).sum())
    axes.set_title(f"codebook usage: {used} of {len(counts)} codes used")
    axes.set_xlabel("code (sorted by use)")
    axes.set_ylabel("share of the test codes")
    path = pathlib.Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def save_pictures(vqvae, directory, x, y=None, seed: int = 0) -> list[str]:
    """Missing reconstructions.png and codebook_usage.png in `directory`."""
    from keras_genmodels import plots

    directory = pathlib.Path(directory)
    written = []
    if not (directory / "reconstructions.png").exists():
        shown = x[:16]
        rebuilt = keras.ops.convert_to_numpy(vqvae.reconstruct(shown))
        plots.save_reconstructions(shown, rebuilt, directory / "reconstructions.png")
        written.append("reconstructions.png")
    if not (directory / "codebook_usage.png").exists():
        counts = code_statistics(vqvae.codes_of(x), vqvae.num_embeddings)["counts"]
        save_codebook_usage(counts, directory / "codebook_usage.png")
        written.append("codebook_usage.png")
    return written
