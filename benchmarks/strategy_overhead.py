"""Step time of VAE and GAN training under MirroredStrategy(1 device) vs no strategy.

Run: python benchmarks/strategy_overhead.py [--steps 200] [--repeats 3]

Both setups train the same default networks on the same MNIST-5k batches (128) in
this one process; the table reports the median seconds per step over `repeats`
timed runs (after one warm-up run that traces the graph) and the ratio. One step
per execution, so each step pays the per-step costs being compared.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import seconds_per_step  # noqa: E402

from keras_genmodels import GAN, VAE, data  # noqa: E402


def build(kind):
    keras.utils.set_random_seed(0)
    if kind == "vae":
        model = VAE(data_shape=(28, 28, 1), latent_dim=16, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=1)
    else:
        model = GAN(data_shape=(28, 28, 1), latent_dim=64, seed=0)
        model.compile(d_optimizer="adam", g_optimizer="adam", steps_per_execution=1)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    train, _ = data.load_dataset("mnist5k", batch_size=128)
    train = train.repeat()
    setups = {
        "no strategy": tf.distribute.get_strategy(),
        "MirroredStrategy(['/cpu:0'])": tf.distribute.MirroredStrategy(["/cpu:0"]),
    }
    print(f"| model | setup | ms/step (median of {args.repeats}) | ratio |")
    print("| --- | --- | --- | --- |")
    for kind in ("vae", "gan"):
        baseline = None
        for name, strategy in setups.items():
            with strategy.scope():
                model = build(kind)
            step = seconds_per_step(model, train, args.steps, args.repeats)
            baseline = baseline or step
            print(f"| {kind} | {name} | {1000 * step:.1f} | {step / baseline:.2f} |")


if __name__ == "__main__":
    main()
