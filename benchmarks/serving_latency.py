"""Latency of the exported SavedModel's `decode` (VAE) and `generate` (GAN) signatures.

Run: python benchmarks/serving_latency.py [--calls 200]

Exports the default MNIST-sized VAE (latent 16) and GAN (latent 64) with
`export_saved_model`, loads each with `tf.saved_model.load` (what TF Serving runs,
without its RPC layer) and times single calls of the signature at batch 1 and 256,
after 10 warm-up calls. The baseline is the package's own Python API in the same
process (`VAE.decode`, `GAN.generate` on the same latent codes). Latencies are
per call: the median and the 90th percentile; the ratio is signature median over
API median. Weights are untrained: latency does not depend on their values.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_genmodels import GAN, VAE  # noqa: E402
from keras_genmodels.export import export_saved_model  # noqa: E402

BATCHES = (1, 256)


def latencies_ms(call, calls: int) -> list[float]:
    for _ in range(10):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return times


def endpoints(folder: str):
    """(family, signature name, API call, signature call, latent size) per model."""
    vae = VAE(data_shape=(28, 28, 1), latent_dim=16, seed=0)
    gan = GAN(data_shape=(28, 28, 1), latent_dim=64, seed=0)
    for family, model, name, api in (
        ("VAE", vae, "decode", vae.decode),
        ("GAN", gan, "generate", gan.generate),
    ):
        path = export_saved_model(model, os.path.join(folder, family.lower()))
        signature = tf.saved_model.load(str(path)).signatures[name]
        yield family, name, api, signature, model.latent_dim


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        "| model | signature | batch | setup | median ms | p90 ms | examples/s "
        "| ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for family, name, api, signature, latent_dim in endpoints(folder):
            for batch in BATCHES:
                z = rng.standard_normal((batch, latent_dim)).astype("float32")
                z_tensor = tf.constant(z)
                calls = {
                    "package API": functools.partial(api, z),
                    "SavedModel signature": functools.partial(signature, z=z_tensor),
                }
                baseline = None
                for setup, call in calls.items():
                    times = latencies_ms(call, args.calls)
                    median = statistics.median(times)
                    p90 = float(np.percentile(times, 90))
                    baseline = baseline or median
                    print(
                        f"| {family} | {name} | {batch} | {setup} | {median:.2f} "
                        f"| {p90:.2f} | {1000 * batch / median:.0f} "
                        f"| {median / baseline:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
