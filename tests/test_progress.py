"""Progress bars of fit/evaluate never count past their total."""

import re

import keras
import numpy as np
import pytest

from keras_genmodels import VAE

# 20 examples in batches of 8: 3 batches, fewer than the 8 steps per execution.
X = np.random.default_rng(0).uniform(size=(20, 4)).astype("float32")


@pytest.fixture(scope="module")
def vae():
    vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    vae.compile(optimizer="sgd")
    assert vae.steps_per_execution == 8
    return vae


def _counts(text):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colour codes
    counts = [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+) ━", text)]
    assert counts, text
    return counts


def test_fit_progress_stops_at_the_number_of_batches(vae, capsys):
    vae.fit(X, batch_size=8, epochs=2, verbose=1, validation_data=X[:4])
    counts = _counts(capsys.readouterr().out)
    assert all(seen <= total for seen, total in counts), counts
    assert (3, 3) in counts


def test_evaluate_progress_stops_at_the_number_of_batches(vae, capsys):
    vae.evaluate(X, batch_size=8, verbose=1)
    counts = _counts(capsys.readouterr().out)
    assert all(seen <= total for seen, total in counts), counts
    assert counts[-1] == (3, 3)


def test_a_progress_bar_of_ones_own_is_used_as_given(vae, capsys):
    # Keras's own bar, passed in by the caller, replaces the bounded one; it
    # shows the cause: the one execution of 3 batches is reported as 8 steps.
    progbar = keras.callbacks.ProgbarLogger()
    vae.evaluate(X, batch_size=8, verbose=1, callbacks=[progbar])
    assert progbar.seen == 8
    assert (8, 3) in _counts(capsys.readouterr().out)
