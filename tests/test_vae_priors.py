import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp, softmax

from keras_genmodels import VAE, data
from keras_genmodels.vae import MixturePrior, StandardNormalPrior, VampPrior
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip

PRIORS = {
    "standard_normal": StandardNormalPrior,
    "mixture": lambda: MixturePrior(num_components=3),
    "vamp": lambda: VampPrior(num_pseudo_inputs=4),
}


def _tiny_vae(prior, **kwargs):
    keras.utils.set_random_seed(0)
    kwargs.setdefault("input_shape", (4,))
    kwargs.setdefault("latent_dim", 2)
    return VAE(prior=prior, seed=0, **kwargs)


def _far_posterior(vae, rng):
    """Random weights on the posterior head, so that q(z | x) is far from p(z)."""
    head = vae.encoder.get_layer("posterior_params")
    head.kernel.assign(rng.normal(scale=0.5, size=head.kernel.shape))
    head.bias.assign(rng.normal(size=head.bias.shape))


def _np_mixture_log_prob(z, logits, means, scales):
    """log sum_k pi_k N(z; m_k, s_k^2) with numpy; z [N, d], means/scales [K, d]."""
    diff = (z[:, None, :] - means[None]) / scales[None]
    log_normal = -0.5 * np.sum(diff**2 + np.log(2 * np.pi * scales[None] ** 2), -1)
    return logsumexp(np.log(softmax(logits))[None] + log_normal, axis=1)


def _np_prior_params(vae):
    """The prior's (logits, means, scales) recomputed from its weights in numpy."""
    prior = vae.prior_layer
    if isinstance(prior, MixturePrior):
        raw = prior.raw_scales.numpy().astype("float64")
        return prior.logits.numpy(), prior.means.numpy(), 1e-4 + np.log1p(np.exp(raw))
    u = 1 / (1 + np.exp(-prior.pseudo_input_params.numpy().astype("float64")))
    mean, log_variance = np.split(vae.encoder(u).numpy().astype("float64"), 2, 1)
    return np.zeros(len(u)), mean, np.exp(0.5 * log_variance)


def test_default_prior_is_the_standard_normal_bit_for_bit():
    vae = _tiny_vae("standard_normal")
    assert isinstance(vae.prior_layer, StandardNormalPrior) and vae.analytic_kl
    assert vae.kl_estimator == "auto" and not vae.prior_layer.weights
    z = keras.random.normal((7, 2), seed=3)
    np.testing.assert_array_equal(vae.sample(7, seed=3), vae.decode(z))
    twin = keras.random.SeedGenerator(0)  # seed=None: the model's generator
    np.testing.assert_array_equal(
        vae.sample(5), vae.decode(keras.random.normal((5, 2), seed=twin))
    )


@pytest.mark.parametrize("name", ["mixture", "vamp"])
def test_prior_log_prob_matches_numpy_mixture_density(name):
    vae = _tiny_vae(name)
    rng = np.random.default_rng(1)
    if name == "mixture":
        for weight in vae.prior_layer.weights:
            weight.assign(rng.normal(scale=0.7, size=weight.shape))
    else:
        _far_posterior(vae, rng)
        u = vae.prior_layer.pseudo_inputs().numpy()
        assert 0 < u.min() <= u.max() < 1  # Bernoulli data: pseudo-inputs in (0, 1)
    z = rng.normal(scale=2.0, size=(50, 2)).astype("float32")
    expected = _np_mixture_log_prob(z.astype("float64"), *_np_prior_params(vae))
    np.testing.assert_allclose(vae.prior().log_prob(z), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["mixture", "vamp"])
def test_monte_carlo_kl_matches_an_independent_1e5_sample_estimate(name):
    vae = _tiny_vae(name)
    assert not vae.analytic_kl  # TFP has no KL(Gaussian || mixture)
    rng = np.random.default_rng(2)
    _far_posterior(vae, rng)
    x = rng.uniform(size=(3, 4)).astype("float32")
    draws = np.concatenate(
        [
            vae.compute_losses(np.repeat(x, 25_000, 0))["kl_loss"].numpy()
            for _ in range(4)
        ]
    ).reshape(4, 3, 25_000)
    draws = draws.transpose(1, 0, 2).reshape(3, -1)  # [example, 1e5 draws]
    # numpy: z ~ q(z | x) by its own draws, log q - log p by its own densities.
    mean, log_variance = np.split(vae.encoder(x).numpy().astype("float64"), 2, 1)
    std = np.exp(0.5 * log_variance)
    params = _np_prior_params(vae)
    for i in range(3):
        z = mean[i] + std[i] * rng.standard_normal((100_000, 2))
        log_q = _np_mixture_log_prob(z, np.zeros(1), mean[i : i + 1], std[i : i + 1])
        reference = log_q - _np_mixture_log_prob(z, *params)
        error = np.hypot(draws[i].std(), reference.std()) / np.sqrt(100_000)
        assert abs(draws[i].mean() - reference.mean()) < 5 * error
        assert reference.mean() > 20 * error  # a KL well away from zero


