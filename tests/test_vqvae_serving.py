import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.vqvae import VQVAE, PixelCNNPrior
from keras_genmodels.vqvae.serving import vqvae_endpoints

X = np.random.default_rng(0).uniform(0.2, 0.8, size=(5, 8, 8, 1)).astype("float32")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    prior = PixelCNNPrior(8, (2, 2), filters=8, num_layers=2, seed=0)
    model = VQVAE(
        data_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4, prior=prior, seed=0
    )
    model.compile(optimizer="adam")
    model.fit(X, epochs=2, batch_size=4, verbose=0)
    model.fit_prior(X, epochs=2, batch_size=4, verbose=0)
    archive = keras.export.ExportArchive()
    for name, (function, signature) in vqvae_endpoints(model).items():
        archive.add_endpoint(name, function, input_signature=signature)
    path = str(tmp_path_factory.mktemp("vqvae") / "1")
    archive.write_out(path, verbose=False)
    return model, tf.saved_model.load(path)


def test_signatures_match_the_python_methods(exported):
    model, loaded = exported
    signatures = loaded.signatures
    assert set(signatures) == {
        "serving_default",
        "reconstruct",
        "encode",
        "decode",
        "sample",
    }
    codes = signatures["encode"](x=tf.constant(X))["codes"]
    assert codes.dtype == tf.int32
    np.testing.assert_array_equal(codes, model.encode(X))
    images = signatures["decode"](codes=codes)["images"]
    np.testing.assert_allclose(images, model.decode(codes.numpy()), atol=1e-5)
    for name in ("serving_default", "reconstruct"):
        out = signatures[name](x=tf.constant(X))["reconstruction"]
        np.testing.assert_allclose(out, model.reconstruct(X), atol=1e-5)


def test_sample_signature_is_stateless_and_equals_sample(exported):
    model, loaded = exported
    sample = loaded.signatures["sample"]

    def call(n, seed):
        return sample(num_samples=tf.constant(n), seed=tf.constant(seed, tf.int64))

    first, again = call(6, 42), call(6, 42)
    np.testing.assert_array_equal(first["codes"], again["codes"])
    np.testing.assert_array_equal(first["codes"], model.prior.sample_codes(6, 42))
    np.testing.assert_allclose(first["images"], model.sample(6, seed=42), atol=1e-5)
    assert first["images"].shape == (6, 8, 8, 1)
    assert not np.array_equal(first["codes"], call(6, 43)["codes"])


def test_bad_codes_and_models_are_refused(exported):
    model, loaded = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must lie in"):
        loaded.signatures["decode"](codes=tf.fill([1, 2, 2], 8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be"):
        loaded.signatures["sample"](
            num_samples=tf.constant(0), seed=tf.constant(0, tf.int64)
        )
    with pytest.raises(TypeError, match="must be a keras_genmodels VQVAE.*Dense"):
        vqvae_endpoints(keras.layers.Dense(2))


def test_the_package_export_finds_the_family(exported, tmp_path):
    import json

    from keras_genmodels.export import METADATA_FILE, export_saved_model
    from keras_genmodels.registry import family_of

    model, _ = exported
    assert family_of(model).name == "vqvae"
    path = export_saved_model(model, tmp_path / "vqvae")
    metadata = json.loads((path / METADATA_FILE).read_text())
    assert metadata["family"] == "vqvae" and metadata["grid_shape"] == [2, 2]
    assert metadata["num_embeddings"] == 8
    decode = tf.saved_model.load(str(path)).signatures["decode"]
    codes = model.encode(X)
    np.testing.assert_allclose(
        decode(codes=codes)["images"], model.decode(codes.numpy()), atol=1e-5
    )
