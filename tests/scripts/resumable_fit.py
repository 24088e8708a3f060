"""Fits a tiny VAE or GAN with BackupAndRestore; killed and restarted by the tests.

Usage: python resumable_fit.py {vae,gan} BACKUP_DIR OUTPUT.npz EPOCHS SECONDS_PER_EPOCH
Writes the final weights and optimizer variables to OUTPUT.npz.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genmodels import GAN, VAE  # noqa: E402


class SlowEpochs(keras.callbacks.Callback):
    """Makes each epoch last long enough for the test to kill it mid-run."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


def main(kind, backup_dir, output, epochs, seconds):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(size=(64, 4)).astype("float32")
    if kind == "vae":
        model = VAE(data_shape=(4,), latent_dim=2, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        optimizers = [model.optimizer]
    else:
        model = GAN(data_shape=(4,), latent_dim=2, ema_decay=0.9, seed=0)
        model.compile(
            d_optimizer=keras.optimizers.Adam(1e-2),
            g_optimizer=keras.optimizers.Adam(1e-3),
            loss="wasserstein",
            n_critic=2,
            gradient_penalty_weight=1.0,
        )
        optimizers = [model.d_optimizer, model.g_optimizer]
    backup = keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True)
    model.fit(
        x,
        batch_size=16,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[backup, SlowEpochs(seconds)],
    )
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    for j, optimizer in enumerate(optimizers):
        for i, v in enumerate(optimizer.variables):
            arrays[f"optimizer{j}_{i}"] = np.asarray(v)
    np.savez(output, **arrays)


if __name__ == "__main__":
    kind, backup_dir, output, epochs, seconds = sys.argv[1:]
    main(kind, backup_dir, output, int(epochs), float(seconds))
