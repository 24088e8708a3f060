import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE, ConditionalGAN
from keras_genmodels.distribute import (
    get_strategy,
    global_batch_size,
    is_chief,
    is_multi_worker,
)

# 17 examples in global batches of 8: the last batch (1) leaves one replica empty.
X = np.random.default_rng(0).uniform(size=(17, 4)).astype("float32")
Y = np.arange(17) % 3


def _assert_two_replicas_equal_one_device(build, strategy, fit_args):
    with strategy.scope():
        mirrored = build()
    single = build()
    single.set_weights(mirrored.get_weights())
    initial = single.get_weights()
    logs_single = single.fit(*fit_args, batch_size=8, shuffle=False, verbose=0)
    logs_mirrored = mirrored.fit(*fit_args, batch_size=8, shuffle=False, verbose=0)
    assert (
        max(
            np.abs(a - b).max()
            for a, b in zip(initial, single.get_weights(), strict=True)
        )
        > 1e-3
    )
    differences = [
        np.abs(b - a).max()
        for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True)
    ]
    print(f"max |2 replicas - 1 device| = {max(differences):.2e}")
    assert max(differences) <= 1e-5
    for name, values in logs_single.history.items():
        np.testing.assert_allclose(
            logs_mirrored.history[name], values, rtol=1e-5, err_msg=name
        )


@pytest.mark.parametrize("kl_estimator", ["analytic", "sampled"])
def test_vae_step_on_two_replicas_equals_one_device(mirrored_strategy, kl_estimator):
    def build():
        keras.utils.set_random_seed(0)
        vae = VAE(
            data_shape=(4,),
            latent_dim=2,
            kl_estimator=kl_estimator,
            kl_warmup_steps=2,
            seed=0,
        )
        vae.compile(optimizer=keras.optimizers.SGD(0.5))
        return vae

    _assert_two_replicas_equal_one_device(build, mirrored_strategy, (X,))


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "wasserstein", "n_critic": 2, "gradient_penalty_weight": 1.0},
        {"loss": "non_saturating", "r1_weight": 1.0},
        {"loss": "minimax"},
        {"loss": "least_squares", "n_critic": 3},
        {"loss": "hinge"},
    ],
)
def test_gan_step_on_two_replicas_equals_one_device(mirrored_strategy, options):
    def build():
        keras.utils.set_random_seed(0)
        gan = GAN(data_shape=(4,), latent_dim=2, ema_decay=0.5, seed=0)
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.05),
            g_optimizer=keras.optimizers.SGD(0.05),
            **options,
        )
        return gan

    _assert_two_replicas_equal_one_device(build, mirrored_strategy, (X,))


def test_conditional_gan_on_two_replicas_equals_one_device(mirrored_strategy):
    def build():
        keras.utils.set_random_seed(0)
        gan = ConditionalGAN(data_shape=(4,), latent_dim=2, num_classes=3, seed=0)
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.05),
            g_optimizer=keras.optimizers.SGD(0.05),
        )
        return gan

    _assert_two_replicas_equal_one_device(build, mirrored_strategy, (X, Y))


@pytest.mark.parametrize("family", ["vae", "gan"])
def test_several_steps_per_execution_on_two_replicas_equal_one_step_on_one_device(
    mirrored_strategy, family
):
    # 17 examples, batches of 8, 3 steps per execution: the one execution per
    # epoch ends early, on a final batch that leaves one replica empty.
    def build(steps):
        keras.utils.set_random_seed(0)
        if family == "vae":
            model = VAE(data_shape=(4,), latent_dim=2, seed=0)
            model.compile(
                optimizer=keras.optimizers.SGD(0.5), steps_per_execution=steps
            )
        else:
            model = GAN(data_shape=(4,), latent_dim=2, ema_decay=0.5, seed=0)
            model.compile(
                d_optimizer=keras.optimizers.SGD(0.05),
                g_optimizer=keras.optimizers.SGD(0.05),
                steps_per_execution=steps,
            )
        return model

    with mirrored_strategy.scope():
        mirrored = build(3)
    single = build(1)
    single.set_weights(mirrored.get_weights())
    fit = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0}
    history_single = single.fit(X, **fit).history
    history_mirrored = mirrored.fit(X, **fit).history
    for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
    for name, values in history_single.items():
        np.testing.assert_allclose(history_mirrored[name], values, rtol=1e-5)
    evaluate = {"batch_size": 8, "verbose": 0, "return_dict": True}
    logs_single = single.evaluate(X, **evaluate)
    logs_mirrored = mirrored.evaluate(X, **evaluate)
    for name, value in logs_single.items():
        np.testing.assert_allclose(logs_mirrored[name], value, rtol=1e-5)


def test_replicas_draw_distinct_noise_that_concatenates_to_one_device(
    mirrored_strategy,
):
    with mirrored_strategy.scope():
        mirrored = GAN(data_shape=(4,), latent_dim=3, seed=7)
    single = GAN(data_shape=(4,), latent_dim=3, seed=7)

    per_replica = mirrored_strategy.run(tf.function(lambda: mirrored.noise(4)))
    first, second = (
        t.numpy() for t in mirrored_strategy.experimental_local_results(per_replica)
    )
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(
        np.concatenate([first, second]), single.noise(8).numpy()
    )


def test_get_strategy_by_name_and_errors(monkeypatch):
    assert get_strategy("default") is tf.distribute.get_strategy()
    assert get_strategy("auto").num_replicas_in_sync == 1  # no GPUs here
    one = get_strategy("one_device", devices=["/cpu:1"])
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert global_batch_size(32, one) == 32
    assert is_chief(one) and not is_multi_worker(one)
    with pytest.raises(ValueError, match="Unknown `strategy` 'tpu'.*mirrored"):
        get_strategy("tpu")
    with pytest.raises(ValueError, match="`devices` applies to"):
        get_strategy("default", devices=["/cpu:0"])
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        get_strategy("multi_worker")


def test_mirrored_strategy_over_logical_devices(mirrored_strategy):
    assert mirrored_strategy.num_replicas_in_sync == 2
    assert global_batch_size(32, mirrored_strategy) == 64
    assert is_chief(mirrored_strategy)


def test_a_fixed_seed_reproduces_a_two_replica_run(mirrored_strategy):
    def run():
        with mirrored_strategy.scope():
            keras.utils.set_random_seed(0)
            gan = GAN(data_shape=(4,), latent_dim=2, seed=3)
            gan.compile(d_optimizer="adam", g_optimizer="adam", loss="hinge")
        gan.fit(X, batch_size=8, epochs=2, verbose=0)
        return gan.get_weights()

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)
