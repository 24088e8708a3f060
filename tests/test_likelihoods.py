import keras
import numpy as np
import pytest
from scipy import special, stats

from keras_genmodels.vae import likelihoods
from tests.test_case import assert_config_round_trip


def test_bernoulli_log_prob_matches_cross_entropy_even_for_large_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=30.0, size=(5, 4, 3)).astype("float32")
    x = rng.uniform(size=(5, 4, 3)).astype("float32")
    expected = np.sum(
        x * special.log_expit(logits) + (1 - x) * special.log_expit(-logits),
        axis=(1, 2),
    )
    dist = likelihoods.BernoulliLikelihood().distribution(logits, event_ndims=2)
    got = dist.log_prob(x).numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(
        likelihoods.BernoulliLikelihood().mean(logits), special.expit(logits), rtol=1e-6
    )


def test_gaussian_log_prob_matches_scipy():
    rng = np.random.default_rng(1)
    loc = rng.normal(size=(6, 10)).astype("float32")
    x = rng.normal(size=(6, 10)).astype("float32")
    dist = likelihoods.GaussianLikelihood(scale=0.3).distribution(loc, event_ndims=1)
    expected = stats.norm(loc, 0.3).logpdf(x).sum(axis=1)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), expected, rtol=1e-5)


def test_learned_scale_starts_at_scale_and_is_trainable():
    likelihood = likelihoods.GaussianLikelihood(scale=0.5, learn_scale=True)
    assert len(likelihood.trainable_weights) == 1
    np.testing.assert_allclose(float(likelihood.current_scale()), 0.5, rtol=1e-6)
    fixed = likelihoods.GaussianLikelihood(scale=0.5)
    assert fixed.trainable_weights == []


def test_config_round_trips():
    assert_config_round_trip(likelihoods.BernoulliLikelihood())
    rebuilt = assert_config_round_trip(
        likelihoods.GaussianLikelihood(scale=0.2, learn_scale=True, min_scale=0.01)
    )
    np.testing.assert_allclose(float(rebuilt.current_scale()), 0.2, rtol=1e-6)
    serialized = keras.saving.serialize_keras_object(likelihoods.GaussianLikelihood())
    assert isinstance(
        likelihoods.get_likelihood(serialized), likelihoods.GaussianLikelihood
    )


def test_get_likelihood_names_and_errors():
    assert isinstance(
        likelihoods.get_likelihood("bernoulli"), likelihoods.BernoulliLikelihood
    )
    gaussian = likelihoods.get_likelihood("gaussian")
    assert gaussian.learn_scale
    with pytest.raises(ValueError, match="'poisson'.*bernoulli, gaussian"):
        likelihoods.get_likelihood("poisson")
    with pytest.raises(ValueError, match="scale"):
        likelihoods.GaussianLikelihood(scale=0.0)
