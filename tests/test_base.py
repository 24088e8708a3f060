import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import VAE


def _fit_warnings(x, **kwargs):
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    vae.compile(optimizer="sgd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vae.fit(x, epochs=1, verbose=0, **kwargs)
    return [str(w.message) for w in caught if "shuffle" in str(w.message)]


@pytest.fixture(scope="module")
def pipeline():
    x = np.random.default_rng(0).uniform(size=(16, 4)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(x).batch(8)


def test_fit_on_a_pipeline_does_not_warn_about_keras_shuffle(pipeline):
    assert _fit_warnings(pipeline) == []


def test_explicit_shuffle_still_reaches_keras(pipeline):
    assert len(_fit_warnings(pipeline, shuffle=True)) == 1


def test_compile_runs_several_steps_per_execution_on_one_replica():
    vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    vae.compile(optimizer="sgd")
    assert vae.steps_per_execution == VAE.default_steps_per_execution > 1
    vae.compile(optimizer="sgd", steps_per_execution=1)
    assert vae.steps_per_execution == 1


def test_several_replicas_keep_several_steps_per_execution(mirrored_strategy):
    with mirrored_strategy.scope():
        vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
        vae.compile(optimizer="sgd")
        assert vae.steps_per_execution == VAE.default_steps_per_execution
        vae.compile(optimizer="sgd", steps_per_execution=4)
        assert vae.steps_per_execution == 4
