import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import VAE


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    model = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    model.compile(optimizer="adam")
    return model


def _images(n=4, value=0.5):
    return np.full((n, 8, 8, 1), value, "float32")


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((4, 8, 8), "float32"), r"shape \(4, 8, 8\).*\(batch, 8, 8, 1\)"),
        (np.zeros((4, 28, 28, 1), "float32"), r"shape \(4, 28, 28, 1\)"),
        (_images(0), "empty"),
        (_images(value=np.nan), "2 NaN|NaN or infinite"),
        (_images(value=np.inf), "NaN or infinite"),
        (_images(value=255.0), r"\[255, 255\].*\[0, 1\].*divide by 255"),
        (_images(value=-0.1), r"\[-0.1, -0.1\].*\[0, 1\].*\(x \+ 1\) / 2"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_bad_arrays_get_clear_errors_everywhere(vae, x, message):
    for call in (
        lambda: vae.fit(x, epochs=1, verbose=0),
        lambda: vae.evaluate(x, verbose=0),
        lambda: vae.encode(x),
        lambda: vae.reconstruct(x),
        lambda: vae.log_likelihood(x, num_samples=2),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_validation_data_is_named(vae):
    with pytest.raises(ValueError, match="validation_data.*empty"):
        vae.fit(_images(), validation_data=(_images(0),), verbose=0)


def test_datasets_checked_up_front_and_in_graph(vae):
    wrong_shape = tf.data.Dataset.from_tensor_slices(np.zeros((4, 8, 8), "float32"))
    with pytest.raises(ValueError, match=r"`x` has shape \(None, 8, 8\)"):
        vae.fit(wrong_shape.batch(2), verbose=0)
    empty = tf.data.Dataset.from_tensor_slices(_images()).take(0).batch(2)
    with pytest.raises(ValueError, match="empty"):
        vae.fit(empty, verbose=0)
    out_of_range = tf.data.Dataset.from_tensor_slices(_images(value=3.0)).batch(2)
    with pytest.raises(ValueError, match=r"`x \(first batch\)`.*\[3, 3\]"):
        vae.fit(out_of_range, verbose=0)
    # The first batch is fine, the second is not: caught in the graph.
    later = np.concatenate([_images(2), _images(2, value=3.0)])
    later = tf.data.Dataset.from_tensor_slices(later).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"outside \[0, 1\]"):
        vae.fit(later, verbose=0)
    labelled_nan = tf.data.Dataset.from_tensor_slices(
        (_images(value=np.nan), np.zeros(4))
    ).batch(2)
    with pytest.raises(ValueError, match="first batch.*NaN or infinite"):
        vae.evaluate(labelled_nan, verbose=0)
    later_nan = np.concatenate([_images(2), _images(2, value=np.nan)])
    later_nan = tf.data.Dataset.from_tensor_slices((later_nan, np.zeros(4))).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        vae.evaluate(later_nan, verbose=0)


def test_gaussian_likelihood_accepts_any_finite_range():
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2, likelihood="gaussian", seed=0)
    vae.compile(optimizer="adam")
    history = vae.fit(_images(value=255.0), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (8, 8, 1), "latent_dim": 0}, "latent_dim.*got 0"),
        ({"input_shape": (8, 8, 1), "likelihood": "poisson"}, "'poisson'.*bernoulli"),
        ({"input_shape": (8, 8, 1), "kl_estimator": "exact"}, "kl_estimator.*analytic"),
        ({"input_shape": (8, 8, 1), "beta": -1.0}, "beta.*got -1"),
        ({"input_shape": (8, 8, 1), "kl_warmup_steps": -5}, "kl_warmup_steps"),
        ({}, "data_shape` is required"),
        ({"encoder": keras.Sequential()}, "both `encoder` and `decoder`"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VAE(**kwargs)


def test_bad_method_arguments(vae):
    with pytest.raises(ValueError, match="num_samples.*got 0"):
        vae.sample(0)
    with pytest.raises(ValueError, match="num_samples.*got -3"):
        vae.log_likelihood(_images(), num_samples=-3)
    with pytest.raises(ValueError, match=r"`z` has shape \(3, 5\)"):
        vae.decode(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match="does not take `loss`"):
        vae.compile(optimizer="adam", loss="mse")
