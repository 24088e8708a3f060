"""Normalised default networks: N replicas train exactly as one device."""

import keras
import numpy as np

from keras_genmodels import GAN, networks

# Grey levels, not binary data: see DESIGN.md on ReLU kinks at all-zero patches.
X = np.random.default_rng(1).uniform(size=(24, 8, 8, 1)).astype("float32")


def _build_gan():
    keras.utils.set_random_seed(0)
    gan = GAN(
        generator=networks.build_generator((8, 8, 1), 3),
        discriminator=networks.build_discriminator((8, 8, 1)),
        seed=0,
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.05),
        g_optimizer=keras.optimizers.SGD(0.05),
        loss="least_squares",
    )
    return gan


def _moving_statistics(model):
    return [
        v.numpy() for v in model.generator.non_trainable_variables if "moving" in v.path
    ]


def test_batch_normalised_generator_on_two_replicas_equals_one_device(
    mirrored_strategy,
):
    with mirrored_strategy.scope():
        mirrored = _build_gan()
    single = _build_gan()
    single.set_weights(mirrored.get_weights())
    initial_stats = _moving_statistics(single)
    fit = {"batch_size": 8, "epochs": 1, "shuffle": False, "verbose": 0}
    logs_single = single.fit(X, **fit).history
    logs_mirrored = mirrored.fit(X, **fit).history
    final_stats = _moving_statistics(single)
    pairs = zip(initial_stats, final_stats, strict=True)
    moved = [np.abs(a - b).max() for a, b in pairs]
    assert len(moved) == 6 and min(moved) > 1e-4  # 3 BN layers: means, variances
    for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
    for name, values in logs_single.items():
        np.testing.assert_allclose(
            logs_mirrored[name], values, rtol=1e-4, err_msg=name
        )
