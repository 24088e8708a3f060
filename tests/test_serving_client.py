"""examples/serving_client.py: base folders, a one-line error without a server,
and --dry-run against the SavedModel in-process."""

import importlib.util
import json
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_genmodels import VAE
from keras_genmodels.export import export_saved_model
from tests.test_case import REPO, subprocess_env

SCRIPT = REPO / "examples" / "serving_client.py"


def _client_module():
    spec = importlib.util.spec_from_file_location("serving_client", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """saved_models/vae with versions 1 and 3 of a tiny VAE (3 is the newest)."""
    folder = tmp_path_factory.mktemp("serving") / "saved_models" / "vae"
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    export_saved_model(vae, folder, version=1)
    export_saved_model(vae, folder, version=3)
    return folder, vae


def _client(*args, cwd):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_base_folder_means_its_newest_version(base, tmp_path):
    folder, _ = base
    client = _client_module()
    assert client.version_folder(folder) == folder / "3"
    assert client.version_folder(folder / "1") == folder / "1"
    with pytest.raises(ValueError, match="keras-genmodels export RUN_DIR"):
        client.version_folder(tmp_path)


def test_without_a_server_the_error_is_one_line_with_the_fix(base):
    folder, _ = base
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    result = _client(
        str(folder),
        "--signature",
        "decode",
        "--rest-port",
        str(port),
        cwd=folder.parent.parent,
    )
    assert result.returncode == 2
    tensorflow_log = ("I0000", "W0000", "E0000", "WARNING: All log", "To enable")
    lines = result.stderr.strip().splitlines()
    (line,) = [text for text in lines if not text.startswith(tensorflow_log)]
    url = f"http://localhost:{port}/v1/models/vae:predict"
    assert line.startswith(
        f"serving_client.py: error: no TF Serving reachable at {url}"
    )
    assert f"--model_name=vae --model_base_path={folder.resolve()}" in line
    assert "--dry-run" in line and "Traceback" not in result.stderr


def test_dry_run_prints_the_body_and_the_in_process_reply(base):
    folder, vae = base
    result = _client(str(folder), "--signature", "decode", "--dry-run", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    post, body, where, reply, *summary = result.stdout.splitlines()
    assert post == "POST http://localhost:8501/v1/models/vae:predict"
    body, reply = json.loads(body), json.loads(reply)
    assert body["signature_name"] == "decode" and set(body["inputs"]) == {"z"}
    assert where == f"response of {folder / '3'}, run in-process:"
    z = np.asarray(body["inputs"]["z"], "float32")
    expected = keras.ops.convert_to_numpy(vae.decode(z))
    np.testing.assert_allclose(reply["outputs"]["x_mean"], expected, atol=1e-6)
    assert summary == [
        f"x_mean: shape {expected.shape}, range "
        f"[{expected.min():.3f}, {expected.max():.3f}]"
    ]