def test_monte_carlo_kl_of_a_one_gaussian_mixture_equals_the_closed_form():
    vae = _tiny_vae(MixturePrior(num_components=2))
    prior = vae.prior_layer  # both components N(m, s^2): the mixture is Gaussian
    m, s = np.array([0.5, -1.0]), np.array([0.7, 1.5])
    prior.means.assign(np.stack([m, m]))
    prior.raw_scales.assign(np.log(np.expm1(np.stack([s, s]) - 1e-4)))
    prior.logits.assign([0.3, -0.2])
    _far_posterior(vae, np.random.default_rng(3))
    x = np.random.default_rng(4).uniform(size=(2, 4)).astype("float32")
    mu, log_var = np.split(vae.encoder(x).numpy().astype("float64"), 2, 1)
    var = np.exp(log_var)
    closed_form = 0.5 * np.sum(
        (var + (mu - m) ** 2) / s**2 - 1 - log_var + 2 * np.log(s), axis=1
    )
    draws = vae.compute_losses(np.repeat(x, 50_000, 0))["kl_loss"].numpy()
    draws = draws.reshape(2, 50_000)
    error = draws.std(axis=1) / np.sqrt(50_000)
    assert np.all(np.abs(draws.mean(axis=1) - closed_form) < 5 * error)


def test_kl_estimator_auto_resolves_once_and_analytic_needs_tfp():
    assert _tiny_vae("standard_normal", kl_estimator="sampled").analytic_kl is False
    assert _tiny_vae("mixture", kl_estimator="sampled").analytic_kl is False
    with pytest.raises(ValueError, match=r"`kl_estimator='analytic'`.*MixturePrior"):
        _tiny_vae("mixture", kl_estimator="analytic")
    with pytest.raises(ValueError, match=r"`kl_estimator='analytic'`.*VampPrior"):
        _tiny_vae("vamp", kl_estimator="analytic")
    with pytest.raises(ValueError, match="`kl_estimator`.*'exact'.*auto"):
        _tiny_vae("standard_normal", kl_estimator="exact")


def test_bad_prior_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="`prior` 'gaussian_mixture'.*mixture"):
        _tiny_vae("gaussian_mixture")
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="`num_components`"):
            MixturePrior(num_components=bad)
    with pytest.raises(ValueError, match="`num_pseudo_inputs`.*0"):
        VampPrior(num_pseudo_inputs=0)
    built = MixturePrior(2)
    built.build(latent_dim=3)
    with pytest.raises(ValueError, match="`prior` was built for latent_dim=3 and"):
        _tiny_vae(built)
    vae = _tiny_vae("mixture")
    with pytest.raises(ValueError, match="`seed` must be a shape-\\[2\\]"):
        vae.sample_latents(3, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="`seed` must be a shape-\\[2\\] int32"):
        vae.sample_latents(3, seed=[0.5, 1.0])
    with pytest.raises(ValueError, match="`num_samples`.*0"):
        vae.sample_latents(0, seed=[1, 2])
    with pytest.raises(ValueError, match="`seed` must be an int or None"):
        vae.sample(3, seed="1")


@pytest.mark.parametrize("name", list(PRIORS))
def test_sample_latents_is_stateless_and_draws_from_the_prior(name):
    vae = _tiny_vae(PRIORS[name]())
    draw = tf.function(
        vae.sample_latents,
        input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.int64)],
    )
    state = vae.seed_generator.state.numpy().copy()
    first = draw(tf.constant(6), tf.constant([7, 8], tf.int64)).numpy()
    np.testing.assert_array_equal(draw(6, tf.constant([7, 8], tf.int64)), first)
    np.testing.assert_array_equal(vae.sample_latents(6, [7, 8]), first)
    assert not np.allclose(draw(6, tf.constant([7, 9], tf.int64)), first)
    np.testing.assert_array_equal(vae.seed_generator.state.numpy(), state)
    # Draws follow p(z): the sample mean is within 5 standard errors of E[z].
    z = vae.sample_latents(20_000, [1, 2]).numpy()
    expected = vae.prior().mean().numpy()
    assert np.all(np.abs(z.mean(0) - expected) < 5 * z.std(0) / np.sqrt(len(z)))
    images = vae.sample(3, seed=5)
    np.testing.assert_array_equal(
        images, vae.decode(vae.sample_latents(3, tf.constant([5, 0], tf.int64)))
    )


