"""Training throughput of the package's VAE and GAN vs the canonical keras.io pattern.

Run: python benchmarks/throughput.py [--epochs 2] [--repeats 3] [--setups A B ...]

The reference models (`reference_models.py`) re-implement the train_steps of the
keras.io examples "Variational AutoEncoder" and "DCGAN" (details there),
fed as keras.io feeds them: `fit(x_train, batch_size=128)` on numpy arrays.
They use the package's own default networks and the same MNIST-5k training split,
so the table compares training steps and input pipelines at equal maths. The package
runs with its defaults (its `load_dataset` pipeline, float32, 8 steps per
execution), with Keras's one step per execution, and with each speed option a user
can switch on.

Every (setup, repeat) runs in a fresh interpreter: one warm-up epoch that traces
the graph, then `--epochs` timed epochs. Beside the rate: the peak resident memory
of the process during those epochs (the kernel's peak mark is reset once the data
and model are built; TensorFlow's own footprint included) and how much of it the
training added on top of the memory in use before the first `fit()`. Repeats run in
rounds over all setups, so slow drift of the machine hits every setup alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from reference_models import ReferenceGAN, ReferenceVAE  # noqa: E402

from keras_genmodels import GAN, VAE, data  # noqa: E402

SHAPE, LATENT, GAN_LATENT, BATCH = (28, 28, 1), 16, 64, 128


SETUPS = {
    "reference": {},
    "package (defaults)": {},
    "package, steps_per_execution=1": {"steps_per_execution": 1},
    "package, jit_compile=True": {"jit_compile": True},
    "package, mixed_bfloat16": {"policy": "mixed_bfloat16"},
}


def build(family, setup):
    options = dict(SETUPS[setup])
    keras.mixed_precision.set_dtype_policy(options.pop("policy", "float32"))
    keras.utils.set_random_seed(0)
    if setup == "reference":
        if family == "VAE":
            model = ReferenceVAE(SHAPE, LATENT)
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
        else:
            model = ReferenceGAN(SHAPE, GAN_LATENT)
            model.compile(learning_rate=2e-4, beta_1=0.5)
    elif family == "VAE":
        model = VAE(data_shape=SHAPE, latent_dim=LATENT, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), **options)
    else:
        model = GAN(data_shape=SHAPE, latent_dim=GAN_LATENT, seed=0)
        model.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            **options,
        )
    return model


def measure(family, setup, epochs):
    """Trains one warm-up epoch, then `epochs` timed ones; prints a JSON line."""
    if setup == "reference":  # the keras.io idiom: numpy arrays, fit() batches them
        arrays = data.load_arrays("mnist5k")
        inputs = {"x": arrays.x_train, "batch_size": BATCH}
        examples = len(arrays.x_train)
    else:  # the package's own pipeline
        train, _ = data.load_dataset("mnist5k", batch_size=BATCH)
        inputs = {"x": train}
        examples = sum(int(x.shape[0]) for x, _ in train)
    model = build(family, setup)
    before = reset_peak_rss()
    model.fit(**inputs, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(**inputs, epochs=epochs, verbose=0)
    rate = examples * epochs / (time.perf_counter() - started)
    peak = memory_mib("VmHWM")
    print(json.dumps({"rate": rate, "peak_mib": peak, "growth_mib": peak - before}))


def memory_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def reset_peak_rss() -> float:
    """Resets the kernel's peak-RSS mark to the current RSS and returns it (MiB).

    Writing "5" to /proc/self/clear_refs (Linux >= 4.0) does this, so the
    VmHWM read after training is the peak of training alone.
    """
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")
    return memory_mib("VmRSS")


def run_setup(family, setup, epochs):
    """Runs `measure` in a fresh interpreter, so peak memory is the setup's own."""
    command = [sys.executable, __file__, "--measure", family, setup]
    command += ["--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{family} / {setup} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--families", nargs="+", default=["VAE", "GAN"])
    parser.add_argument(
        "--setups",
        nargs="+",
        default=list(SETUPS),
        choices=list(SETUPS),
        help="the first is the baseline of the ratios",
    )
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure, args.epochs)
        return
    print(
        f"| model | setup | examples/s (median of {args.repeats}) | ratio "
        f"(median of per-round ratios to {args.setups[0]}) "
        "| peak RSS in training (MiB) | of which training adds (MiB) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for family in args.families:
        runs = {setup: [] for setup in args.setups}
        for _ in range(args.repeats):  # rounds, so drift hits every setup alike
            for setup in args.setups:
                runs[setup].append(run_setup(family, setup, args.epochs))
        baseline = runs[args.setups[0]]
        for setup, results in runs.items():
            rate = statistics.median(r["rate"] for r in results)
            ratio = statistics.median(
                r["rate"] / b["rate"] for r, b in zip(results, baseline, strict=True)
            )
            peak = statistics.median(r["peak_mib"] for r in results)
            growth = statistics.median(r["growth_mib"] for r in results)
            print(
                f"| {family} | {setup} | {rate:.0f} | {ratio:.2f} "
                f"| {peak:.0f} | {growth:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
