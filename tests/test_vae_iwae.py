import keras
import numpy as np
import pytest

from keras_genmodels import VAE


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    return VAE(data_shape=(4,), latent_dim=2, seed=0)


X = np.random.default_rng(0).uniform(size=(30, 4)).astype("float32")


def test_verbose_1_prints_a_labelled_progress_bar(vae, capsys):
    estimates = vae.log_likelihood(X, num_samples=20, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "IWAE log p(x), K=20, 30 examples" in out
    assert "30/30" in out and "mean_log_px" in out
    shown = float(out.rsplit("mean_log_px: ", 1)[1].split()[0])
    assert abs(shown - estimates.mean()) < 1e-3 * abs(estimates.mean())


def test_verbose_0_is_silent_and_gives_the_same_numbers(vae, capsys):
    quiet = vae.log_likelihood(X, num_samples=20, batch_size=8, seed=3, verbose=0)
    assert capsys.readouterr().out == ""
    loud = vae.log_likelihood(X, num_samples=20, batch_size=8, seed=3, verbose=1)
    np.testing.assert_array_equal(quiet, loud)


def test_auto_shows_progress_only_for_long_work(vae, capsys):
    vae.log_likelihood(X, num_samples=20)  # 600 importance samples
    assert capsys.readouterr().out == ""
    vae.log_likelihood(X, num_samples=4000)  # 120,000 importance samples
    out = capsys.readouterr().out
    assert "IWAE log p(x), K=4000, 30 examples" in out and "30/30" in out


def test_verbose_2_prints_one_summary_and_bad_verbose_raises(vae, capsys):
    vae.log_likelihood(X, num_samples=20, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert "IWAE log p(x), K=20" in out and out.count("mean_log_px") == 1
    with pytest.raises(ValueError, match="`verbose` must be one of.*got 'yes'"):
        vae.log_likelihood(X, num_samples=2, verbose="yes")
