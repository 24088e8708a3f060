"""Tests for evaluate_generator and generate_images on tiny models and digits."""

import math

import keras
import numpy as np
import pytest

from keras_genmodels import GAN, VAE, ConditionalGAN
from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import (
    FeatureExtractor,
    evaluate_generator,
    generate_images,
)

SCORES = ("fid", "kid_mean", "kid_std", "precision", "recall")


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    path = tmp_path_factory.mktemp("classifiers") / "digits.keras"
    return FeatureExtractor.from_dataset("digits", epochs=5, path=path)


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    model = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(load_arrays("digits").x_train, epochs=2, batch_size=64, verbose=0)
    return model


def _check(report, model_name, num_generated):
    for key in SCORES:
        assert isinstance(report[key], float) and math.isfinite(report[key]), key
    assert 0 <= report["precision"] <= 1 and 0 <= report["recall"] <= 1
    coverage = report["mode_coverage"]
    assert 1 <= coverage["num_covered"] <= coverage["num_classes"] == 10
    assert sum(coverage["histogram"]) == pytest.approx(1.0)
    protocol = report["protocol"]
    assert protocol["model"] == model_name and protocol["dataset"] == "digits"
    assert protocol["num_generated"] == num_generated
    assert protocol["num_real"] == num_generated and protocol["real_split"] == "train"
    assert protocol["kid_subset_size"] == num_generated // 2  # half of each set
    extractor = protocol["extractor"]
    assert extractor["dataset"] == "digits" and extractor["epochs"] == 5


def test_evaluate_gan(extractor):
    gan = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    report = evaluate_generator(
        gan, "digits", num_samples=60, extractor=extractor, kid_subsets=4
    )
    _check(report, "GAN", 60)
    assert "conditional_accuracy" not in report
    again = evaluate_generator(
        gan, "digits", num_samples=60, extractor=extractor, kid_subsets=4
    )
    assert again == report  # seeded end to end


def test_evaluate_conditional_gan_uses_balanced_labels(extractor):
    gan = ConditionalGAN(data_shape=(8, 8, 1), latent_dim=4, num_classes=10, seed=0)
    images, labels = generate_images(gan, 25, seed=3, batch_size=10)
    assert images.shape == (25, 8, 8, 1)
    assert np.bincount(labels).tolist() == [3] * 5 + [2] * 5
    report = evaluate_generator(
        gan, "digits", num_samples=40, extractor=extractor, kid_subsets=4
    )
    _check(report, "ConditionalGAN", 40)
    assert 0 <= report["conditional_accuracy"] <= 1
    assert report["protocol"]["generated_labels"] == "balanced"


def test_evaluate_vae_samples_beat_noise(extractor, vae):
    report = evaluate_generator(
        vae, "digits", num_samples=200, extractor=extractor, kid_subsets=10
    )
    _check(report, "VAE", 200)
    noise = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)  # untrained
    baseline = evaluate_generator(
        noise, "digits", num_samples=200, extractor=extractor, kid_subsets=10
    )
    assert report["fid"] < baseline["fid"]


def test_generate_images_is_seeded_and_checked(vae):
    first, labels = generate_images(vae, 7, seed=1, batch_size=3)
    assert labels is None and first.shape == (7, 8, 8, 1)
    # The same seed and the same batches give bit-identical images.
    again, _ = generate_images(vae, 7, seed=1, batch_size=3)
    np.testing.assert_array_equal(again, first)
    # Other batch shapes may round differently (e.g. AVX2 kernels), so compare
    # the default single batch with a tolerance.
    np.testing.assert_allclose(
        generate_images(vae, 7, seed=1)[0], first, rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(generate_images(vae, 7, seed=2)[0], first)
    with pytest.raises(TypeError, match="registered keras_genmodels family"):
        generate_images(object(), 3)
    with pytest.raises(ValueError, match="positive"):
        generate_images(vae, 0)


def test_evaluate_generator_checks_shapes(extractor):
    gan = GAN(data_shape=(28, 28, 1), latent_dim=4)
    with pytest.raises(ValueError, match=r"\(28, 28, 1\).*\(8, 8, 1\)"):
        evaluate_generator(gan, "digits", extractor=extractor)
    with pytest.raises(ValueError, match="real_split"):
        evaluate_generator(gan, "digits", extractor=extractor, real_split="val")


@pytest.mark.parametrize("n_a, n_b, d", [(10, 14, 20), (60, 50, 20), (5, 5, 3)])
def test_spectral_fid_equals_the_matrix_square_root(n_a, n_b, d):
    from keras_genmodels.evaluation import metrics
    from keras_genmodels.evaluation.report import frechet_distance

    rng = np.random.default_rng(d)
    a = rng.normal(size=(n_a, d))
    b = rng.normal(size=(n_b, d)) @ rng.normal(size=(d, d)) * 0.5 + 0.3
    assert frechet_distance(a, b) == pytest.approx(
        metrics.frechet_distance(a, b), rel=1e-6, abs=1e-8
    )
    assert abs(frechet_distance(a, a)) < 1e-9 * np.trace(np.cov(a.T))


def test_a_labelled_grey_folder_uses_its_classifier(tmp_path, monkeypatch):
    from PIL import Image

    data = load_arrays("digits")
    pairs = zip(data.x_train[:120], data.y_train[:120], strict=True)
    for i, (x, y) in enumerate(pairs):
        folder = tmp_path / "digits" / f"class_{y}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(x[..., 0] * 255).astype(np.uint8)).save(
            folder / f"{i}.png"
        )
    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(tmp_path / "home"))
    gan = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    dataset = f"folder:{tmp_path / 'digits'}"
    report = evaluate_generator(gan, dataset, num_samples=30, kid_subsets=3)
    extractor = report["protocol"]["extractor"]
    assert extractor["name"] == "feature_classifier" and extractor["dataset"] == dataset
    assert report["mode_coverage"]["num_classes"] == 10
    assert report["protocol"]["data_options"] == {"image_size": [8, 8], "channels": 1}
    (saved,) = (tmp_path / "home" / "classifiers").glob("folder-digits-*.keras")
    with pytest.raises(ValueError, match="features must be one of"):
        evaluate_generator(gan, dataset, features="pixels")
