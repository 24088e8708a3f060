import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.vqvae import VQVAE, PixelCNNPrior
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip

# Grey-level 8x8 images (see the ReLU-kink trap for binary data); 2x2 code grids.
X = np.random.default_rng(0).uniform(0.2, 0.8, size=(17, 8, 8, 1)).astype("float32")


def _small_prior(num_embeddings=16, seed=0):
    return PixelCNNPrior(num_embeddings, (2, 2), filters=8, num_layers=2, seed=seed)


def _vqvae(**kwargs):
    kwargs = {"num_embeddings": 16, "embedding_dim": 4, "seed": 0, **kwargs}
    return VQVAE(
        data_shape=(8, 8, 1), prior=_small_prior(kwargs["num_embeddings"]), **kwargs
    )


@pytest.mark.parametrize("codebook_update", ["ema", "loss"])
def test_fit_with_arrays_and_datasets(codebook_update):
    keras.utils.set_random_seed(0)
    model = _vqvae(codebook_update=codebook_update)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    codebook = model.quantizer.codebook.numpy()
    first = model.evaluate(X, verbose=0, return_dict=True)
    history = model.fit(X, epochs=4, batch_size=8, verbose=0)
    assert sorted(history.history) == [
        "commitment_loss",
        "loss",
        "perplexity",
        "reconstruction_loss",
        "usage",
    ]
    dataset = tf.data.Dataset.from_tensor_slices((X, np.arange(17))).batch(8)
    history = model.fit(dataset, epochs=4, verbose=0)
    last = model.evaluate(dataset, verbose=0, return_dict=True)
    assert last["reconstruction_loss"] < 0.5 * first["reconstruction_loss"]
    assert 1.0 <= last["perplexity"] <= 16 and 0 < last["usage"] <= 1
    assert np.abs(model.quantizer.codebook.numpy() - codebook).max() > 1e-3
    in_optimizer = any(
        v is model.quantizer.codebook for v in model.autoencoder_variables
    )
    assert in_optimizer == (codebook_update == "loss")
    np.testing.assert_allclose(
        model.reconstruct(X), model.decode(model.encode(X).numpy()), atol=1e-6
    )
    mse = ((model.reconstruct(X).numpy() - X) ** 2).mean()
    assert mse == pytest.approx(last["reconstruction_loss"], rel=1e-4)


@pytest.mark.parametrize("codebook_update", ["ema", "loss"])
def test_two_replicas_equal_one_device(mirrored_strategy, codebook_update):
    def build():
        keras.utils.set_random_seed(0)
        model = _vqvae(codebook_update=codebook_update, restart_after=1, decay=0.8)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    with mirrored_strategy.scope():
        mirrored = build()
    single = build()
    single.set_weights(mirrored.get_weights())
    initial = single.get_weights()
    logs_single = single.fit(X, batch_size=8, epochs=2, shuffle=False, verbose=0)
    logs_mirrored = mirrored.fit(X, batch_size=8, epochs=2, shuffle=False, verbose=0)
    after = single.get_weights()
    changed = max(np.abs(a - b).max() for a, b in zip(initial, after, strict=True))
    assert changed > 1e-3
    # The last batch (one example, four vectors) leaves >= 12 codes unused:
    # all restarted, so no counter is left above 0.
    assert single.quantizer.steps_unused.numpy().max() == 0
    differences = [
        np.abs(b - a).max()
        for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True)
    ]
    assert max(differences) <= 1e-5
    for name, values in logs_single.history.items():
        np.testing.assert_allclose(
            logs_mirrored.history[name], values, rtol=1e-5, err_msg=name
        )


def test_sample_goes_through_the_prior():
    model = _vqvae()
    model.fit_prior(X, epochs=1, batch_size=8, verbose=0, validation_data=X[:4])
    a, b = model.sample(3, seed=5), model.sample(3, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        a, model.decode(model.prior.sample_codes(3, seed=5)), atol=1e-6
    )
    assert a.shape == (3, 8, 8, 1)
    bits = model.prior_bits_per_code(X)
    assert 0 < bits < 2 * np.log2(16)
    assert bits == pytest.approx(model.prior.bits_per_code(model.encode(X).numpy()))


def test_config_and_keras_round_trips_keep_training_state(tmp_path):
    keras.utils.set_random_seed(0)
    model = _vqvae(restart_after=2)
    assert_config_round_trip(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=1)
    model.fit(X, epochs=2, batch_size=8, verbose=0)
    loaded = assert_saved_model_round_trip(
        model, tmp_path, lambda m: [m.reconstruct(X), m.encode(X), m.sample(2, 1)]
    )
    for a, b in zip(model.quantizer.weights, loaded.quantizer.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(
        model.quantizer.seed_generator.state.numpy(),
        loaded.quantizer.seed_generator.state.numpy(),
    )
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 6
    model.fit(X, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(X, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_inputs_name_the_argument():
    model = _vqvae()
    codes = model.encode(X[:2]).numpy()
    with pytest.raises(ValueError, match="`codes` must hold integer.*float32"):
        model.decode(codes.astype("float32"))
    with pytest.raises(ValueError, match=r"`codes` has values in \[-1, .*\[0, 16\)"):
        model.decode(codes - codes.max() - 1)
    with pytest.raises(ValueError, match=r"`codes` has values in .*16\].*\[0, 16\)"):
        model.decode(np.full((2, 2, 2), 16))
    with pytest.raises(
        ValueError, match=r"`codes` has shape \(2, 3, 2\).*\(batch, 2, 2"
    ):
        model.decode(np.zeros((2, 3, 2), "int32"))
    with pytest.raises(ValueError, match=r"`x` has shape \(2, 8, 8\)"):
        model.encode(X[:2, :, :, 0])
    with pytest.raises(ValueError, match="`num_samples`.*-1"):
        model.sample(-1)
    with pytest.raises(ValueError, match="`input_shape`.*multiples of 4.*10"):
        VQVAE(data_shape=(10, 10, 1))
    with pytest.raises(ValueError, match="`prior` models 16 codes.*8 codes"):
        VQVAE(data_shape=(8, 8, 1), num_embeddings=8, prior=_small_prior(16))
    with pytest.raises(ValueError, match="`codebook_update`.*'kmeans'"):
        _vqvae(codebook_update="kmeans")
    model.compile()
    with pytest.raises(ValueError, match="does not take `loss`"):
        model.compile(loss="mse")


def test_data_shape_is_the_argument_and_input_shape_a_deprecated_alias():
    prior = _small_prior(8)
    with pytest.warns(DeprecationWarning, match="`input_shape` is deprecated"):
        old = VQVAE(input_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4,
                    prior=prior)  # fmt: skip
    config = old.get_config()
    assert config["data_shape"] == [8, 8, 1] and "input_shape" not in config
    with pytest.raises(ValueError, match="data_shape` only"):
        VQVAE(data_shape=(8, 8, 1), input_shape=(8, 8, 1))
    config["input_shape"] = config.pop("data_shape")
    assert VQVAE.from_config(config).data_shape == (8, 8, 1)
