"""Tests for the keras-genmodels command line, end to end.

A few runs go through a child process, as a user's shell runs them (its logging
and exit code); the others call `cli.main` in this process.
"""

import json
import math
import os
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from keras_genmodels import cli, data
from tests.test_case import subprocess_env

RUN_FILES = {
    "model.keras",
    "dataset.json",
    "history.json",
    "history.png",
    "samples.png",
    "reconstructions.png",
    "metrics.json",
    "snapshots",
}
TINY = ["--dataset", "digits", "--epochs", "1", "--batch-size", "64"]
TINY += ["--latent-dim", "2", "--iwae-samples", "5", "--verbose", "0"]


def _run_cli(args, cwd):
    """Runs `python -m keras_genmodels ARGS` with this checkout importable.

    TF_CPP_MIN_LOG_LEVEL is left unset, so the command's own quieting is tested.
    """
    env = subprocess_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")
    return subprocess.run(
        [sys.executable, "-m", "keras_genmodels", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _run_in_process(args, cwd, monkeypatch, capsys):
    """`cli.main(args)` in this process, as a `_run_cli`-like result."""
    monkeypatch.chdir(cwd)
    code = cli.main(args)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One real tiny training run, shared by the tests that inspect its folder."""
    out = tmp_path_factory.mktemp("cli") / "run"
    arguments = ["train", "vae", *TINY, "--snapshot-every", "1", "--output-dir"]
    result = _run_cli([*arguments, str(out)], out.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, out


def test_train_vae_writes_run_folder(run):
    result, out = run
    assert set(os.listdir(out)) == RUN_FILES  # nothing missing, no temporaries
    for name in ("history.png", "samples.png", "reconstructions.png"):
        image = mpimg.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 20
    assert result.stderr == ""  # no TensorFlow log lines, no warnings
    (summary,) = result.stdout.splitlines()  # --verbose 0: the result line only
    assert summary.startswith("test negative ELBO: ")
    assert "IWAE log p(x) (K=5): " in summary and summary.endswith(f"wrote {out}")


def test_metrics_json(run):
    metrics = json.loads((run[1] / "metrics.json").read_text())
    for key in (
        "test_negative_elbo",
        "test_reconstruction_loss",
        "test_kl_loss",
        "test_iwae_log_likelihood",
        "test_iwae_nll",
        "wall_time_seconds",
    ):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["test_iwae_nll"] == -metrics["test_iwae_log_likelihood"]
    from keras_genmodels.precision import auto_dtype_policy

    name, reason = auto_dtype_policy()  # the default: this machine's choice
    assert metrics["dtype_policy"] == {"name": name, "reason": reason}
    assert metrics["iwae_samples"] == 5
    assert metrics["epochs"] == 1 and metrics["num_test_examples"] > 0
    assert metrics["arguments"]["dataset"] == "digits"
    assert metrics["arguments"]["latent_dim"] == 2
    assert metrics["arguments"]["output_dir"] == str(run[1])


def test_history_json_has_one_epoch(run):
    history = json.loads((run[1] / "history.json").read_text())
    assert {"loss", "reconstruction_loss", "kl_loss", "val_loss"} <= set(history)
    assert all(len(values) == 1 for values in history.values())
    metrics = json.loads((run[1] / "metrics.json").read_text())
    assert 0 < history["train_seconds"][0] <= metrics["train_seconds"]


def test_snapshot_every_saves_the_model_of_that_epoch(run):
    import keras

    (snapshot,) = os.listdir(run[1] / "snapshots")  # one epoch, --snapshot-every 1
    assert snapshot == "epoch-0001.keras"
    before = keras.saving.load_model(run[1] / "snapshots" / snapshot)
    after = keras.saving.load_model(run[1] / "model.keras")
    for a, b in zip(before.weights, after.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_saved_model_loads(run):
    import keras

    from keras_genmodels import VAE

    vae = keras.saving.load_model(run[1] / "model.keras")
    assert isinstance(vae, VAE)
    assert tuple(vae.sample(3, seed=1).shape) == (3, 8, 8, 1)


GAN_TINY = ["--dataset", "digits", "--epochs", "1", "--batch-size", "64"]
GAN_TINY += ["--latent-dim", "4", "--verbose", "0"]


@pytest.mark.parametrize(
    ("options", "in_process"),
    [
        (
            ["--loss", "hinge", "--spectral-norm", "--export", "--ema", "0"]
            + ["--dtype-policy", "mixed_bfloat16", "--steps-per-execution", "4"],
            False,
        ),
        (
            ["--conditional", "--loss", "wasserstein", "--n-critic", "2"]
            + ["--ema", "0.9", "--epochs", "3", "--time-limit", "0.001"]
            + ["--width", "8"],
            True,
        ),  # --time-limit: stops after the first epoch
    ],
)
def test_train_gan_writes_run_folder(
    tmp_path, options, in_process, monkeypatch, capsys
):
    import keras

    from keras_genmodels import GAN, ConditionalGAN

    out = tmp_path / "run"
    argv = ["train", "gan", *GAN_TINY, *options, "--output-dir", str(out)]
    if in_process:
        result = _run_in_process(argv, tmp_path, monkeypatch, capsys)
    else:
        result = _run_cli(argv, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(os.listdir(out)) == RUN_FILES - {"reconstructions.png", "snapshots"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["final"]) >= {"d_loss", "g_loss", "val_d_loss", "val_g_loss"}
    assert all(math.isfinite(v) for v in metrics["final"].values())
    assert metrics["epochs"] == 1
    gan = keras.saving.load_model(out / "model.keras")
    conditional = "--conditional" in options
    # The reported AUC is P(D(real) > D(fake)) over the test set and as many
    # samples (seed + 1), recomputed here by brute force over all pairs.
    arrays = data.load_arrays("digits")
    x_test, y_test = arrays.x_test, arrays.y_test
    labels = y_test if conditional else None
    by_label = {"labels": y_test} if conditional else {}
    fake = gan.generate(len(x_test), seed=1, **by_label)
    real_scores = keras.ops.convert_to_numpy(gan.discriminate(x_test, labels))
    fake_scores = keras.ops.convert_to_numpy(gan.discriminate(fake, labels))
    pairs = real_scores.reshape(-1, 1) - fake_scores.reshape(1, -1)
    expected = np.mean(pairs > 0) + 0.5 * np.mean(pairs == 0)
    assert metrics["discriminator_test_auc"] == pytest.approx(expected, abs=1e-6)
    assert f"D's ROC AUC, test real vs fake: {expected:.3f}" in result.stdout
    assert result.stderr == ""
    assert type(gan) is (ConditionalGAN if conditional else GAN)
    if "--steps-per-execution" in options:
        assert gan.ema_decay is None and gan.ema_generator is None  # --ema 0
        assert gan.steps_per_execution == 4
        policies = {layer.dtype_policy.name for layer in gan.generator.layers}
        assert "mixed_bfloat16" in policies
        assert gan.generator.output.dtype == "float32"  # images leave in float32
    if conditional:
        assert gan.num_classes == 10 and gan.n_critic == 2 and gan.ema_decay == 0.9
        assert gan.penalty_weights["gradient_penalty"] == 10.0  # the WGAN-GP default
        transposed = [
            layer.filters
            for layer in gan.generator.layers
            if isinstance(layer, keras.layers.Conv2DTranspose)
        ]
        assert transposed == [16, 8]  # --width 8: channels 2 * width, width
        grid = mpimg.imread(out / "samples.png")
        assert grid.shape[0] > grid.shape[1] * 0.7  # ten rows of ten samples
    (summary,) = result.stdout.splitlines()  # --verbose 0: the result line only
    assert summary.startswith("final d_loss: ")
    exported = tmp_path / "saved_models" / "run" / "1" / "saved_model.pb"
    assert exported.exists() == ("--export" in options)


def test_train_vae_in_mixed_bfloat16(tmp_path, monkeypatch, capsys):
    import keras

    out = tmp_path / "run"
    options = ["--dtype-policy", "mixed_bfloat16", "--output-dir", str(out)]
    argv = ["train", "vae", *TINY, *options]
    result = _run_in_process(argv, tmp_path, monkeypatch, capsys)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["test_negative_elbo"])
    assert math.isfinite(metrics["test_iwae_nll"])
    vae = keras.saving.load_model(out / "model.keras")
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in vae.encoder.layers}


def test_train_on_two_replicas(tmp_path, monkeypatch, mirrored_strategy, capsys):
    """In this process, whose two logical CPUs a child process would not have."""
    from keras_genmodels import distribute

    monkeypatch.setattr(distribute, "get_strategy", lambda *_: mirrored_strategy)
    argv = ["train", "vae", *TINY, "--output-dir", str(tmp_path / "run2")]
    assert cli.main([*argv, "--steps-per-execution", "4"]) == 0
    (summary,) = capsys.readouterr().out.splitlines()  # --verbose 0
    assert summary.startswith("test negative ELBO: ")
    assert json.loads((tmp_path / "run2" / "metrics.json").read_text())["epochs"] == 1
    import keras

    with mirrored_strategy.scope():
        vae = keras.saving.load_model(tmp_path / "run2" / "model.keras")
    assert vae.steps_per_execution == 4


def test_bad_dataset_exits_2_without_traceback(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    argv = ["train", "vae", "--dataset", "nope", "--output-dir", str(out)]
    result = _run_in_process(argv, tmp_path, monkeypatch, capsys)
    assert result.returncode == 2
    assert "keras-genmodels: error: " in result.stderr and "'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_defaults_match_the_documented_ones():
    args = cli.build_parser().parse_args(["train", "vae"])
    expected = dict(
        dataset="mnist5k",
        epochs=30,
        batch_size=64,
        latent_dim=16,
        beta=1.0,
        kl_warmup_steps=0,
        likelihood="bernoulli",
        binarize="none",
        learning_rate=1e-3,
        iwae_samples=1000,
        output_dir=None,
        seed=0,
        verbose=1,
        dtype_policy="auto",  # the Python API keeps Keras's float32
        prior="standard_normal",
        steps_per_execution=None,  # the model's: 8
    )
    assert {k: getattr(args, k) for k in expected} == expected
    gan = cli.build_parser().parse_args(["train", "gan"])
    expected = dict(epochs=20, batch_size=32, learning_rate=1e-3, latent_dim=64)
    expected.update(loss="non_saturating", arch="dcgan", width=None, beta1=0.5)
    expected.update(ema=0.999)
    assert {k: getattr(gan, k) for k in expected} == expected  # width None: 32


def test_defaults_are_shown_in_help(capsys):
    assert cli.main(["train", "gan", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Adam step size (default: 0.001)" in text
    assert "per step (default: 32)" in text
    assert "(twice as many further in; default 32)" in text
    assert "0: none, samples come from the trained generator (default: 0.999)" in text
    assert cli.main(["train", "vae", "--help"]) == 0
    assert "Adam step size (default: 0.001)" in " ".join(
        capsys.readouterr().out.split()
    )


def test_help_lists_the_options(capsys):
    assert cli.main(["train", "vae", "--help"]) == 0
    text = capsys.readouterr().out
    for option in (
        "--dataset",
        "--epochs",
        "--batch-size",
        "--latent-dim",
        "--beta",
        "--kl-warmup-steps",
        "--likelihood",
        "--binarize",
        "--learning-rate",
        "--iwae-samples",
        "--output-dir",
        "--seed",
        "--verbose",
    ):
        assert option in text
    assert cli.main(["--help"]) == 0 and "train" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required"),
        (["train"], "required"),
        (["train", "flow"], "invalid choice"),
        (["train", "vae", "--epochs", "0"], "--epochs"),
        (["train", "vae", "--batch-size", "ten"], "--batch-size"),
        (["train", "vae", "--beta", "-1"], "--beta"),
        (["train", "vae", "--learning-rate", "0"], "--learning-rate"),
        (["train", "vae", "--beta", "nan"], "--beta"),
        (["train", "vae", "--binarize", "sometimes"], "--binarize"),
        (["train", "vae", "--likelihood", "poisson"], "--likelihood"),
        (["train", "vae", "--verbose", "3"], "--verbose"),
        (["train", "vae", "--dataset", "x.npz"], "pass npz:x.npz"),
        (["train", "vae", "--no-such-option"], "unrecognized"),
        (["train", "vae", "--time-limit", "0"], "--time-limit"),
        (["train", "gan", "--ema", "1"], "expected 0 (no average) or a decay in"),
        (["train", "gan", "--ema", "-0.5"], "--ema"),
        (
            ["train", "vae", "--time-limit", "60", "--strategy", "multi_worker"],
            "--time-limit 60 cannot be used with --strategy multi_worker",
        ),
    ],
)
def test_argument_errors_exit_2(capsys, argv, message):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_non_empty_output_dir_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert cli.main(["train", "vae", "--output-dir", str(tmp_path)]) == 2
    assert "keras-genmodels: error: " in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["keep.txt"]
    assert (tmp_path / "keep.txt").read_text() == "mine"
    file_path = tmp_path / "keep.txt"
    assert cli.main(["train", "vae", "--output-dir", str(file_path)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_discriminator_auc_is_right_where_a_threshold_at_zero_is_not():
    # A least-squares D codes real as 1 and fake as 0: here it separates the two
    # perfectly, yet every score is positive, so "fake if the score < 0" would
    # call it 0% right on fakes. The AUC is threshold-free and says 1.
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(0.6, 1.0, 300), rng.uniform(0.05, 0.55, 200)
    assert np.mean(fake < 0) == 0.0
    assert cli.common.roc_auc(real, fake) == 1.0
    # Wasserstein-like unbounded scores: the AUC is invariant to any increasing
    # map and equals the brute-force pair count, ties counted half.
    real, fake = rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 200)
    real[:10] = fake[:10]
    pairs = real[:, None] - fake[None, :]
    expected = np.mean(pairs > 0) + 0.5 * np.mean(pairs == 0)
    assert cli.common.roc_auc(real, fake) == pytest.approx(expected, abs=1e-12)
    assert cli.common.roc_auc(np.exp(real), np.exp(fake)) == pytest.approx(expected)
    assert cli.common.roc_auc(fake, real) == pytest.approx(1 - expected)


def test_a_run_that_fails_in_fit_leaves_no_folder(tmp_path, monkeypatch, capsys):
    from keras_genmodels import VAE

    def broken_fit(*args, **kwargs):
        raise ValueError("the data pipeline broke")

    monkeypatch.setattr(VAE, "fit", broken_fit)
    out = tmp_path / "runs" / "new"
    assert cli.main(["train", "vae", *TINY, "--output-dir", str(out)]) == 2
    assert "the data pipeline broke" in capsys.readouterr().err
    assert not out.exists()
    out.mkdir()  # a folder the user made is kept, even when the run fails
    assert cli.main(["train", "vae", *TINY, "--output-dir", str(out)]) == 2
    assert out.is_dir() and not any(out.iterdir())
