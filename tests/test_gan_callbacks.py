"""GAN optimizers seen by Keras callbacks: no hidden third optimizer, both act."""

import keras
import numpy as np
import pytest

from keras_genmodels import GAN
from keras_genmodels.gan.optimizers import GANOptimizers

X = np.random.default_rng(0).uniform(size=(32, 4)).astype("float32")


def _gan(d_lr=1e-2, g_lr=2e-2, **compile_kwargs):
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_lr),
        g_optimizer=keras.optimizers.Adam(g_lr),
        steps_per_execution=1,
        **compile_kwargs,
    )
    return gan


def _lr(optimizer):
    return float(np.asarray(optimizer.learning_rate))


def test_model_optimizer_is_the_pair_and_no_other_optimizer_exists():
    gan = _gan()
    assert isinstance(gan.optimizer, GANOptimizers)
    assert gan.optimizer.optimizers == [gan.d_optimizer, gan.g_optimizer]
    assert gan.optimizer.iterations is gan.g_optimizer.iterations
    names = [v.path for v in gan.optimizer.variables]
    assert not any("rmsprop" in name for name in names), names
    with pytest.raises(AttributeError, match="d_optimizer.learning_rate"):
        _ = gan.optimizer.learning_rate
    gan.fit(X, batch_size=8, epochs=1, verbose=0)
    assert int(gan.optimizer.iterations) == 4


def test_learning_rate_scheduler_zero_freezes_both_networks():
    gan = _gan()
    before = gan.get_weights()
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
    history = gan.fit(X, batch_size=8, epochs=2, verbose=0, callbacks=[scheduler])
    assert _lr(gan.d_optimizer) == 0.0 and _lr(gan.g_optimizer) == 0.0
    for a, b in zip(before, gan.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history["learning_rate_d_optimizer"] == [0.0, 0.0]
    assert history.history["learning_rate_g_optimizer"] == [0.0, 0.0]


def test_learning_rate_scheduler_applies_the_schedule_to_each_rate():
    gan = _gan(d_lr=1e-2, g_lr=4e-2)
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    gan.fit(X, batch_size=8, epochs=3, verbose=0, callbacks=[halve])
    np.testing.assert_allclose(_lr(gan.d_optimizer), 1e-2 / 8, rtol=1e-6)
    np.testing.assert_allclose(_lr(gan.g_optimizer), 4e-2 / 8, rtol=1e-6)


def test_reduce_lr_on_plateau_multiplies_both_rates_by_its_factor():
    gan = _gan(d_lr=1e-2, g_lr=4e-2)
    # min_delta so large that no epoch counts as an improvement: reduce each epoch.
    reduce = keras.callbacks.ReduceLROnPlateau(
        monitor="d_loss", factor=0.1, patience=0, min_delta=1e9, mode="min"
    )
    gan.fit(X, batch_size=8, epochs=3, verbose=0, callbacks=[reduce])
    # Epoch 1 sets `best`; epochs 2 and 3 each reduce.
    np.testing.assert_allclose(_lr(gan.d_optimizer), 1e-4, rtol=1e-5)
    np.testing.assert_allclose(_lr(gan.g_optimizer), 4e-4, rtol=1e-5)


def test_schedules_work_in_either_optimizer_on_their_own_update_count(tmp_path):
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
    d_schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 1, 0.5)
    g_schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1e-2, 1e-3])
    gan.compile(
        d_optimizer=keras.optimizers.SGD(d_schedule),
        g_optimizer=keras.optimizers.SGD(g_schedule),
        n_critic=2,
    )
    gan.fit(X, batch_size=8, epochs=1, verbose=0)  # 4 steps: 8 D, 4 G updates
    assert int(gan.d_optimizer.iterations) == 8
    np.testing.assert_allclose(_lr(gan.d_optimizer), 1e-2 * 0.5**8, rtol=1e-5)
    np.testing.assert_allclose(_lr(gan.g_optimizer), 1e-3, rtol=1e-6)
    logs = {}  # TensorBoard's learning-rate logging reads both optimizers:
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    board.set_model(gan)
    board._collect_learning_rate(logs)
    np.testing.assert_allclose(logs["learning_rate_g_optimizer"], 1e-3, rtol=1e-6)
    assert set(logs) == {"learning_rate_d_optimizer", "learning_rate_g_optimizer"}


def test_the_same_optimizer_object_twice_is_refused():
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
    adam = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer objects"):
        gan.compile(d_optimizer=adam, g_optimizer=adam)


def test_tensorboard_and_backup_run_on_a_gan(tmp_path):
    gan = _gan()
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.keras")),
    ]
    gan.fit(X, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.optimizer, GANOptimizers)
    for a, b in zip(gan.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
