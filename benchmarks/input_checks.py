"""Cost of the in-graph input checks (finite, in [0, 1]) on a VAE training step.

Run: python benchmarks/input_checks.py [--steps 200] [--repeats 3]

`fit()` on a `tf.data` pipeline checks every batch in the graph. This script times
the default VAE on MNIST-5k batches of 128 with the checks and with a subclass whose
`valid_batch` returns the batch unchecked, in the same process, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from timing import seconds_per_step  # noqa: E402

from keras_genmodels import VAE, data  # noqa: E402


class UncheckedVAE(VAE):
    """The same model without the in-graph checks (for this measurement only)."""

    def valid_batch(self, x):
        return x


def build(cls):
    keras.utils.set_random_seed(0)
    model = cls(data_shape=(28, 28, 1), latent_dim=16, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=1)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    train, _ = data.load_dataset("mnist5k", batch_size=128)
    train = train.repeat()
    unchecked = seconds_per_step(build(UncheckedVAE), train, args.steps, args.repeats)
    checked = seconds_per_step(build(VAE), train, args.steps, args.repeats)
    print(f"| setup | ms/step (median of {args.repeats}) | ratio |")
    print("| --- | --- | --- |")
    print(f"| no checks | {1000 * unchecked:.1f} | 1.00 |")
    print(f"| in-graph checks | {1000 * checked:.1f} | {checked / unchecked:.3f} |")


if __name__ == "__main__":
    main()
