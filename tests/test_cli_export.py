"""`keras-genmodels export` and `sample`: the real CLI, and its errors."""

import contextlib
import io
import os
import subprocess
import sys

import keras
import matplotlib.image as mpimg
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import VAE, ConditionalGAN, cli, plots
from tests.test_case import subprocess_env


def _start_cli(args, cwd):
    """Starts `python -m keras_genmodels.cli ARGS` with this checkout importable."""
    env = subprocess_env()
    return subprocess.Popen(
        [sys.executable, "-m", "keras_genmodels.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tiny VAE as a .keras file and a conditional GAN in a run folder, exported.

    Two real command lines run in fresh processes, side by side (two cores): an
    export, and `sample` of a SavedModel exported in-process just before. The rest
    goes through the same entry point in-process, without another TF start.
    """
    folder = tmp_path_factory.mktemp("cli_export")
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    vae.save(folder / "tiny_vae.keras")
    (folder / "runs" / "cgan-run").mkdir(parents=True)
    gan = ConditionalGAN(
        data_shape=(8, 8, 1), latent_dim=4, num_classes=3, ema_decay=0.9
    )
    gan.save(folder / "runs" / "cgan-run" / "model.keras")
    in_process = {
        "pre": ["export", "tiny_vae.keras", "--base-dir", "pre/tiny_vae"],
        "cgan": [
            "export",
            "runs/cgan-run",
            "--version",
            "3",
            "--base-dir",
            "served/cgan",
        ],
        "onnx": ["export", "tiny_vae.keras", "--format", "onnx"],
        "sample_cgan": ["sample", "served/cgan/3", "--num", "6", "--seed", "5"]
        + ["--labels", "2", "0", "--ncols", "3", "--out", "grids/c.png"],
    }
    outputs = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for name, argv in in_process.items():
            with contextlib.redirect_stdout(io.StringIO()) as out:
                assert cli.main(argv) == 0, name
            outputs[name] = out.getvalue()
    finally:
        os.chdir(cwd)
    processes = {
        "vae": _start_cli(["export", "tiny_vae.keras"], folder),
        "sample_vae": _start_cli(
            ["sample", "pre/tiny_vae", "--num", "16", "--out", "v.png"], folder
        ),
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err[-3000:]}"
        outputs[name] = out
    return folder, vae, gan, outputs


def test_export_writes_the_default_layout(work):
    folder, vae, _, outputs = work
    assert outputs["vae"].strip().endswith("wrote saved_models/tiny_vae/1")
    assert outputs["onnx"].strip().endswith("wrote saved_models/tiny_vae/decode.onnx")
    assert sorted(os.listdir(folder / "saved_models" / "tiny_vae")) == [
        "1",
        "decode.onnx",
    ]
    loaded = tf.saved_model.load(str(folder / "saved_models" / "tiny_vae" / "1"))
    z = np.zeros((2, 2), "float32")
    got = loaded.signatures["decode"](z=tf.constant(z))["x_mean"]
    np.testing.assert_allclose(got, vae.decode(z), atol=1e-6)


def test_export_of_a_run_folder_with_version_and_base_dir(work):
    folder, _, gan, outputs = work
    assert outputs["cgan"].strip().endswith("wrote served/cgan/3")
    assert os.listdir(folder / "served" / "cgan") == ["3"]
    signatures = tf.saved_model.load(str(folder / "served" / "cgan" / "3")).signatures
    assert set(signatures) == {"serving_default", "generate", "sample", "discriminate"}


def _grid(images, path, ncols=None):
    return mpimg.imread(plots.save_image_grid(np.asarray(images), path, ncols=ncols))


def test_sample_draws_what_the_model_draws(work, tmp_path):
    """The PNG from the SavedModel alone equals a grid of the in-memory samples."""
    folder, vae, gan, outputs = work
    assert (
        "wrote v.png (16 samples, seed 0, from pre/tiny_vae/1)" in outputs["sample_vae"]
    )
    want = _grid(vae.sample(16, seed=0), tmp_path / "v.png")
    np.testing.assert_allclose(mpimg.imread(folder / "v.png"), want, atol=1 / 255)
    labels = np.array([2, 0, 2, 0, 2, 0])  # --labels 2 0, repeated to --num 6
    want = _grid(gan.generate(6, seed=5, labels=labels), tmp_path / "c.png", ncols=3)
    np.testing.assert_allclose(
        mpimg.imread(folder / "grids" / "c.png"), want, atol=1 / 255
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "missing.keras"], "neither a run folder nor an existing .keras"),
        (["export", "."], "has no model.keras"),
        (
            ["export", "tiny_vae.keras", "--format", "onnx", "--version", "2"],
            "--version",
        ),
        (
            ["export", "tiny_vae.keras", "--endpoint", "decode"],
            "--endpoint and --opset",
        ),
        (["export", "tiny_vae.keras", "--format", "tflite"], "invalid choice"),
        (["export", "tiny_vae.keras", "--version", "0"], "--version"),
        (
            ["export", "tiny_vae.keras", "--version", "1"],
            "exists; pass --overwrite to replace it, or choose another --version",
        ),
        (
            ["export", "tiny_vae.keras", "--format", "onnx"],
            "exists; pass --overwrite to replace it, or choose another --base-dir",
        ),
        (
            ["export", "tiny_vae.keras", "--format", "onnx", "--endpoint", "encode"],
            "Valid values: decode",
        ),
        (["export", "dense.keras"], "cannot export 'dense.keras': `model` must be"),
        (["sample", "runs"], "neither a SavedModel folder (with saved_model.pb)"),
        (
            ["sample", "runs/cgan-run"],
            "is a run folder, not an export: run `keras-genmodels export "
            "runs/cgan-run` first, then `keras-genmodels sample saved_models/cgan-run`",
        ),
        (["sample", "tiny_vae.keras"], "is a .keras file, not an export"),
        (["sample", "saved_models/nope"], "'saved_models/nope' does not exist"),
        (
            ["sample", "saved_models/tiny_vae", "--out", "v.png"],
            "--out 'v.png' exists; pass --overwrite",
        ),
        (["sample", "saved_models/tiny_vae", "--labels", "1"], "conditional GAN"),
        (["sample", "served/cgan", "--labels", "3"], "must lie in [0, 3); got 3"),
        (["sample", "plain"], "has no 'sample' signature"),
        (["sample", "saved_models/tiny_vae", "--num", "0"], "--num"),
    ],
)
def test_errors_exit_2_and_write_nothing(work, capsys, monkeypatch, argv, message):
    folder, *_ = work
    monkeypatch.chdir(folder)
    if not (folder / "dense.keras").exists():
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save("dense.keras")
        tf.saved_model.save(tf.Module(), "plain")
    before = sorted(str(p) for p in folder.rglob("*"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-genmodels: error: ") or "usage:" in err
    assert message in err
    assert sorted(str(p) for p in folder.rglob("*")) == before


def test_help_describes_both_commands(capsys):
    assert cli.main(["export", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--format", "--version", "--base-dir", "--endpoint", "--overwrite"):
        assert option in out
    assert cli.main(["sample", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--num", "--seed", "--out", "--labels", "(default: 64)"):
        assert option in out


def test_the_advice_of_an_export_error_is_accepted(work, capsys, monkeypatch):
    folder, *_ = work
    monkeypatch.chdir(folder)
    onnx = ["export", "tiny_vae.keras", "--format", "onnx"]
    assert cli.main(onnx) == 2
    assert "choose another --base-dir" in capsys.readouterr().err
    assert cli.main([*onnx, "--base-dir", "elsewhere"]) == 0
    assert (folder / "elsewhere" / "decode.onnx").is_file()
    assert cli.main(["export", "tiny_vae.keras", "--version", "1"]) == 2
    assert "choose another --version" in capsys.readouterr().err
    assert cli.main(["export", "tiny_vae.keras", "--version", "7"]) == 0
    assert (folder / "saved_models" / "tiny_vae" / "7" / "saved_model.pb").is_file()


def test_sample_of_a_conditional_model_has_one_labelled_row_per_class(
    work, capsys, monkeypatch, tmp_path
):
    folder, _, gan, _ = work
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sample", str(folder / "served/cgan"), "--num", "20"]) == 0
    assert "wrote grid.png (20 samples" in capsys.readouterr().out
    labels = np.resize(np.arange(3), 20)  # 0, 1, 2, 0, ...: 7, 7 and 6 per class
    tiles, ncols, classes = plots.arrange_by_label(
        gan.generate(20, seed=0, labels=labels), labels
    )
    assert (ncols, classes) == (7, [0, 1, 2])
    png = mpimg.imread(tmp_path / "grid.png")
    plain = _grid(tiles, tmp_path / "plain.png", ncols=ncols)
    assert png.shape[1] > plain.shape[1]  # room for the row labels on the left
    assert png.shape[0] / png.shape[1] < 0.6  # three rows of seven, not wrapped
    assert cli.main(["sample", str(folder / "served/cgan"), "--num", "20"]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert cli.main(["sample", str(folder / "served/cgan"), "--overwrite"]) == 0
