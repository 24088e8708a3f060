"""Training callbacks: stop on a non-finite loss, sample grids, timed snapshots."""

from __future__ import annotations

import math
import os
import pathlib
import time

import keras
import numpy as np


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
    >>> vae = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
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


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of samples after every `every` epochs: PNG and TensorBoard.

    Works with a model of any registered family: the images are the family's
    seeded evaluation samples (`registry.Family.samples`; a `ConditionalGAN`'s
    cycle through the classes, one column per class). The same `seed` is used
    each time, so the pictures show the same latent codes evolving.

    Args:
        directory: str or path-like. Folder of `samples-epoch<NNN>.png`.
        num_samples: int. Images per grid. Defaults to 64.
        every: int. Epoch interval. Defaults to 1.
        seed: int. Seed of the latent codes. Defaults to 0.
        tensorboard_dir: str or None. Also log the grid as an image summary
            named "samples" there (needs `pip install ".[tensorboard]"`).
            Defaults to None.

    Example:

    >>> import numpy as np
    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    >>> vae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32")
    >>> _ = vae.fit(x, epochs=1, verbose=0,
    ...             callbacks=[SampleGrid("/tmp/kg/grids", num_samples=4)])
    >>> import os; "samples-epoch001.png" in os.listdir("/tmp/kg/grids")
    True
    """

    def __init__(
        self, directory, num_samples=64, every=1, seed=0, tensorboard_dir=None
    ):
        super().__init__()
        for name, value in (("num_samples", num_samples), ("every", every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        self.directory = directory
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        if tensorboard_dir is not None:
            try:
                import tensorboard  # noqa: F401
            except ImportError as error:
                raise ImportError(
                    "SampleGrid(tensorboard_dir=...) needs TensorBoard: "
                    'pip install "keras-genmodels[tensorboard]".'
                ) from error
        self.tensorboard_dir = tensorboard_dir
        self._writer = None

    def samples(self):
        """The current model's samples for this callback's seed, as numpy."""
        from keras_genmodels.registry import family_of

        images, _ = family_of(self.model).samples(
            self.model, self.num_samples, seed=self.seed
        )
        return np.asarray(images)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from keras_genmodels import plots

        images = self.samples()
        path = os.path.join(self.directory, f"samples-epoch{epoch + 1:03d}.png")
        plots.save_image_grid(images, path, title=f"epoch {epoch + 1}")
        if self.tensorboard_dir is not None:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.tensorboard_dir)
            grid = plots.image_grid(images)[None]
            with self._writer.as_default():
                tf.summary.image("samples", grid, step=epoch + 1)
            self._writer.flush()


class Snapshots(keras.callbacks.Callback):
    """Saves the model every `every` epochs and clocks the training time of each.

    `seconds[i]` is the wall time from the start of `fit()` to the end of epoch
    `i + 1`, without the time spent saving snapshots, so quality can be read
    against training time (evaluate each `epoch-NNNN.keras` afterwards, e.g. with
    `keras-genmodels evaluate FILE`). Each file appears in one atomic rename.
    With `every=None` nothing is saved and only the clock runs. With
    `time_limit`, training stops at the first epoch end whose clock reaches it
    (the last epoch is kept whole, so runs of different models can be compared at
    equal training time). Only the chief of a multi-worker run should be given a
    `directory`; a `time_limit` there would stop the workers at different epochs,
    so give it to single-process runs only.

    Args:
        directory: str, path-like or None. Folder of `epoch-NNNN.keras` files.
        every: int or None. Epoch interval of the snapshots. Defaults to None.
        time_limit: float or None. Seconds of training after which `fit()`
            stops at the end of the current epoch. Defaults to None (no limit).

    Example:

    >>> import numpy as np
    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
    >>> vae.compile(optimizer="adam")
    >>> clock = Snapshots("/tmp/kg/snapshots", every=2)
    >>> _ = vae.fit(np.ones((8, 4), "float32"), epochs=4, verbose=0,
    ...             callbacks=[clock])
    >>> sorted(p.name for p in clock.paths), len(clock.seconds)
    (['epoch-0002.keras', 'epoch-0004.keras'], 4)
    """

    def __init__(self, directory=None, every=None, time_limit=None):
        super().__init__()
        if time_limit is not None and (
            isinstance(time_limit, bool)
            or not isinstance(time_limit, (int, float))
            or not time_limit > 0
        ):
            raise ValueError(
                "`time_limit` must be a positive number of seconds or None; "
                f"got {time_limit!r}."
            )
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(
                f"`every` must be a positive integer or None; got {every!r}."
            )
        if every is not None and directory is None:
            raise ValueError("`directory` is needed when `every` is given.")
        self.directory = None if directory is None else pathlib.Path(directory)
        self.every = every
        self.time_limit = time_limit
        self.seconds: list[float] = []
        self.paths: list[pathlib.Path] = []
        self._start = 0.0
        self._saving = 0.0

    def on_train_begin(self, logs=None):
        self._start, self._saving = time.perf_counter(), 0.0
        self.seconds, self.paths = [], []

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.seconds.append(now - self._start - self._saving)
        if self.time_limit is not None and self.seconds[-1] >= self.time_limit:
            self.model.stop_training = True
        if self.every is None or (epoch + 1) % self.every:
            return
        from keras_genmodels.io_utils import atomic_write

        path = self.directory / f"epoch-{epoch + 1:04d}.keras"
        self.paths.append(atomic_write(path, lambda tmp: self.model.save(tmp)))
        self._saving += time.perf_counter() - now
