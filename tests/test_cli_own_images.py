"""A folder of 64x64 RGB PNGs: train (ResNet), evaluate (Inception), export, sample."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_genmodels.cli.main import main


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """40 colour 64x64 images in two class folders, made from scikit-learn digits."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("photos")
    digits = load_digits()
    rng = np.random.default_rng(0)
    for index in range(40):
        label = int(digits.target[index] % 2)
        grey = digits.images[index] / 16.0
        colour = rng.uniform(0.3, 1.0, size=3)
        rgb = (np.kron(grey, np.ones((8, 8)))[..., None] * colour * 255).astype("uint8")
        folder = root / ("even", "odd")[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray(rgb).save(folder / f"{index:03d}.png")
    return root


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "random.weights.h5"
    net = keras.applications.InceptionV3(
        weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3)
    )
    net.save_weights(path)
    return path


def test_a_folder_of_rgb_images_trains_evaluates_exports_and_samples(
    photos, inception_weights, tmp_path, capsys
):
    run = tmp_path / "run"
    code = main(
        ["train", "gan", "--dataset", f"folder:{photos}", "--image-size", "64",
         "--channels", "3", "--epochs", "1", "--batch-size", "16",
         "--arch", "resnet", "--width", "8", "--loss", "hinge",
         "--latent-dim", "8", "--test-fraction", "0.25", "--verbose", "0",
         "--dtype-policy", "float32", "--output-dir", str(run)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    info = json.loads((run / "dataset.json").read_text())
    assert info["class_names"] == ["even", "odd"]
    assert info["image_shape"] == [64, 64, 3]
    code = main(
        ["evaluate", str(run), "--num-samples", "12", "--inception-weights",
         str(inception_weights)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["samples"]["protocol"]["extractor"]["name"] == "inception_v3"
    assert np.isfinite(evaluation["samples"]["fid"])
    base = tmp_path / "saved" / "photos"
    assert main(["export", str(run), "--base-dir", str(base)]) == 0
    grid = tmp_path / "grid.png"
    assert main(["sample", str(base), "--num", "4", "--out", str(grid)]) == 0
    assert Image.open(grid).size[0] > 64


def test_a_resnet_vae_trains_from_the_command_line(tmp_path):
    run = tmp_path / "vae"
    code = main(
        ["train", "vae", "--dataset", "digits", "--arch", "resnet", "--width", "8",
         "--epochs", "1", "--latent-dim", "2", "--iwae-samples", "2",
         "--verbose", "0", "--dtype-policy", "float32", "--output-dir", str(run)]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["arguments"]["arch"] == "resnet"
    assert np.isfinite(metrics["test_negative_elbo"])


@pytest.fixture(scope="module")
def icons(tmp_path_factory):
    """24 RGBA 16x16 icons whose transparent pixels hold random colour."""
    root = tmp_path_factory.mktemp("icons")
    rng = np.random.default_rng(1)
    for index in range(24):
        rgba = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
        rgba[..., 3] = 0
        rgba[4:12, 4:12, 3] = 255  # an opaque square on a transparent ground
        folder = root / ("a", "b")[index % 2]
        folder.mkdir(exist_ok=True)
        Image.fromarray(rgba, "RGBA").save(folder / f"{index:03d}.png")
    return root


@pytest.mark.parametrize("channels, background", [("3", "black"), ("4", None)])
def test_a_folder_of_rgba_icons_trains_with_background_or_alpha(
    icons, tmp_path, capsys, channels, background
):
    run = tmp_path / "run"
    extra = ["--background", background] if background else []
    code = main(
        ["train", "gan", "--dataset", f"folder:{icons}", "--channels", channels,
         "--epochs", "1", "--batch-size", "8", "--width", "8", "--latent-dim", "4",
         "--test-fraction", "0.25", "--verbose", "0", "--dtype-policy", "float32",
         "--output-dir", str(run), *extra]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    info = json.loads((run / "dataset.json").read_text())
    assert info["image_shape"] == [16, 16, int(channels)]
    assert info["transparent"] == 24 and info["background"] == background
    assert (run / "samples.png").exists()
    assert (run / "samples_rgba.png").exists() == (channels == "4")
