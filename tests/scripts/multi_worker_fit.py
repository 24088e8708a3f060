"""Fits a tiny VAE and GAN under MultiWorkerMirroredStrategy (or on one process).

Usage: python multi_worker_fit.py OUTPUT_DIR TAG
With TF_CONFIG set, every worker runs this; without it, one process does the same
work on the same global batches. Each process writes OUTPUT_DIR/weights-TAG.npz;
only the chief writes OUTPUT_DIR/vae.keras and OUTPUT_DIR/gan.keras.
"""

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_genmodels import GAN, VAE  # noqa: E402
from keras_genmodels.distribute import get_strategy, is_chief  # noqa: E402


def build(kind):
    keras.utils.set_random_seed(0)
    if kind == "vae":
        model = VAE(data_shape=(4,), latent_dim=2, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    else:
        model = GAN(data_shape=(4,), latent_dim=2, ema_decay=0.9, seed=0)
        # SGD with momentum is linear in the gradients: Adam's m / sqrt(v) would
        # blow all-reduce rounding (1e-8) up to lr-sized steps where a gradient
        # is near zero, which is not what this comparison is about.
        model.compile(
            d_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            g_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            loss="wasserstein",
            n_critic=2,
            gradient_penalty_weight=1.0,
        )
    return model


def main(output_dir, tag):
    output_dir = pathlib.Path(output_dir)
    multi_worker = bool(os.environ.get("TF_CONFIG"))
    strategy = get_strategy("multi_worker" if multi_worker else "default")
    x = np.random.default_rng(0).uniform(size=(40, 4)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(8)  # global batches
    arrays = {}
    for kind in ("vae", "gan"):
        with strategy.scope():
            model = build(kind)
        history = model.fit(dataset, epochs=2, verbose=0).history
        for name, values in history.items():
            arrays[f"{kind}_log_{name}"] = np.asarray(values)
        for i, weight in enumerate(model.get_weights()):
            arrays[f"{kind}_weight_{i}"] = weight
        if is_chief(strategy):
            model.save(output_dir / f"{kind}.keras")
    np.savez(output_dir / f"weights-{tag}.npz", **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
