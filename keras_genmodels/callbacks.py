"""Training callbacks: stop on a non-finite loss without touching the last backup."""

from __future__ import annotations

import math

import keras


class NonFiniteLossError(RuntimeError):
    """Raised when a training metric becomes NaN or infinite."""


class TerminateOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops `fit()` with `NonFiniteLossError` as soon as a logged value is NaN/inf.

    Unlike `keras.callbacks.TerminateOnNaN`, it watches every logged metric (a GAN
    logs `d_loss` and `g_loss`, not `loss`) and raises instead of ending training
    normally: `fit()` then skips `on_train_end`, so a `BackupAndRestore` callback
    keeps its last good backup (it deletes its folder at a normal end) and the run
    can resume from it after the cause is fixed.

    Example:

    >>> import numpy as np
    >>> from keras_genmodels import VAE
    >>> vae = VAE(input_shape=(4,), latent_dim=2, likelihood="gaussian")
    >>> vae.compile(optimizer=keras.optimizers.SGD(1e30))
    >>> x = np.full((8, 4), 1e3, "float32")
    >>> try:
    ...     vae.fit(x, epochs=3, callbacks=[TerminateOnNonFiniteLoss()], verbose=0)
    ... except NonFiniteLossError as error:
    ...     print(str(error).split(":")[0])
    Training stopped
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"Training stopped: `{name}` became {value} at epoch "
                    f"{self._epoch + 1}, batch {batch + 1}. Weights after this "
                    "step are not usable; a BackupAndRestore backup from before "
                    "it is kept. Lower the learning rate or check the data, then "
                    "resume."
                )
