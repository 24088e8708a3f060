"""A `.keras` model saved on one device trains on under two replicas, and back."""

import keras
import numpy as np
import pytest

from keras_genmodels import GAN, VAE

# Grey-level data: binary data puts ReLU pre-activations on the kink (see DESIGN).
X = np.random.default_rng(1).uniform(size=(20, 4)).astype("float32")


def _vae():
    vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(0.01))
    return vae


def _gan():
    gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(0.01),
        g_optimizer=keras.optimizers.Adam(0.01),
        loss="hinge",
    )
    return gan


def _fit(model):
    model.fit(X, batch_size=8, epochs=1, shuffle=False, verbose=0)


def _moved_equals_unmoved(build, strategy, tmp_path, save_on_replicas):
    keras.utils.set_random_seed(0)
    if save_on_replicas:
        with strategy.scope():
            model = build()
    else:
        model = build()
    _fit(model)
    path = tmp_path / "model.keras"
    model.save(path)
    if save_on_replicas:
        moved = keras.saving.load_model(path)
    else:
        with strategy.scope():
            moved = keras.saving.load_model(path)
    assert moved.distribute_strategy.num_replicas_in_sync == (
        1 if save_on_replicas else 2
    )
    assert moved.steps_per_execution == model.steps_per_execution == 8
    before = model.get_weights()
    _fit(model)  # the run that never moved
    _fit(moved)
    trained = zip(before, model.get_weights(), strict=True)
    assert max(np.abs(a - b).max() for a, b in trained) > 1e-3
    differences = [
        np.abs(a - b).max()
        for a, b in zip(model.get_weights(), moved.get_weights(), strict=True)
    ]
    print(f"max |moved - unmoved| = {max(differences):.2e}")
    assert max(differences) <= 1e-5


@pytest.mark.parametrize("build", [_vae, _gan], ids=["vae", "gan"])
@pytest.mark.parametrize("save_on_replicas", [False, True], ids=["1to2", "2to1"])
def test_saved_model_trains_on_after_moving(
    build, save_on_replicas, mirrored_strategy, tmp_path
):
    _moved_equals_unmoved(build, mirrored_strategy, tmp_path, save_on_replicas)
