"""VQ-VAE on MNIST-5k: reconstruction, codebook use, prior bits per code, samples.

Run: python benchmarks/vqvae.py [--epochs 15] [--prior-epochs 20] [--num-samples 1000]

Trains, in one process and with the same data pipeline
(`keras_genmodels.data.load_dataset("mnist5k", batch_size=128)`, 4500 training
and 500 held-out images):

- the default `VQVAE(data_shape=(28, 28, 1))` (128 codes of size 16 on a 7x7
  grid, EMA codebook) for `--epochs` epochs with Adam(1e-3), then its PixelCNN
  prior on the training codes for `--prior-epochs` epochs;
- the default Gaussian `VAE(data_shape=(28, 28, 1))` (Bernoulli likelihood,
  latent 16) for the same `--epochs`, Adam(1e-3).

Reports the held-out reconstruction MSE per pixel of both (`reconstruct`, the
VAE's likelihood mean at the posterior mean), the codebook perplexity of the
held-out codes against the codebook size, the prior's bits per code on the
held-out codes, and the classes of `--num-samples` prior samples in the
package's cached MNIST-5k classifier (`evaluation.FeatureExtractor`,
`evaluation.mode_coverage`). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def held_out_mse(model, x) -> float:
    import numpy as np

    parts = [
        np.asarray(model.reconstruct(x[i : i + 250])) for i in range(0, len(x), 250)
    ]
    return float(((np.concatenate(parts) - x) ** 2).mean())


def perplexity(codes, num_embeddings: int) -> tuple[float, float]:
    import numpy as np

    p = np.bincount(codes.ravel(), minlength=num_embeddings) / codes.size
    used = p[p > 0]
    return float(np.exp(-(used * np.log(used)).sum())), float(len(used) / len(p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--prior-epochs", type=int, default=20)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_genmodels import VAE, data
    from keras_genmodels.evaluation import FeatureExtractor, mode_coverage
    from keras_genmodels.vqvae import VQVAE

    keras.utils.set_random_seed(args.seed)
    train, test = data.load_dataset("mnist5k", batch_size=128, seed=args.seed)
    arrays = data.load_arrays("mnist5k")
    x_test = arrays.x_test
    timings = {}

    start = time.perf_counter()
    vqvae = VQVAE(data_shape=(28, 28, 1), seed=args.seed)
    vqvae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vqvae.fit(train, epochs=args.epochs, verbose=0)
    timings["VQ-VAE"] = time.perf_counter() - start
    print(f"VQ-VAE trained in {timings['VQ-VAE']:.0f} s", flush=True)
    start = time.perf_counter()
    prior_history = vqvae.fit_prior(
        train,
        epochs=args.prior_epochs,
        batch_size=128,
        validation_data=test,
        verbose=0,
    )
    timings["prior"] = time.perf_counter() - start
    print(f"prior trained in {timings['prior']:.0f} s", flush=True)

    start = time.perf_counter()
    vae = VAE(data_shape=(28, 28, 1), seed=args.seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(train, epochs=args.epochs, verbose=0)
    timings["VAE"] = time.perf_counter() - start
    print(f"VAE trained in {timings['VAE']:.0f} s", flush=True)

    codes = vqvae.codes_of(x_test)
    held_perplexity, held_usage = perplexity(codes, vqvae.num_embeddings)
    bits = vqvae.prior.bits_per_code(codes)
    start = time.perf_counter()
    samples = np.concatenate(
        [
            np.asarray(vqvae.sample(min(250, args.num_samples - i), seed=args.seed + i))
            for i in range(0, args.num_samples, 250)
        ]
    )
    timings["sampling"] = time.perf_counter() - start
    extractor = FeatureExtractor.from_dataset("mnist5k")
    _, probs = extractor(np.clip(samples, 0.0, 1.0))
    coverage = mode_coverage(probs, extractor.num_classes)
    vq_mse, vae_mse = held_out_mse(vqvae, x_test), held_out_mse(vae, x_test)

    print(f"epochs {args.epochs}, prior epochs {args.prior_epochs}, seed {args.seed}")
    print("| quantity | value | target |")
    print("| --- | --- | --- |")
    print(f"| VQ-VAE held-out MSE per pixel | {vq_mse:.5f} | <= {0.5 * vae_mse:.5f} |")
    print(f"| VAE (Bernoulli, latent 16) held-out MSE per pixel | {vae_mse:.5f} | |")
    print(f"| MSE ratio VQ-VAE / VAE | {vq_mse / vae_mse:.3f} | <= 0.5 |")
    print(
        f"| held-out codebook perplexity (of {vqvae.num_embeddings}) | "
        f"{held_perplexity:.1f} | >= {vqvae.num_embeddings / 2:.0f} |"
    )
    print(f"| held-out codebook usage | {held_usage:.3f} | |")
    print(
        f"| training perplexity, last epoch | {history.history['perplexity'][-1]:.1f}"
        " | |"
    )
    print(f"| prior bits per code, held-out codes | {bits:.3f} | |")
    print(
        "| prior bits per code, training (last epoch) | "
        f"{prior_history.history['bits_per_code'][-1]:.3f} | |"
    )
    print(f"| uniform prior, bits per code | {np.log2(vqvae.num_embeddings):.3f} | |")
    print(
        f"| classes covered by {args.num_samples} samples | "
        f"{coverage.num_covered}/{coverage.num_classes} | 10/10 |"
    )
    print(f"| KL(sample classes \\|\\| uniform) | {coverage.kl_divergence:.4f} | |")
    print(
        "| class histogram | "
        + " ".join(f"{h:.3f}" for h in coverage.histogram)
        + " | |"
    )
    print("wall seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
