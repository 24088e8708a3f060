import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, data
from keras_genmodels.gan import losses
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip


def _vector_gan(**kwargs):
    keras.utils.set_random_seed(0)
    kwargs.setdefault("data_shape", (4,))
    kwargs.setdefault("latent_dim", 2)
    return GAN(seed=0, **kwargs)


def _compile(gan, lr=0.05, **kwargs):
    gan.compile(
        d_optimizer=keras.optimizers.SGD(lr),
        g_optimizer=keras.optimizers.SGD(lr),
        **kwargs,
    )
    return gan


def _data(n=16):
    return np.random.default_rng(0).uniform(size=(n, 4)).astype("float32")


def test_n_critic_discriminator_updates_per_generator_update():
    gan = _compile(_vector_gan(), n_critic=3)
    gan.fit(_data(), batch_size=4, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 12


def test_ema_weights_follow_the_closed_form_warmed_up_average():
    gan = _compile(_vector_gan(ema_decay=0.8))
    expected = gan.generator.get_weights()
    for t in range(12):  # d_t = min(0.8, (1 + t) / (10 + t)): 0.1, 0.18, ..., 0.8
        gan.train_on_batch(_data(8))
        d = min(0.8, (1 + t) / (10 + t))
        expected = [
            d * e + (1 - d) * w
            for e, w in zip(expected, gan.generator.get_weights(), strict=True)
        ]
    for got, want in zip(gan.ema_generator.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    z = np.random.default_rng(1).normal(size=(3, 2)).astype("float32")
    np.testing.assert_allclose(gan.generate(z), gan.ema_generator(z), atol=1e-7)
    assert not np.allclose(gan.generate(z), gan.generator(z))


@pytest.mark.parametrize("loss", sorted(losses.LOSSES))
def test_metrics_are_the_per_example_losses_of_the_step(loss):
    penalty = {"gradient_penalty_weight": 10.0} if loss == "wasserstein" else {}
    gan = _compile(_vector_gan(), loss=loss, **penalty)
    x = _data(8)
    logs = gan.evaluate(x, batch_size=8, verbose=0, return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", *(["gradient_penalty"] if penalty else [])}
    # Recompute with the same noise: reset the seed generator to the same state.
    state = gan.seed_generator.state.numpy()
    logs = gan.evaluate(x, batch_size=8, verbose=0, return_dict=True)
    gan.seed_generator.state.assign(state)
    per_example = gan.compute_losses(tf.constant(x))
    for name, value in logs.items():
        np.testing.assert_allclose(value, per_example[name].numpy().mean(), rtol=1e-5)


def test_short_mnist5k_run_teaches_the_discriminator():
    arrays = data.load_arrays("mnist5k")
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(28, 28, 1), latent_dim=32, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )

    def balanced_accuracy():
        real = gan.discriminate(arrays.x_test).numpy() > 0
        fake = gan.discriminate(gan.generate(500, seed=1)).numpy() < 0
        return 0.5 * (real.mean() + fake.mean())

    before = balanced_accuracy()
    x = arrays.x_train[:1280]  # 20 steps
    history = gan.fit(x, batch_size=64, epochs=1, verbose=0).history
    assert all(np.isfinite(v[0]) for v in history.values())
    after = balanced_accuracy()
    # D's balanced accuracy on test digits vs samples: 0.18 untrained, 0.74 after
    # these 20 steps, 0.54 after a whole epoch (70 steps) as G catches up.
    assert after > 0.5 and after > before + 0.15, (before, after)


def test_config_and_keras_file_round_trip_with_both_optimizers(tmp_path):
    gan = _vector_gan(ema_decay=0.9, spectral_normalization=True)
    assert_config_round_trip(gan)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(2e-3),
        loss="hinge",
        n_critic=2,
        r1_weight=0.5,
    )
    x = _data()
    gan.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    z = np.random.default_rng(1).normal(size=(5, 2)).astype("float32")
    loaded = assert_saved_model_round_trip(
        gan, tmp_path, lambda m: [m.generate(z), m.generator(z), m.discriminate(x)]
    )
    assert loaded.get_compile_config() == gan.get_compile_config()
    assert loaded.n_critic == 2 and loaded.penalty_weights["r1_penalty"] == 0.5
    for name in ("d_optimizer", "g_optimizer"):
        for a, b in zip(
            getattr(gan, name).variables, getattr(loaded, name).variables, strict=True
        ):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(loaded.d_optimizer.iterations) == 4
    for model in (gan, loaded):  # resuming equals continuing
        model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(gan.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("compile_kwargs", "message"),
    [
        ({"loss": "softmax"}, "Unknown `loss` 'softmax'.*non_saturating"),
        ({"loss": "wasserstein", "r1_weight": 1.0}, "r1_penalty.*wasserstein"),
        ({"n_critic": 0}, "n_critic.*got 0"),
        ({"gradient_penalty_weight": -1.0}, "gradient_penalty_weight.*-1"),
        ({"optimizer": "adam"}, "does not take `optimizer`"),
    ],
)
def test_bad_compile_arguments(compile_kwargs, message):
    with pytest.raises(ValueError, match=message):
        _vector_gan().compile(**compile_kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ema_decay": 1.5}, "ema_decay.*1.5"),
        ({"data_shape": None}, "data_shape` is required"),
        ({"latent_dim": 0}, "latent_dim.*got 0"),
        ({"generator": keras.Sequential()}, "both `generator` and `discriminator`"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _vector_gan(**kwargs)


def test_bad_data_and_latents():
    gan = _compile(_vector_gan())
    with pytest.raises(ValueError, match=r"`x` has shape \(3, 5\)"):
        gan.fit(np.zeros((3, 5), "float32"), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        gan.fit(np.full((3, 4), np.nan, "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"`z` has shape \(3, 7\)"):
        gan.generate(np.zeros((3, 7), "float32"))
    with pytest.raises(ValueError, match="num_samples.*got 0"):
        gan.generate(0)


def test_sample_equals_generate_and_checks_its_argument():
    gan = _vector_gan(ema_decay=0.9)
    np.testing.assert_array_equal(gan.sample(5, seed=3), gan.generate(5, seed=3))
    assert not np.allclose(gan.sample(5, seed=3), gan.sample(5, seed=4))
    with pytest.raises(ValueError, match="num_samples.*got 2.5"):
        gan.sample(2.5)


def test_data_shape_is_the_argument_and_image_shape_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="`image_shape` is deprecated.*data"):
        old = GAN(image_shape=(4,), latent_dim=2, seed=0)
    assert old.data_shape == (4,) and old.get_config()["data_shape"] == [4]
    assert "image_shape" not in old.get_config()
    with pytest.raises(ValueError, match="data_shape` only.*image_shape"):
        GAN(data_shape=(4,), image_shape=(4,), latent_dim=2)
    # A config saved under the old key (and without nets' shapes) still loads.
    config = {**_vector_gan().get_config(), "image_shape": [4]}
    del config["data_shape"]
    loaded = GAN.from_config(config)
    assert loaded.data_shape == (4,) and loaded.latent_dim == 2
    with pytest.raises(ValueError, match=r"output \(4,\) does not match `data_sh"):
        GAN(generator=old.generator, discriminator=old.discriminator, data_shape=(5,))
