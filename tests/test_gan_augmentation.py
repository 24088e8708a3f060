"""DiffAugment and ADA inside the GAN's train_step."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN
from keras_genmodels.gan.augment import Augmentation, augment
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip

# Grey-level 8x8 images (see the ReLU-kink trap for binary data).
X = np.random.default_rng(0).uniform(0.2, 0.8, size=(16, 8, 8, 1)).astype("float32")
V = np.random.default_rng(1).uniform(size=(16, 4)).astype("float32")


def _gan(augmentation, lr=0.1, data_shape=(8, 8, 1), **compile_kwargs):
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=data_shape, latent_dim=2, augmentation=augmentation, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(lr),
        g_optimizer=keras.optimizers.SGD(lr),
        steps_per_execution=1,
        **compile_kwargs,
    )
    return gan


def _grads(loss, variables, tape):
    return [g.numpy() for g in tape.gradient(loss, variables)]


def test_both_steps_train_on_augmented_real_and_fake_images():
    """One step's updates equal SGD on l_D(D(T(x)), D(T(G(z)))) and l_G(D(T(G(z'))))."""
    gan = _gan("diffaugment")
    ops = gan.augmentation.operations
    d_vars = gan.discriminator.trainable_variables
    g_vars = gan.generator.trainable_variables
    d_before, g_before = [v.numpy() for v in d_vars], [v.numpy() for v in g_vars]
    state = gan.seed_generator.state.numpy()
    gan.train_on_batch(X[:8])
    d_after, g_after = [v.numpy() for v in d_vars], [v.numpy() for v in g_vars]

    # Replay the step's draws (z, u_real, u_fake, then z', u_fake') eagerly.
    gan.seed_generator.state.assign(state)
    z = gan.noise(8)
    u_real, u_fake = (gan.draw_noise([8, gan.augmentation.width], "uniform")
                      for _ in range(2))  # fmt: skip
    z_g = gan.noise(8)
    u_g = gan.draw_noise([8, gan.augmentation.width], "uniform")
    assert not np.allclose(u_real, u_fake)
    g_final, d_final = [v.numpy() for v in g_vars], [v.numpy() for v in d_vars]
    for v, w in zip(d_vars, d_before, strict=True):
        v.assign(w)
    for v, w in zip(g_vars, g_before, strict=True):
        v.assign(w)
    with tf.GradientTape() as tape:
        real = augment(tf.constant(X[:8]), u_real, ops)
        fake = augment(gan.generator(z, training=True), u_fake, ops)
        _, d_loss = gan.loss_fn(gan.discriminator(real), gan.discriminator(fake))
        d_loss = tf.reduce_mean(d_loss)
    expected_d = [w - 0.1 * g for w, g in zip(d_before, _grads(d_loss, d_vars, tape),
                                              strict=True)]  # fmt: skip
    for v, w in zip(d_vars, d_final, strict=True):
        v.assign(w)  # the G step sees the updated discriminator
    with tf.GradientTape() as tape:
        fake = augment(gan.generator(z_g, training=True), u_g, ops)  # through T
        logits = gan.discriminator(fake)
        g_loss = tf.reduce_mean(gan.loss_fn(tf.zeros_like(logits), logits)[0])
    expected_g = [w - 0.1 * g for w, g in zip(g_before, _grads(g_loss, g_vars, tape),
                                              strict=True)]  # fmt: skip
    for got, want in zip(d_after + g_after, expected_d + expected_g, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(g_final[0], g_before[0])
    # Without augmentation the same step gives other updates.
    plain = _gan(None)
    plain.train_on_batch(X[:8])
    assert not np.allclose(plain.discriminator.get_weights()[0], d_after[0], atol=1e-5)


def _set_real_confidence(gan, bias):
    gan.discriminator.trainable_weights[-1].assign([bias])  # D's output bias


def test_ada_probability_rises_when_d_is_overconfident_and_falls_otherwise():
    ada = Augmentation("brightness,contrast", adaptive=True, speed=80)
    gan = _gan(ada, lr=0.0, data_shape=(4,), n_critic=2)  # lr 0: D stays as set
    assert float(gan.augment_probability) == 0.0
    _set_real_confidence(gan, 10.0)  # sign(D(T(x_real))) = +1 > target 0.6
    history = gan.fit(V, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    # 2 batches x 2 critic steps per epoch, each + 8 / 80.
    np.testing.assert_allclose(history["augment_p"], [0.4, 0.8], atol=1e-6)
    _set_real_confidence(gan, -10.0)  # r_t = -1 < 0.6: p falls, clipped at 0
    history = gan.fit(V, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["augment_p"], [0.4, 0.0, 0.0], atol=1e-6)
    assert float(gan.augment_probability) == 0.0  # clipped
    # DiffAugment's fixed p is not tuned nor logged.
    fixed = _gan(Augmentation("brightness"), data_shape=(4,))
    assert "augment_p" not in fixed.fit(V, batch_size=8, verbose=0).history


def test_two_replicas_equal_one_device_with_ada(mirrored_strategy):
    def build():
        ada = Augmentation(adaptive=True, speed=40, target=0.0)
        return _gan(ada, lr=0.05, r1_weight=0.1)

    with mirrored_strategy.scope():
        mirrored = build()
    single = build()
    single.set_weights(mirrored.get_weights())
    fit = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0}
    logs_single = single.fit(X, **fit).history
    logs_mirrored = mirrored.fit(X, **fit).history
    assert max(logs_single["augment_p"]) > 0  # augmentation was on
    for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
    for name, values in logs_single.items():
        np.testing.assert_allclose(logs_mirrored[name], values, rtol=1e-5, atol=1e-7)
    copies = mirrored_strategy.experimental_local_results(
        mirrored.augment_probability.value
    )
    assert len(copies) == 2  # one p per replica, all equal to one device's
    for copy in copies:
        np.testing.assert_allclose(copy.numpy(), single.augment_probability.numpy())


def test_config_and_keras_file_round_trip(tmp_path):
    gan = _gan(Augmentation("translation,cutout", adaptive=True, speed=100))
    assert_config_round_trip(gan)
    assert json.loads(json.dumps(gan.get_config()))["augmentation"]["config"][
        "operations"
    ] == "translation,cutout"
    _set_real_confidence(gan, 10.0)
    gan.fit(X, batch_size=8, epochs=1, verbose=0)
    p = float(gan.augment_probability)
    assert p > 0
    loaded = assert_saved_model_round_trip(
        gan, tmp_path, lambda m: [m.sample(3, seed=0), m.discriminate(X[:2])]
    )
    assert float(loaded.augment_probability) == p
    assert loaded.augmentation.get_config() == gan.augmentation.get_config()
    assert GAN(data_shape=(4,), latent_dim=2).get_config()["augmentation"] is None
    assert GAN(data_shape=(8, 8, 1), augmentation="ada").augmentation.adaptive


def test_bad_augmentation_arguments():
    with pytest.raises(ValueError, match="augmentation.*'diffaugment', 'ada'"):
        GAN(data_shape=(4,), augmentation="mixup")
    with pytest.raises(ValueError, match="translation.*need images.*rank 2"):
        GAN(data_shape=(4,), augmentation="diffaugment")
