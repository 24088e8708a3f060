"""Tests for `keras-genmodels evaluate RUN_DIR`, end to end in a subprocess."""

import json
import math
import os

import matplotlib.image as mpimg
import pytest

from keras_genmodels import cli
from keras_genmodels.cli.common import write_json
from tests.test_cli_train import TINY, _run_cli

EVALUATE = ["evaluate", "--num-samples", "80", "--iwae-samples", "5"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One classifier cache for the module, as KERAS_GENMODELS_HOME."""
    return tmp_path_factory.mktemp("home")


def _evaluate(run_dir, home, *options):
    previous = os.environ.get("KERAS_GENMODELS_HOME")
    os.environ["KERAS_GENMODELS_HOME"] = str(home)
    try:
        return _run_cli([*EVALUATE, str(run_dir), *options], run_dir.parent)
    finally:
        if previous is None:
            del os.environ["KERAS_GENMODELS_HOME"]
        else:
            os.environ["KERAS_GENMODELS_HOME"] = previous


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, home):
    """A real tiny `train vae` run, then `evaluate` on it with its images removed."""
    out = tmp_path_factory.mktemp("cli") / "run"
    # Trained in this process; the evaluation below is the command under test.
    assert cli.main(["train", "vae", *TINY, "--output-dir", str(out)]) == 0
    (out / "samples.png").unlink()
    (out / "reconstructions.png").unlink()
    result = _evaluate(out, home, "--seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return result, out


def test_evaluate_vae_writes_evaluation_json(vae_run, home):
    result, out = vae_run
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["model"] == "VAE" and evaluation["dataset"] == "digits"
    samples = evaluation["samples"]
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall"):
        assert isinstance(samples[key], float) and math.isfinite(samples[key]), key
    protocol = samples["protocol"]
    assert protocol["num_generated"] == 80 and protocol["seed"] == 1
    assert protocol["extractor"]["dataset"] == "digits"
    assert protocol["extractor"]["test_accuracy"] > 0.9
    likelihood = evaluation["likelihood"]
    assert (
        likelihood["protocol"]["K"] == 5 and likelihood["protocol"]["binarize"] is None
    )
    assert math.isfinite(likelihood["iwae_nll"])
    assert (home / "classifiers" / "digits.keras").is_file()  # cached in the tmp home
    assert "training the feature classifier for digits" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("FID: ") and "IWAE NLL (K=5): " in summary


def test_evaluate_vae_restores_missing_images(vae_run):
    _, out = vae_run
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["images_written"] == [
        "samples.png",
        "reconstructions.png",
        "latent_scatter.png",
        "latent_manifold.png",
    ]
    for name in evaluation["images_written"]:
        assert mpimg.imread(out / name).ndim == 3
    assert not [p for p in os.listdir(out) if p.startswith(".")]  # no temporaries


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A hand-made run folder holding an untrained ConditionalGAN."""
    from keras_genmodels import ConditionalGAN

    out = tmp_path_factory.mktemp("cli") / "gan"
    out.mkdir()
    gan = ConditionalGAN(data_shape=(8, 8, 1), latent_dim=4, num_classes=10, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    gan.save(out / "model.keras")
    write_json(out / "metrics.json", {"model": "gan", "dataset": "digits"})
    return out


def test_evaluate_conditional_gan_reuses_the_cache(vae_run, gan_run, home):
    result = _evaluate(gan_run, home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training the feature classifier" not in result.stdout  # cached by vae_run
    evaluation = json.loads((gan_run / "evaluation.json").read_text())
    assert evaluation["model"] == "ConditionalGAN" and "likelihood" not in evaluation
    assert evaluation["samples"]["protocol"]["generated_labels"] == "balanced"
    assert 0 <= evaluation["samples"]["conditional_accuracy"] <= 1
    assert evaluation["images_written"] == ["samples.png"]
    grid = mpimg.imread(gan_run / "samples.png")
    assert grid.shape[0] > grid.shape[1] * 0.7  # ten rows of ten samples


def test_errors_exit_2_without_traceback(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    assert "a folder holding model.keras, or a .keras file" in capsys.readouterr().err
    (tmp_path / "model.keras").write_text("")
    (tmp_path / "metrics.json").write_text("{}")
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    assert "pass --dataset NAME" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path / "model.keras")]) == 2
    assert "pass --dataset NAME" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path), "--dataset", "mine.npz"]) == 2
    assert "pass npz:mine.npz" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("")
    assert cli.main(["evaluate", str(tmp_path / "notes.txt")]) == 2
    assert "not a .keras model" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path), "--num-samples", "0"]) == 2


def test_evaluate_a_bare_keras_file(vae_run, home, tmp_path, monkeypatch):
    """A .keras file outside a run folder (e.g. an example's output), --dataset."""
    _, out = vae_run
    model = tmp_path / "example" / "my_vae.keras"
    model.parent.mkdir()
    model.write_bytes((out / "model.keras").read_bytes())
    twin = model.with_name("snapshot.keras")  # a second file in the same folder
    twin.write_bytes(model.read_bytes())
    result = _evaluate(model, home, "--dataset", "digits")
    assert result.returncode == 0, result.stderr[-3000:]
    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(home))
    assert cli.main([*EVALUATE, str(twin), "--dataset", "digits"]) == 0
    assert sorted(p.name for p in model.parent.iterdir()) == [
        "my_vae", "my_vae.keras", "snapshot", "snapshot.keras"
    ]  # each file's results in a folder of its own
    evaluation = json.loads((model.parent / "my_vae" / "evaluation.json").read_text())
    assert evaluation["dataset"] == "digits" and evaluation["model"] == "VAE"
    # 80 samples: KID subsets of 40 differ from one another, so the spread is real
    assert evaluation["samples"]["kid_std"] > 0
    assert "samples.png" in evaluation["images_written"]


def test_help_lists_the_options(capsys):
    assert cli.main(["evaluate", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("RUN_DIR", "--num-samples", "--iwae-samples", "--seed"):
        assert option in text
    args = cli.build_parser().parse_args(["evaluate", "run"])
    assert (args.num_samples, args.iwae_samples, args.seed) == (2000, 1000, 0)
