import keras
import numpy as np
import pytest

from keras_genmodels import VAE, data, networks
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip


def _tiny_vae(**kwargs):
    keras.utils.set_random_seed(0)
    kwargs.setdefault("data_shape", (4,))
    kwargs.setdefault("latent_dim", 2)
    return VAE(seed=0, **kwargs)


@pytest.fixture(scope="module")
def digits():
    return data.load_arrays("digits")


@pytest.fixture(scope="module")
def trained(digits):
    """A default conv VAE trained briefly on scikit-learn's digits."""
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(8, 8, 1), latent_dim=8, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    untrained = vae.evaluate(digits.x_test, verbose=0, return_dict=True)
    vae.fit(digits.x_train, epochs=25, batch_size=64, verbose=0)
    return vae, untrained


def test_analytic_kl_matches_closed_form_and_monte_carlo():
    vae = _tiny_vae()
    rng = np.random.default_rng(0)
    head = vae.encoder.get_layer("posterior_params")  # make q(z|x) far from p(z)
    head.kernel.assign(rng.normal(scale=0.5, size=head.kernel.shape))
    head.bias.assign(rng.normal(size=head.bias.shape))
    x = rng.uniform(size=(6, 4)).astype("float32")
    mean, log_variance = np.split(vae.encoder(x).numpy().astype("float64"), 2, axis=1)
    closed_form = 0.5 * np.sum(
        mean**2 + np.exp(log_variance) - 1.0 - log_variance, axis=1
    )
    assert closed_form.min() > 0.05
    kl = vae.compute_losses(x)["kl_loss"]
    np.testing.assert_allclose(kl, closed_form, rtol=1e-5, atol=1e-6)

    # The sampled estimator, averaged over 1e5 draws per example, agrees within 5 SE.
    sampled = VAE.from_config({**vae.get_config(), "kl_estimator": "sampled"})
    sampled.set_weights(vae.get_weights())
    draws = np.stack(
        [
            sampled.compute_losses(np.repeat(x, 5000, 0))["kl_loss"]
            .numpy()
            .reshape(6, 5000)
            for _ in range(20)
        ],
        axis=1,
    )
    draws = draws.reshape(6, -1)
    standard_error = draws.std(axis=1) / np.sqrt(draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - closed_form) < 5 * standard_error + 1e-4)


def test_training_beats_untrained_model_and_mean_image(trained, digits):
    vae, untrained = trained
    result = vae.evaluate(digits.x_test, verbose=0, return_dict=True)
    assert result["loss"] < 0.75 * untrained["loss"]
    np.testing.assert_allclose(
        result["loss"], result["reconstruction_loss"] + result["kl_loss"], rtol=1e-4
    )
    reconstruction_mse = np.mean((vae.reconstruct(digits.x_test) - digits.x_test) ** 2)
    mean_image_mse = np.mean((digits.x_train.mean(axis=0) - digits.x_test) ** 2)
    assert reconstruction_mse < 0.7 * mean_image_mse


def test_iwae_bound_tightens_with_k_and_bounds_the_elbo(trained, digits):
    vae, _ = trained
    x = digits.x_test[:150]
    negative_elbo = np.mean(
        [vae.compute_losses(x)["loss"].numpy().mean() for _ in range(20)]
    )
    iwae = {
        k: vae.log_likelihood(x, num_samples=k, seed=1).mean() for k in (1, 10, 200)
    }
    assert abs(iwae[1] + negative_elbo) < 0.5  # K = 1 is the ELBO
    assert -negative_elbo < iwae[10] < iwae[200]


def test_methods_return_the_documented_shapes(trained, digits):
    vae, _ = trained
    mean, stddev = vae.encode(digits.x_test[:5])
    assert mean.shape == stddev.shape == (5, 8)
    assert np.all(stddev.numpy() > 0)
    assert vae.decode(mean).shape == (5, 8, 8, 1)
    samples = vae.sample(7, seed=3).numpy()
    assert samples.shape == (7, 8, 8, 1) and 0 <= samples.min() <= samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(7, seed=3).numpy())
    assert not np.array_equal(samples, vae.sample(7, seed=4).numpy())


def test_kl_warmup_rises_linearly_to_beta():
    vae = _tiny_vae(beta=2.0, kl_warmup_steps=4)
    vae.compile(optimizer="sgd")
    weights = []
    for _ in range(6):
        weights.append(float(vae.kl_weight()))
        vae.optimizer.iterations.assign_add(1)
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0])


def test_custom_networks_with_a_pair_of_outputs():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    encoder = keras.Model(
        inputs, [keras.layers.Dense(3)(hidden), keras.layers.Dense(3)(hidden)]
    )
    decoder = networks.build_decoder((4,), latent_dim=3)
    vae = VAE(encoder=encoder, decoder=decoder, likelihood="gaussian", seed=0)
    assert vae.latent_dim == 3 and vae.data_shape == (4,)
    vae.compile(optimizer="adam")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    history = vae.fit(x, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert (
        len(vae.trainable_weights)
        == len(encoder.trainable_weights) + len(decoder.trainable_weights) + 1
    )  # the learned Gaussian scale


def test_config_and_keras_file_round_trip_and_resume(tmp_path):
    vae = _tiny_vae(likelihood="gaussian", beta=0.5, kl_warmup_steps=3)
    assert_config_round_trip(vae)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = np.random.default_rng(0).uniform(size=(32, 4)).astype("float32")
    vae.fit(x, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded = assert_saved_model_round_trip(
        vae, tmp_path, lambda m: [*m.encode(x), m.decode(x[:, :2])]
    )
    assert int(loaded.optimizer.iterations) == 4
    for model in (vae, loaded):  # resuming equals continuing
        model.fit(x, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for before, after in zip(vae.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)


def test_a_config_saved_before_pluggable_priors_still_loads():
    vae = _tiny_vae()
    config = vae.get_config()
    del config["prior"]
    config["kl_estimator"] = "analytic"
    rebuilt = VAE.from_config(config)
    assert type(rebuilt.prior_layer).__name__ == "StandardNormalPrior"
    assert rebuilt.analytic_kl and rebuilt.kl_estimator == "analytic"


def test_data_shape_is_the_argument_and_input_shape_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="`input_shape` is deprecated.*data"):
        old = VAE(input_shape=(4,), latent_dim=2, seed=0)
    assert old.data_shape == (4,) and old.get_config()["data_shape"] == [4]
    assert "input_shape" not in old.get_config()
    with pytest.raises(ValueError, match="data_shape` only.*input_shape"):
        VAE(data_shape=(4,), input_shape=(4,))
    config = old.get_config()
    config["input_shape"] = config.pop("data_shape")  # a file saved before
    loaded = VAE.from_config(config)
    assert loaded.data_shape == (4,) and loaded.latent_dim == 2
    np.testing.assert_array_equal(old.sample(3, seed=1).shape, (3, 4))
    with pytest.raises(ValueError, match="encoder must output 2 \\* latent_dim = 6"):
        VAE(encoder=old.encoder, decoder=networks.build_decoder((4,), latent_dim=3))
