"""Tests for the VAE's evaluation hooks: held-out likelihoods and its samples."""

import math

import keras
import numpy as np
import pytest

from keras_genmodels import VAE
from keras_genmodels.data import load_arrays
from keras_genmodels.registry import family_of
from keras_genmodels.vae.report import evaluation_report, vae_report


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    model = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(load_arrays("digits").x_train, epochs=2, batch_size=64, verbose=0)
    return model


def test_vae_report(vae):
    report = vae_report(vae, "digits", iwae_samples=20, batch_size=128, seed=0)
    keys = ("negative_elbo", "reconstruction_loss", "kl_loss", "iwae_nll")
    for key in (*keys, "iwae_nll_stderr", "reconstruction_mse"):
        assert isinstance(report[key], float) and math.isfinite(report[key]), key
    assert report["negative_elbo"] == pytest.approx(
        report["reconstruction_loss"] + report["kl_loss"]
    )
    assert report["iwae_nll"] <= report["negative_elbo"] + 3 * 0.5  # IWAE is tighter
    assert 0 < report["reconstruction_mse"] < 0.2
    protocol = report["protocol"]
    assert protocol["K"] == 20 and protocol["num_examples"] == 299
    assert protocol["split"] == "test" and protocol["seed"] == 0
    same = vae_report(vae, "digits", iwae_samples=20, batch_size=128, seed=0)
    assert same["iwae_nll"] == report["iwae_nll"]  # the IWAE noise is seeded
    with pytest.raises(ValueError, match="shape"):
        vae_report(vae, "mnist5k", iwae_samples=2)


def test_the_family_report_is_vae_report(vae):
    assert family_of(vae).name == "vae"
    report = family_of(vae).report(vae, "digits", iwae_samples=3, seed=1)
    direct = evaluation_report(vae, "digits", iwae_samples=3, seed=1)
    # The ELBO's posterior sample comes from the model's advancing seed
    # generator; the IWAE estimate is seeded by `seed`.
    assert report["likelihood"]["iwae_nll"] == direct["likelihood"]["iwae_nll"]
    assert report["likelihood"]["protocol"] == direct["likelihood"]["protocol"]
    assert report["likelihood"]["protocol"]["K"] == 3


def test_evaluation_samples_decode_seeded_normal_codes(vae):
    images, labels = family_of(vae).samples(vae, 5, seed=4, batch_size=2)
    z = np.random.default_rng(4).standard_normal((5, 2)).astype("float32")
    expected = keras.ops.convert_to_numpy(vae.decode(z))
    assert labels is None
    np.testing.assert_allclose(images, expected, atol=1e-6)
