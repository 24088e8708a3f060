"""Tests for InceptionV3 features, reference caches and label-free evaluation."""

import keras
import numpy as np
import pytest
from PIL import Image

from keras_genmodels import GAN
from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import (
    InceptionExtractor,
    InceptionWeightsError,
    choose_features,
    evaluate_generator,
    inception_features,
)
from keras_genmodels.evaluation import inception as inception_module
from keras_genmodels.evaluation.inception import preprocess


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Weights of a randomly initialised InceptionV3, built and saved once."""
    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(
        weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3)
    )
    path = tmp_path_factory.mktemp("inception") / "inception.weights.h5"
    model.save_weights(path)
    return path, model


def _colour(digits):
    """8x8 grey digits -> 16x16 RGB: upsampled, each channel a shifted tint."""
    big = np.kron(digits[..., 0], np.ones((2, 2)))
    return np.stack([big, np.roll(big, 1, axis=1), 1.0 - big], axis=-1)


def _write_folder(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(images):
        Image.fromarray(np.round(x * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory):
    digits = load_arrays("digits").x_train[:40]
    return _write_folder(tmp_path_factory.mktemp("colour") / "imgs", _colour(digits))


def _pil_reference(x):
    """The preprocessing, independently: PIL's bilinear (antialiased) resize."""
    channels = [
        np.asarray(
            Image.fromarray(x[..., c].astype(np.float32), mode="F").resize(
                (299, 299), Image.BILINEAR
            )
        )
        for c in range(x.shape[-1])
    ]
    y = np.stack(channels, axis=-1)
    y = np.repeat(y, 3, axis=-1) if y.shape[-1] == 1 else y
    return y * 255.0 / 127.5 - 1.0


@pytest.mark.parametrize("shape", [(8, 8, 1), (40, 50, 3), (600, 500, 3)])
def test_preprocess_matches_pil(shape):
    x = np.random.default_rng(0).uniform(size=shape).astype(np.float32)
    ours = preprocess(x[None]).numpy()[0]
    assert ours.shape == (299, 299, 3)
    np.testing.assert_allclose(ours, _pil_reference(x), atol=1e-4)
    if shape[0] > 299:  # shrinking: antialiased, unlike a plain bilinear resize
        plain = keras.ops.image.resize(x[None], (299, 299))[0] * 2.0 - 1.0
        assert np.abs(ours - keras.ops.convert_to_numpy(plain)).max() > 1e-2


