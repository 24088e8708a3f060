"""Tests for the cached feature classifier and local-weights InceptionV3 features."""

import json
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import features as features_module
from keras_genmodels.evaluation.features import (
    FeatureExtractor,
    classifier_path,
    inception_features,
    load_or_train_classifier,
    train_classifier,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The digits classifier with the default epochs, trained once into a tmp path."""
    path = tmp_path_factory.mktemp("classifiers") / "digits.keras"
    model, info = load_or_train_classifier("digits", path=path)
    return path, model, info


def test_classifier_is_accurate_on_digits(trained):
    _, model, info = trained
    data = load_arrays("digits")
    predictions = model.predict(data.x_test, verbose=0).argmax(axis=1)
    accuracy = np.mean(predictions == data.y_test)
    assert accuracy > 0.9
    assert info["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert info["dataset"] == "digits" and info["epochs"] == 20 and info["seed"] == 0


def test_second_call_loads_the_cache(trained, monkeypatch):
    path, model, info = trained
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(
        features_module, "_train", lambda *a: pytest.fail("retrained a cached model")
    )
    loaded = train_classifier("digits", path=path)  # epochs=None: whatever is cached
    train_classifier("digits", epochs=20, seed=0, path=path)  # the same request
    assert path.stat().st_mtime_ns == stamp
    x = load_arrays("digits").x_test[:8]
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    cached = json.loads(path.with_suffix(".json").read_text())
    assert cached["test_accuracy"] == info["test_accuracy"]


@pytest.fixture
def fake_training(monkeypatch):
    """Replaces training by an untrained model; returns the list of its calls."""
    calls = []

    def fake(dataset, epochs, seed, batch_size, verbose):
        calls.append((dataset, epochs, seed))
        info = dict(dataset=dataset, epochs=epochs, seed=seed, test_accuracy=0.1)
        return features_module.build_classifier((8, 8, 1), 10), info

    monkeypatch.setattr(features_module, "_train", fake)
    return calls


def test_a_different_request_retrains(tmp_path, fake_training):
    path = tmp_path / "d.keras"
    load_or_train_classifier("digits", epochs=1, path=path)
    load_or_train_classifier("digits", epochs=1, path=path)
    load_or_train_classifier("digits", path=path)  # epochs=None: what is cached
    assert fake_training == [("digits", 1, 0)]
    load_or_train_classifier("digits", epochs=2, path=path)
    load_or_train_classifier("digits", epochs=2, seed=1, path=path)
    path.with_suffix(".json").unlink()  # an incomplete cache is not trusted
    load_or_train_classifier("digits", epochs=2, seed=1, path=path)
    assert fake_training[1:] == [("digits", 2, 0), ("digits", 2, 1), ("digits", 2, 1)]


def test_cache_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(tmp_path))
    assert classifier_path("mnist5k") == tmp_path / "classifiers" / "mnist5k.keras"
    assert classifier_path("digits", tmp_path / "x").parent == tmp_path / "x" / (
        "classifiers"
    )
    npz = classifier_path("npz:/data/my.set.npz").name
    assert npz.startswith("npz-my.set-") and npz.endswith(".keras")
    monkeypatch.delenv("KERAS_GENMODELS_HOME")
    assert ".keras_genmodels" in classifier_path("digits").parts


def test_default_path_writes_under_the_home(tmp_path, monkeypatch, fake_training):
    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(tmp_path))
    train_classifier("digits")
    assert fake_training == [("digits", 20, 0)]  # DEFAULT_EPOCHS["digits"]
    written = sorted(p.name for p in (tmp_path / "classifiers").iterdir())
    assert written == ["digits.json", "digits.keras"]  # no temporaries left


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train_classifier("digits", epochs=0, path=tmp_path / "c.keras")
    path = tmp_path / "x.npz"
    np.savez(path, x_train=np.zeros((4, 8, 8)), x_test=np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="no labels"):
        train_classifier(f"npz:{path}", path=tmp_path / "c.keras")


def test_feature_extractor(trained):
    path, model, info = trained
    extractor = FeatureExtractor(model, info=info)
    x = load_arrays("digits").x_test[:30]
    feats, probs = extractor(x, batch_size=7)
    assert feats.shape == (30, 128) and probs.shape == (30, 10)
    assert feats.dtype == probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.linalg.matrix_rank(np.cov(feats, rowvar=False)) == 29  # full for n=30
    assert "path" not in extractor.protocol and extractor.protocol["epochs"] == 20
    with pytest.raises(ValueError, match=r"\(N, 8, 8, 1\)"):
        extractor(np.zeros((2, 28, 28, 1)))


def test_inception_needs_a_local_weights_file(tmp_path):
    with pytest.raises(ValueError, match="local"):
        inception_features(np.zeros((1, 8, 8, 1)), weights=None)
    with pytest.raises(ValueError, match="Nothing is downloaded"):
        inception_features(np.zeros((1, 8, 8, 1)), weights="imagenet")
    with pytest.raises(FileNotFoundError, match="not found"):
        inception_features(np.zeros((1, 8, 8, 1)), weights=tmp_path / "none.h5")


def test_inception_features_from_a_local_file(tmp_path):
    model = keras.applications.InceptionV3(
        weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3)
    )
    weights = tmp_path / "inception.weights.h5"
    model.save_weights(weights)
    images = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    feats = inception_features(images, weights=weights)
    assert feats.shape == (2, 2048) and feats.dtype == np.float64
    resized = keras.ops.image.resize(np.repeat(images, 3, axis=-1), (299, 299))
    expected = keras.ops.convert_to_numpy(model(resized * 2.0 - 1.0))
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-5)


def _global_draws():
    return (
        random.random(),
        float(np.random.rand()),  # noqa: NPY002 (the global state is the point)
        float(tf.random.uniform(())),
        float(keras.random.uniform(())),
    )


def test_training_keeps_the_global_random_state_and_is_reproducible(tmp_path):
    keras.utils.set_random_seed(123)
    expected = _global_draws()
    keras.utils.set_random_seed(123)
    first = train_classifier("digits", epochs=1, path=tmp_path / "a.keras")
    assert _global_draws() == expected
    keras.utils.set_random_seed(7)  # another global state, the same classifier
    second = train_classifier("digits", epochs=1, path=tmp_path / "b.keras")
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    other = train_classifier("digits", epochs=1, seed=1, path=tmp_path / "c.keras")
    assert not np.allclose(first.get_weights()[0], other.get_weights()[0])
