"""Held-out IWAE NLL of the VAE with each prior at the same budget on MNIST-5k.

Run: python benchmarks/vae_priors.py [--epochs 30] [--iwae-samples 200]
         [--priors standard_normal mixture vamp] [--seeds 0 1 2]

For every prior and seed, one after the other in this process: the default conv
networks, latent 16, Bernoulli likelihood (grey levels, as the CLI's default run),
Adam(1e-3), `load_dataset("mnist5k", batch_size=128, seed=seed)`; then the test
negative ELBO (`evaluate`) and the IWAE estimate of -log p(x) on the 500 test
digits with K importance samples. `mixture` is `MixturePrior(10)`, `vamp` is
`VampPrior(100)`. Prints one line per run and a Markdown table of mean ± std over
seeds (std with ddof=1), and writes the runs to `--output` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genmodels import VAE, data  # noqa: E402
from keras_genmodels.vae.priors import PRIORS  # noqa: E402


def train_and_evaluate(prior: str, seed: int, args) -> dict:
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    train_ds, test_ds = data.load_dataset("mnist5k", batch_size=128, seed=seed)
    vae = VAE(data_shape=(28, 28, 1), latent_dim=16, prior=prior, seed=seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    vae.fit(train_ds, epochs=args.epochs, verbose=0)
    train_seconds = time.perf_counter() - start
    test = vae.evaluate(test_ds, verbose=0, return_dict=True)
    x_test = data.load_arrays("mnist5k").x_test
    start = time.perf_counter()
    log_px = vae.log_likelihood(
        x_test, num_samples=args.iwae_samples, seed=seed, verbose=0
    )
    return {
        "prior": prior,
        "seed": seed,
        "negative_elbo": float(test["loss"]),
        "kl": float(test["kl_loss"]),
        "iwae_nll": float(-log_px.mean()),
        "iwae_nll_stderr": float(log_px.std() / np.sqrt(len(log_px))),
        "analytic_kl": bool(vae.analytic_kl),
        "train_seconds": train_seconds,
        "iwae_seconds": time.perf_counter() - start,
    }


def summary(runs: list[dict], args) -> str:
    lines = [
        f"| prior, {args.epochs} epochs | IWAE NLL, K={args.iwae_samples} (nats) | "
        "neg. ELBO (nats) | KL (nats) | KL estimator | train s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for prior in args.priors:
        mine = [run for run in runs if run["prior"] == prior]

        def stat(key, mine=mine):
            values = np.array([run[key] for run in mine])
            spread = values.std(ddof=1) if len(values) > 1 else 0.0
            return f"{values.mean():.2f} ± {spread:.2f}"

        estimator = "analytic" if mine[0]["analytic_kl"] else "Monte Carlo"
        seconds = np.mean([run["train_seconds"] for run in mine])
        lines.append(
            f"| {prior} | {stat('iwae_nll')} | {stat('negative_elbo')} | "
            f"{stat('kl')} | {estimator} | {seconds:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--iwae-samples", type=int, default=200)
    parser.add_argument("--priors", nargs="+", choices=PRIORS, default=list(PRIORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--output", default="vae_priors.json")
    args = parser.parse_args(argv)
    runs = []
    for seed in args.seeds:  # seeds outermost: partial results cover every prior
        for prior in args.priors:
            runs.append(train_and_evaluate(prior, seed, args))
            print(json.dumps(runs[-1]), flush=True)
            with open(args.output, "w") as file:
                json.dump(runs, file, indent=1)
    print(summary(runs, args))


if __name__ == "__main__":
    main()
