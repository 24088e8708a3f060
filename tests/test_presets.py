"""The presets shipped in saved_models/: complete, unchanged, servable, as good as
their cards say."""

import json
import pathlib
import subprocess
import sys
import zipfile

import h5py
import keras
import matplotlib.image as mpimg
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import keras_genmodels
from keras_genmodels import presets
from keras_genmodels.presets import build, card, checks
from keras_genmodels.registry import family_of
from tests.test_case import run_signatures_in_isolation, subprocess_env
from tests.test_serving import client

REPO = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = REPO / "saved_models"
NAMES = sorted(presets.recipes())
MAX_TOTAL_BYTES = 25 * 10**6


def _info(name):
    return json.loads((SHIPPED / name / "preset.json").read_text())


def test_every_recipe_is_shipped_and_listed():
    assert list(keras_genmodels.list_presets()) == NAMES
    assert len(NAMES) >= 4  # VAE, GAN, conditional GAN, VQ-VAE


@pytest.mark.parametrize("name", NAMES)
def test_files_are_what_the_build_wrote(name):
    info = _info(name)
    family, recipe = presets.recipes()[name]
    assert info["build"]["command"] == ["keras-genmodels", "train", *recipe.train]
    assert info["family"] == family.name and info["summary"] == recipe.summary
    assert build.file_digests(SHIPPED / name) == info["files"]
    assert (SHIPPED / name / "README.md").read_text() == card.model_card(info)


def _compile_configs(config):
    """Every `compile_config` value in a saved model's (nested) config."""
    if isinstance(config, dict):
        found = [config["compile_config"]] if "compile_config" in config else []
        return found + [c for v in config.values() for c in _compile_configs(v)]
    if isinstance(config, list):
        return [c for v in config for c in _compile_configs(v)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_model_files_hold_weights_without_optimizer_state(name):
    with zipfile.ZipFile(SHIPPED / name / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
        with archive.open("model.weights.h5") as weights, h5py.File(weights) as h5:
            names = []
            h5.visit(names.append)
    assert not [c for c in _compile_configs(config) if c]  # nested models too
    assert names and not [n for n in names if "optimizer" in n.split("/")]


def test_all_presets_fit_the_size_budget():
    files = [p for name in NAMES for p in (SHIPPED / name).rglob("*") if p.is_file()]
    total = sum(path.stat().st_size for path in files)
    assert total <= MAX_TOTAL_BYTES, f"{total / 1e6:.1f} MB"


def test_models_config_lists_every_preset_for_tf_serving():
    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse((SHIPPED / "models.config").read_text(), config)
    entries = {c.name: c.base_path for c in config.model_config_list.config}
    assert entries == {name: f"/models/{name}" for name in NAMES}
    assert (SHIPPED / "models.config").read_text() == build.models_config(NAMES)


@pytest.fixture(scope="module")
def loaded():
    """{name: model} from `from_preset` of each preset's class."""
    return {
        name: getattr(keras_genmodels, _info(name)["class"]).from_preset(name)
        for name in NAMES
    }


def test_from_preset_gives_a_compiled_model_of_the_card(loaded):
    for name, model in loaded.items():
        info = _info(name)
        assert type(model).__name__ == info["class"] and model.compiled
        assert list(model.data_shape) == info["data_shape"]
        assert sum(int(np.size(w)) for w in model.weights) == info["parameters"]


def test_saved_models_load_with_tensorflow_alone_and_match_the_keras_twin(
    loaded, tmp_path
):
    paths = {name: str(presets.saved_model_dir(name)) for name in NAMES}
    feeds, expected = {}, {}
    for name, model in loaded.items():
        signatures = client.read_signatures(paths[name])
        endpoints = family_of(model).endpoints(model)
        assert set(signatures) == set(endpoints)
        for signature, (function, _) in endpoints.items():
            feed = client.example_inputs(signatures[signature], batch=4, seed=3)
            for key, value in feed.items():
                feeds[f"{name}/{signature}/{key}"] = value
            tensors = {key: tf.constant(value) for key, value in feed.items()}
            for key, value in function(**tensors).items():
                expected[f"{name}/{signature}/{key}"] = keras.ops.convert_to_numpy(
                    value
                )
    outputs = run_signatures_in_isolation(paths, feeds, tmp_path)
    assert set(outputs) == set(expected)
    for key, want in expected.items():
        np.testing.assert_allclose(outputs[key], want, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_the_cards_metrics_hold_at_a_small_sample_count(loaded, name):
    info = _info(name)
    # K = 10 keeps the ResNet VAE's IWAE pass short; the bound check holds for any K.
    measured = checks.remeasure(loaded[name], info["dataset"], seed=2, iwae_samples=10)
    assert checks.compare(info["metrics"], measured) == []


def test_sample_a_preset_from_the_command_line(tmp_path):
    name = next(n for n in NAMES if _info(n)["family"] == "gan")
    out = tmp_path / "grid.png"
    result = subprocess.run(
        [sys.executable, "-m", "keras_genmodels", "sample", "--preset", name]
        + ["--num", "16", "--out", str(out)],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    grid = mpimg.imread(out)
    assert grid.ndim == 3 and grid.std() > 0.05  # digits, not a blank page


def test_sample_a_preset_folder_takes_its_newest_version(tmp_path, capsys):
    from keras_genmodels import cli

    name = next(n for n in NAMES if _info(n)["family"] == "vae")
    out = tmp_path / "grid.png"
    argv = ["sample", str(SHIPPED / name), "--num", "4", "--out", str(out)]
    assert cli.main(argv) == 0
    assert out.is_file() and str(SHIPPED / name / "1") in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "--preset", "nope"], "Unknown preset 'nope'"),
        (["sample", "saved_models/x", "--preset", "gan_mnist5k"], "got both"),
        (["sample"], "got neither"),
        (["sample", "saved_models/x", "--preset-dir", "d"], "with --preset only"),
    ],
)
def test_sample_preset_errors_name_the_fix(argv, message, tmp_path, capsys):
    from keras_genmodels import cli

    assert cli.main([*argv, "--out", str(tmp_path / "g.png")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()
