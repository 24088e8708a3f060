"""Two-replica training: 8 steps per graph call vs 1, alternating in one process.

Run: python benchmarks/replica_steps_per_execution.py [--steps 64] [--pairs 5]

A MirroredStrategy over two logical CPUs (a stand-in for two GPUs: the per-step
host round trip is what `steps_per_execution` removes) trains the default VAE
and GAN on MNIST-5k (global batch 128). Each pair times one `fit()` of `steps`
steps with `steps_per_execution=1` and one with 8, in alternating order; the
table reports the median ms/step of each and the median of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402

from keras_genmodels import GAN, VAE, data  # noqa: E402


def build(kind, steps_per_execution):
    keras.utils.set_random_seed(0)
    if kind == "vae":
        model = VAE(data_shape=(28, 28, 1), latent_dim=16, seed=0)
        model.compile(steps_per_execution=steps_per_execution)
    else:
        model = GAN(data_shape=(28, 28, 1), latent_dim=64, seed=0)
        model.compile(
            d_optimizer="adam",
            g_optimizer="adam",
            steps_per_execution=steps_per_execution,
        )
    return model


def timed(model, dataset, steps):
    started = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - started) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    train, _ = data.load_dataset("mnist5k", batch_size=128)
    train = train.repeat()
    print(f"| model | ms/step, 1 per call | ms/step, 8 per call | ratio 1/8 "
          f"(median of {args.pairs} pairs) |")  # fmt: skip
    print("| --- | --- | --- | --- |")
    for kind in ("vae", "gan"):
        with strategy.scope():
            models = {spe: build(kind, spe) for spe in (1, 8)}
        for model in models.values():  # warm-up: tracing
            model.fit(train, epochs=1, steps_per_epoch=16, verbose=0)
        times = {1: [], 8: []}
        for pair in range(args.pairs):
            order = (1, 8) if pair % 2 == 0 else (8, 1)
            for spe in order:
                times[spe].append(timed(models[spe], train, args.steps))
        pairs = zip(times[1], times[8], strict=True)
        ratio = statistics.median(a / b for a, b in pairs)
        print(f"| {kind} | {1000 * statistics.median(times[1]):.1f} | "
              f"{1000 * statistics.median(times[8]):.1f} | {ratio:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
