"""The preset build, end to end on a tiny recipe: train, evaluate, write, replace."""

import dataclasses
import json
import shutil

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from keras_genmodels import VAE, presets, registry
from keras_genmodels.presets import build, card

TINY = registry.Preset(
    "tiny_vae_digits",
    "A one-epoch VAE of the 8x8 digits",
    train=("vae", "--dataset", "digits", "--epochs", "1", "--latent-dim", "2")
    + ("--iwae-samples", "5", "--seed", "0"),
    evaluate=("--num-samples", "300", "--iwae-samples", "5"),
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny recipe registered with the VAE family, built into a fresh folder.

    Returns `(presets folder, preset folder, a copy of the trained run)`.
    """
    vae = registry.get_family("vae")
    registry.register_family(dataclasses.replace(vae, presets=(TINY,)), True)
    real, run_copy = build._cli, tmp_path_factory.mktemp("run") / "run"

    def keeping_the_run(arguments, verbose):
        real(arguments, verbose)
        if arguments[0] == "evaluate":
            shutil.copytree(arguments[1], run_copy)

    build._cli = keeping_the_run
    try:
        folder = tmp_path_factory.mktemp("presets")
        path = build.build_preset(TINY.name, folder, verbose=0)
        yield folder, path, run_copy
    finally:
        build._cli = real
        registry.register_family(vae, overwrite=True)


def test_the_build_writes_the_layout(built):
    folder, path, _ = built
    assert path == folder / TINY.name
    names = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert {"model.keras", "preset.json", "README.md", "1/saved_model.pb"} <= names
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temps
    info = json.loads((path / "preset.json").read_text())
    assert info["build"]["command"] == ["keras-genmodels", "train", *TINY.train]
    assert info["files"] == build.file_digests(path)
    assert (path / "README.md").read_text() == card.model_card(info)


def test_the_model_has_no_optimizer_state_and_from_preset_compiles_it(built):
    folder, _, _ = built
    vae = VAE.from_preset(TINY.name, directory=folder)
    assert isinstance(vae, VAE) and vae.compiled
    assert tuple(vae.sample(2, seed=0).shape) == (2, 8, 8, 1)
    assert list(presets.list_presets(folder)) == [TINY.name]


def test_the_recorded_quick_check_agrees_with_the_card(built):
    _, path, _ = built
    info = json.loads((path / "preset.json").read_text())
    from keras_genmodels.presets import checks

    assert checks.compare(info["metrics"], info["quick_check"]["measured"]) == []
    worse = json.loads(json.dumps(info["quick_check"]["measured"]))
    worse["likelihood"]["negative_elbo"] *= 1.1  # a card that no longer holds
    assert checks.compare(info["metrics"], worse)


def test_models_config_parses_as_tf_serving_config(built):
    folder, _, _ = built
    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse((folder / "models.config").read_text(), config)
    (entry,) = config.model_config_list.config
    assert entry.name == TINY.name and entry.base_path == f"/models/{TINY.name}"
    assert entry.model_platform == "tensorflow"


def test_a_rebuild_replaces_the_preset_and_a_failed_one_keeps_it(built, monkeypatch):
    folder, path, run = built
    before = (path / "preset.json").read_text()

    def fail(*args, **kwargs):
        raise RuntimeError("export failed")

    # The fixture's run (already evaluated) instead of a new training.
    monkeypatch.setattr(build, "_cli", lambda arguments, verbose: None)

    # Fails after model.keras is written into the temporary folder.
    monkeypatch.setattr("keras_genmodels.export.export_saved_model", fail)
    vae = registry.get_family("vae")
    registry.register_family(dataclasses.replace(vae, presets=(TINY,)), True)
    try:
        with pytest.raises(RuntimeError, match="export failed"):
            build.build_preset(TINY.name, folder, verbose=0, run_dir=run)
    finally:
        registry.register_family(vae, overwrite=True)
    assert (path / "preset.json").read_text() == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_unknown_names_list_what_exists(built, tmp_path):
    folder, _, _ = built
    with pytest.raises(ValueError, match=f"Presets there: {TINY.name}"):
        presets.load_preset("nope", directory=folder)
    with pytest.raises(ValueError, match="the recipes are: "):
        build.build_preset("nope", tmp_path)
    with pytest.raises(FileNotFoundError, match="KERAS_GENMODELS_PRESETS"):
        presets.list_presets(tmp_path / "missing")


def test_a_preset_of_another_class_is_refused(built):
    from keras_genmodels import GAN

    with pytest.raises(TypeError, match=r"is a VAE, not a GAN; load it with VAE"):
        GAN.from_preset(TINY.name, directory=built[0])


def test_a_run_of_another_command_is_refused(built, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(built[2], run)
    build.check_run(run, TINY)  # the recipe's own run passes
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["arguments"]["epochs"] = 2
    (run / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="not trained by the recipe.*epochs=2, not 1"):
        build.check_run(run, TINY)
