"""`train vqvae`, `evaluate`, `export` (SavedModel and ONNX decode) and `sample`."""

import json

import numpy as np
import onnxruntime
import pytest

from keras_genmodels.cli.main import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vqvae") / "run"
    code = main(
        ["train", "vqvae", "--dataset", "digits", "--epochs", "1", "--prior-epochs",
         "1", "--num-embeddings", "16", "--latent-dim", "4", "--batch-size", "128",
         "--verbose", "0", "--dtype-policy", "float32", "--output-dir", str(out)]
    )  # fmt: skip
    assert code == 0
    return out


def test_train_writes_the_run_folder(run, capsys):
    names = set(p.name for p in run.iterdir())
    expected = {"model.keras", "metrics.json", "samples.png", "reconstructions.png"}
    assert expected | {"codebook_usage.png", "history.json"} <= names
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert 0 < test["reconstruction_mse"] < 0.25
    assert 1 <= test["perplexity"] <= 16 and 0 < test["usage"] <= 1
    assert 0 <= test["prior_bits_per_code"] <= np.log2(16) + 1  # fit for 1 epoch
    assert metrics["dtype_policy"]["name"] == "float32"


def test_evaluate_adds_the_family_report(run, capsys):
    assert main(["evaluate", str(run), "--num-samples", "60", "--seed", "1"]) == 0
    line = capsys.readouterr().out
    assert "FID:" in line and "perplexity" in line and "bits/code" in line
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["family"] == "vqvae"
    assert evaluation["codes"]["num_embeddings"] == 16


def test_export_sample_and_onnx_decode(run, tmp_path, capsys):
    base = tmp_path / "saved" / "vqvae"
    assert main(["export", str(run), "--base-dir", str(base)]) == 0
    grid = tmp_path / "grid.png"
    assert main(["sample", str(base), "--num", "4", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 0
    onnx_dir = tmp_path / "onnx"
    code = main(["export", str(run), "--format", "onnx", "--base-dir", str(onnx_dir)])
    assert code == 0, capsys.readouterr().err
    from keras_genmodels import load_model

    model = load_model(run / "model.keras")
    codes = np.random.default_rng(0).integers(0, 16, (3, 2, 2)).astype("int32")
    session = onnxruntime.InferenceSession(str(onnx_dir / "decode.onnx"))
    name = session.get_inputs()[0].name
    (images,) = session.run(None, {name: codes})
    np.testing.assert_allclose(images, model.decode(codes), atol=1e-5)
