"""encode/decode/reconstruct/generate check tensors without copying them to numpy."""

import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE
from keras_genmodels.validation import check_array

X = np.random.default_rng(0).uniform(size=(3, 4)).astype("float32")


@pytest.fixture(scope="module")
def vae():
    return VAE(data_shape=(4,), latent_dim=2, seed=0)


@pytest.fixture(scope="module")
def gan():
    return GAN(data_shape=(4,), latent_dim=2, seed=0)


def test_symbolic_tensors_pass_the_checks(vae, gan):
    # Symbolic tensors cannot become numpy: a host copy would fail to trace.
    spec = tf.TensorSpec([None, 4], tf.float32)
    encode = tf.function(lambda x: vae.encode(x), input_signature=[spec])
    reconstruct = tf.function(lambda x: vae.reconstruct(x), input_signature=[spec])
    z_spec = tf.TensorSpec([None, 2], tf.float32)
    decode = tf.function(lambda z: vae.decode(z), input_signature=[z_spec])
    generate = tf.function(lambda z: gan.generate(z), input_signature=[z_spec])
    for got, want in zip(encode(tf.constant(X)), vae.encode(X), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(reconstruct(X), vae.reconstruct(X), atol=1e-6)
    z = X[:, :2]
    np.testing.assert_allclose(decode(z), vae.decode(z), atol=1e-6)
    np.testing.assert_allclose(generate(z), gan.generate(z), atol=1e-6)


def test_tensors_are_checked_in_the_graph_and_stay_tensors():
    checked = check_array(tf.constant(X), (4,), (0.0, 1.0), "x")
    assert isinstance(checked, tf.Tensor) and checked.dtype == tf.float32
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`x`.*\[0, 1\]"):
        check_array(tf.constant(X * 255), (4,), (0.0, 1.0), "x")
    with pytest.raises(tf.errors.InvalidArgumentError, match="`z`.*NaN"):
        check_array(tf.constant([[np.nan, 0.0]]), (2,), None, "z")
    assert isinstance(check_array(X, (4,), None, "x"), np.ndarray)


def test_tensor_shape_and_dtype_errors_are_static(vae):
    with pytest.raises(ValueError, match=r"`x` has shape \(3, 5\)"):
        vae.encode(tf.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"`z` has shape \(None, 3\)"):
        tf.function(lambda z: vae.decode(z)).get_concrete_function(
            tf.TensorSpec([None, 3], tf.float32)
        )
    with pytest.raises(ValueError, match="`x` must be numeric; got dtype string"):
        vae.encode(tf.constant([["a"] * 4]))
    with pytest.raises(ValueError, match="`x` is empty"):
        vae.reconstruct(tf.zeros((0, 4)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 1\]"):
        vae.encode(tf.constant(X * 255))