@pytest.mark.parametrize("name", ["mixture", "vamp"])
def test_prior_weights_train_and_survive_config_and_keras_round_trips(name, tmp_path):
    vae = _tiny_vae(PRIORS[name]())
    prior_weights = vae.prior_layer.trainable_weights
    assert prior_weights and all(
        any(w is v for v in vae.trainable_variables) for w in prior_weights
    )
    before = [w.numpy().copy() for w in prior_weights]
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = np.random.default_rng(0).uniform(size=(32, 4)).astype("float32")
    vae.fit(x, epochs=2, batch_size=8, verbose=0)
    for old, new in zip(before, prior_weights, strict=True):
        assert np.abs(new.numpy() - old).max() > 1e-3
    assert_config_round_trip(vae)
    z = np.random.default_rng(1).normal(size=(5, 2)).astype("float32")
    loaded = assert_saved_model_round_trip(
        vae,
        tmp_path,
        lambda m: [
            m.prior().log_prob(z),
            m.sample_latents(4, [1, 2]),
            m.sample(4, seed=1),
            m.encode(x)[0],
        ],
        atol=1e-6,
    )
    assert type(loaded.prior_layer) is type(vae.prior_layer)
    assert loaded.analytic_kl is False and loaded.kl_estimator == "auto"


@pytest.fixture(scope="module")
def digits():
    return data.load_arrays("digits")


@pytest.mark.parametrize("name", list(PRIORS))
def test_iwae_bound_grows_with_k_for_each_prior(name, digits):
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(32, "relu")]
        + [keras.layers.Dense(8, name="posterior_params")]
    )
    decoder = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(32, "relu"), keras.layers.Dense(64)]
        + [keras.layers.Reshape((8, 8, 1))]
    )
    vae = VAE(encoder=encoder, decoder=decoder, prior=PRIORS[name](), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    vae.fit(digits.x_train, epochs=1, batch_size=64, verbose=0)
    x = digits.x_test[:100]
    # L_K per example, averaged over independent repeats of the estimate; the
    # gains are 7-25 standard errors here (0.1-1 nat), asserted at 5.
    repeats = {1: 64, 10: 32, 100: 8}
    iwae = {
        k: vae.log_likelihood(np.repeat(x, r, 0), num_samples=k, seed=1, verbose=0)
        .reshape(len(x), r)
        .mean(axis=1)
        for k, r in repeats.items()
    }
    for small, large in ((1, 10), (10, 100)):
        gain = iwae[large] - iwae[small]
        assert gain.mean() > 5 * gain.std() / np.sqrt(len(gain)), (small, large)
    negative_elbo = np.mean([vae.compute_losses(x)["loss"].numpy() for _ in range(20)])
    assert abs(iwae[1].mean() + negative_elbo) < 0.5  # K = 1 is the ELBO


@pytest.mark.parametrize("name", ["mixture", "vamp"])
def test_two_replicas_equal_one_device(name, mirrored_strategy):
    x = np.random.default_rng(0).uniform(size=(17, 4)).astype("float32")

    def build():
        vae = _tiny_vae(PRIORS[name]())
        vae.compile(optimizer=keras.optimizers.SGD(0.5))
        return vae

    with mirrored_strategy.scope():
        mirrored = build()
    single = build()
    single.set_weights(mirrored.get_weights())
    prior_before = [w.numpy().copy() for w in single.prior_layer.weights]
    logs_single = single.fit(x, batch_size=8, shuffle=False, verbose=0).history
    logs_mirrored = mirrored.fit(x, batch_size=8, shuffle=False, verbose=0).history
    for old, new in zip(prior_before, single.prior_layer.weights, strict=True):
        assert np.abs(new.numpy() - old).max() > 1e-4
    for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
    for key, values in logs_single.items():
        np.testing.assert_allclose(logs_mirrored[key], values, rtol=1e-5)
