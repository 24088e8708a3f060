"""Tests for the cached feature classifier, dataset keys and reference caches."""

import json
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.data import load_arrays, load_dataset
from keras_genmodels.evaluation import features as features_module
from keras_genmodels.evaluation.features import (
    REFERENCE_ORDER_SEED,
    FeatureExtractor,
    classifier_path,
    dataset_key,
    load_or_train_classifier,
    reference_features,
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

    def fake(dataset, epochs, seed, batch_size, verbose, options=None):
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


def test_dataset_keys_follow_the_files(tmp_path):
    folder = tmp_path / "my pets"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    key = dataset_key(f"folder:{folder}")
    assert key.startswith("folder-my_pets-") and "/" not in key
    assert dataset_key(f"folder:{folder}") == key
    assert dataset_key(f"folder:{folder}", {"image_size": (8, 8)}) != key
    (folder / "b.png").write_bytes(b"y")
    assert dataset_key(f"folder:{folder}") != key
    assert dataset_key("mnist5k") == "mnist5k"
    records = dataset_key(f"tfrecord:{tmp_path}/*.tfrecord")
    assert records.startswith("tfrecord-") and "*" not in records
    path = classifier_path(f"folder:{folder}", tmp_path, {"channels": 1})
    assert path.parent == tmp_path / "classifiers" and path.suffix == ".keras"


class _Mean:
    """A toy extractor: per-image channel means and a pixel as features."""

    num_classes = None
    protocol = {"name": "toy"}

    def __init__(self):
        self.seen = 0

    def __call__(self, x):
        self.seen += len(x)
        return np.concatenate([x.mean(axis=(1, 2)), x[:, :1, 0, 0]], axis=1), None


def test_reference_features_are_cached_and_extended(tmp_path):
    datasets = load_dataset("digits", batch_size=50, shuffle_buffer=1)
    x = load_arrays("digits").x_train
    order = np.random.default_rng(REFERENCE_ORDER_SEED).permutation(len(x))
    toy, path = _Mean(), tmp_path / "ref.npz"
    first = reference_features(toy, datasets, "train", 30, path)
    assert not first.cache_hit and toy.seen == 30 and path.is_file()
    expected, _ = _Mean()(x[order[:30]])
    np.testing.assert_allclose(first.features, expected, atol=1e-6)
    np.testing.assert_allclose(first.cov, np.cov(expected, rowvar=False), atol=1e-9)
    again = reference_features(toy, datasets, "train", 20, path)
    assert again.cache_hit and toy.seen == 30
    np.testing.assert_array_equal(again.features, first.features[:20])
    more = reference_features(toy, datasets, "train", 45, path)
    assert not more.cache_hit and toy.seen == 45
    np.testing.assert_allclose(more.features, _Mean()(x[order[:45]])[0], atol=1e-6)
    toy.protocol = {"name": "another"}  # another description: recomputed
    assert not reference_features(toy, datasets, "train", 10, path).cache_hit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.npz"]  # atomic
