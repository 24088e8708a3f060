import os
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE, ConditionalGAN
from keras_genmodels.callbacks import SampleGrid

X = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32")


@pytest.mark.parametrize("kind", ["vae", "gan", "cgan"])
def test_sample_grid_writes_png_and_tensorboard_each_interval(tmp_path, kind):
    if kind == "vae":
        model = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
        model.compile(optimizer="adam")
    else:
        model = (
            GAN(data_shape=(8, 8, 1), latent_dim=2, seed=0)
            if kind == "gan"
            else ConditionalGAN(data_shape=(8, 8, 1), latent_dim=2, num_classes=3)
        )
        model.compile(d_optimizer="adam", g_optimizer="adam")
    callback = SampleGrid(
        tmp_path / "png", num_samples=6, every=2, tensorboard_dir=str(tmp_path / "tb")
    )
    fit_args = (X, np.arange(16) % 3) if kind == "cgan" else (X,)
    model.fit(*fit_args, epochs=4, batch_size=8, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path / "png")) == [
        "samples-epoch002.png",
        "samples-epoch004.png",
    ]
    steps = [
        event.step
        for name in os.listdir(tmp_path / "tb")
        for event in tf.compat.v1.train.summary_iterator(str(tmp_path / "tb" / name))
        for value in event.summary.value
        if value.tag == "samples"
    ]
    assert steps == [2, 4]
    first, again = callback.samples(), callback.samples()
    np.testing.assert_array_equal(first, again)  # the same codes every time
    assert first.shape == (6, 8, 8, 1)


def test_sample_grid_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        SampleGrid("x", every=0)
    with pytest.raises(ValueError, match="`num_samples`"):
        SampleGrid("x", num_samples=-1)
    assert keras.callbacks.Callback in SampleGrid.__mro__


def test_snapshots_hold_the_weights_of_their_epoch_and_the_clock_skips_saving(
    tmp_path,
):
    from keras_genmodels import VAE
    from keras_genmodels.callbacks import Snapshots

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.weights = [np.array(w) for w in self.model.weights]

    vae = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
    vae.compile(optimizer="adam")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    snapshots, record = Snapshots(tmp_path, every=2), Record()
    vae.fit(x, epochs=3, batch_size=8, verbose=0, callbacks=[snapshots, record])
    assert [p.name for p in snapshots.paths] == ["epoch-0002.keras"]
    assert sorted(os.listdir(tmp_path)) == ["epoch-0002.keras"]  # no temporaries
    loaded = keras.saving.load_model(snapshots.paths[0])
    for a, b in zip(loaded.weights, record.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)
    assert len(snapshots.seconds) == 3 and np.all(np.diff(snapshots.seconds) > 0)


@pytest.mark.parametrize("every", [0, 1.5, True])
def test_snapshots_refuse_a_bad_interval(every, tmp_path):
    from keras_genmodels.callbacks import Snapshots

    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        Snapshots(tmp_path, every=every)
    with pytest.raises(ValueError, match="`directory` is needed"):
        Snapshots(None, every=2)


def test_a_time_limit_stops_fit_at_the_end_of_the_epoch_that_reaches_it():
    from keras_genmodels import VAE
    from keras_genmodels.callbacks import Snapshots

    class Sleep(keras.callbacks.Callback):  # every epoch lasts at least 0.5 s
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.5)

    vae = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
    vae.compile(optimizer="adam")
    x = np.ones((8, 4), "float32")
    vae.fit(x, epochs=1, verbose=0)  # traced here, so the epochs below are short
    clock = Snapshots(time_limit=0.75)
    history = vae.fit(x, epochs=10, verbose=0, callbacks=[Sleep(), clock])
    assert len(history.history["loss"]) == len(clock.seconds) == 2
    assert clock.seconds[0] < 0.75 <= clock.seconds[1]
    history = vae.fit(x, epochs=3, verbose=0, callbacks=[Snapshots(time_limit=1e6)])
    assert len(history.history["loss"]) == 3


@pytest.mark.parametrize("limit", [0, -1.0, "60", True])
def test_snapshots_refuse_a_bad_time_limit(limit):
    from keras_genmodels.callbacks import Snapshots

    with pytest.raises(ValueError, match=f"`time_limit` must be .*got {limit!r}"):
        Snapshots(time_limit=limit)