def test_features_from_a_local_weights_file(weights):
    path, model = weights
    grey = load_arrays("digits").x_test[:2]
    extractor = InceptionExtractor(weights=path, batch_size=2)
    feats, probs = extractor(grey)
    rgb, _ = extractor(np.repeat(grey[:1], 3, axis=-1))
    assert feats.shape == (2, 2048) and feats.dtype == np.float64 and probs is None
    assert extractor.num_classes is None and extractor.key.startswith("inception-")
    expected = keras.ops.convert_to_numpy(model(preprocess(grey), training=False))
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rgb[0], feats[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(feats[0], feats[1])
    assert "path" not in extractor.protocol
    assert extractor.protocol["weights"] == "inception.weights.h5"
    with pytest.raises(ValueError, match=r"\(N, H, W, 1, 3 or 4\)"):
        extractor(np.zeros((1, 8, 8, 2)))


def test_missing_and_offline_weights_name_both_ways_out(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="not found"):
        inception_features(np.zeros((1, 8, 8, 1)), weights=tmp_path / "none.h5")

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.delenv(inception_module.WEIGHTS_ENV_VAR, raising=False)
    with pytest.raises(InceptionWeightsError) as info:
        inception_features(np.zeros((1, 8, 8, 1)), weights="imagenet")
    message = str(info.value)
    assert "name resolution" in message and "weights=PATH" in message
    assert "features='classifier'" in message and "labelled" in message
    flat = _write_folder(tmp_path / "flat", load_arrays("digits").x_test[:12, ..., 0])
    gan = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    with pytest.raises(InceptionWeightsError, match="has no labels") as info:
        evaluate_generator(gan, f"folder:{flat}", num_samples=4)  # auto: unlabelled
    assert "weights=PATH" in str(info.value)
    with pytest.raises(ValueError, match="features='classifier' needs a labelled"):
        evaluate_generator(gan, f"folder:{flat}", num_samples=4, features="classifier")


def test_the_automatic_choice():
    assert choose_features((28, 28, 1), labelled=True) == "classifier"
    assert choose_features((64, 64, 1), labelled=True) == "classifier"
    assert choose_features((28, 28, 1), labelled=False) == "inception"
    assert choose_features((32, 32, 3), labelled=True) == "inception"
    assert choose_features((128, 128, 1), labelled=True) == "inception"


class Counting:
    """An extractor that counts the images it is given."""

    def __init__(self, inner):
        self.inner, self.seen = inner, 0
        self.num_classes, self.key, self.protocol = None, inner.key, inner.protocol

    def __call__(self, images):
        self.seen += len(images)
        return self.inner(images)


def test_folder_evaluation_with_a_cached_reference(weights, colour_folder, tmp_path):
    counting = Counting(InceptionExtractor(weights=weights[0]))
    gan = GAN(data_shape=(16, 16, 3), latent_dim=4, seed=0)
    options = dict(num_samples=4, kid_subsets=3, cache_dir=tmp_path, seed=0)
    dataset = f"folder:{colour_folder}"
    first = evaluate_generator(gan, dataset, extractor=counting, **options)
    assert counting.seen == 8  # 4 real + 4 generated
    assert first["fid"] > 0 and 0 <= first["precision"] <= 1
    assert first["mode_coverage"] is None and "conditional_accuracy" not in first
    protocol = first["protocol"]
    assert protocol["extractor"]["name"] == "inception_v3"
    assert protocol["num_real"] == 4 and protocol["reference_cache_hit"] is False
    assert protocol["data_options"] == {"image_size": [16, 16], "channels": 3}
    cached = sorted((tmp_path / "reference").iterdir())
    assert len(cached) == 1 and "-train-16x16x3-inception-" in cached[0].name

    again = evaluate_generator(gan, dataset, extractor=counting, **options)
    assert counting.seen == 12  # only the generated images
    assert again["protocol"].pop("reference_cache_hit") is True
    assert protocol.pop("reference_cache_hit") is False and again == first

    more = evaluate_generator(gan, dataset, extractor=counting, **{
        **options, "num_samples": 6})
    assert counting.seen == 12 + 2 + 6  # two more real images, appended
    with np.load(cached[0]) as stored:
        real = stored["features"].astype(np.float64)
        assert real.shape == (6, 2048)
        np.testing.assert_allclose(stored["mean"], real.mean(axis=0))
    assert more["protocol"]["num_real"] == 6

    from keras_genmodels.evaluation.report import frechet_distance

    assert abs(frechet_distance(real, real)) < 1e-6 * np.trace(np.cov(real.T))
    fake = counting.inner(gan.sample(6, seed=1).numpy())[0]
    assert frechet_distance(real, fake) > 0.01 * np.trace(np.cov(real.T))

    _write_folder(colour_folder / "new", _colour(load_arrays("digits").x_test[:1]))
    (colour_folder / "new" / "0.png").rename(colour_folder / "added.png")
    (colour_folder / "new").rmdir()
    changed = evaluate_generator(gan, dataset, extractor=counting, **options)
    assert changed["protocol"]["reference_cache_hit"] is False
    assert len(list((tmp_path / "reference").iterdir())) == 2


def test_weights_must_be_a_keras_weights_file():
    with pytest.raises(ValueError, match=r"\.h5/\.weights\.h5/\.keras"):
        InceptionExtractor(weights=__file__)


def test_rgba_images_are_composited_over_white_before_features():

    rgba = np.zeros((1, 4, 4, 4), np.float32)
    rgba[0, :2] = [0.2, 0.1, 0.0, 0.4]
    rgb = np.ones((1, 4, 4, 3), np.float32)
    rgb[0, :2] = [0.8, 0.7, 0.6]  # 0.2 + 0.6 * 1, 0.1 + 0.6, 0 + 0.6
    np.testing.assert_allclose(preprocess(rgba), preprocess(rgb), atol=1e-5)


def test_runtimes_give_the_same_features(weights, tmp_path, monkeypatch):
    from keras_genmodels.evaluation import inception

    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(tmp_path))
    images = np.random.default_rng(0).uniform(size=(3, 20, 20, 3))
    reference = InceptionExtractor(weights[0], runtime="tf")(images)[0]
    scale = np.abs(reference).max()
    for runtime in ("xla", "onnx"):
        got = InceptionExtractor(weights[0], runtime=runtime)(images)[0]
        assert np.abs(got - reference).max() <= 1e-4 * scale, runtime
    cached = list((tmp_path / "onnx").glob("inception-*-opset17.onnx"))
    assert len(cached) == 1  # converted once, kept for the next extractor
    assert inception.resolve_runtime("auto") == "onnx"  # the test extra has it
    with pytest.raises(ValueError, match="runtime must be one of .*'gpu'"):
        InceptionExtractor(weights[0], runtime="gpu")
