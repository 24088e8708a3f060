"""Shared test helpers: serialization round trips, the environment of subprocesses."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def subprocess_env(**extra):
    """Environment for a child Python: this checkout importable, TF quiet, no GPU.

    `TF_CONFIG` is removed unless given in `extra`.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), env.get("PYTHONPATH")])
    )
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def assert_config_round_trip(obj):
    """The config survives JSON and rebuilds an object with an identical config."""
    config = obj.get_config()
    rebuilt = type(obj).from_config(json.loads(json.dumps(config)))
    assert json.dumps(rebuilt.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    return rebuilt


def assert_saved_model_round_trip(model, tmp_path, outputs_fn, atol=0.0):
    """`.keras` save/load gives the same class and the same outputs."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    for before, after in zip(outputs_fn(model), outputs_fn(loaded), strict=True):
        np.testing.assert_allclose(np.asarray(after), np.asarray(before), atol=atol)
    return loaded


# Runs every signature of SavedModels with TensorFlow alone: the package and TFP
# are blocked, and the modules of theirs that got imported are reported.
_ISOLATED = """
import sys
sys.modules["keras_genmodels"] = None  # the package is installed (editable): block it
sys.modules["tensorflow_probability"] = None
import json
import numpy as np
import tensorflow as tf
try:
    import keras_genmodels
    blocked = False
except ImportError:
    blocked = True
paths, feeds = json.loads(sys.argv[1]), np.load(sys.argv[2])
outputs = {}
for model, path in paths.items():
    for name, function in tf.saved_model.load(path).signatures.items():
        prefix = f"{model}/{name}/"
        feed = {k[len(prefix):]: feeds[k] for k in feeds.files if k.startswith(prefix)}
        for key, value in function(**feed).items():
            outputs[prefix + key] = value.numpy()
np.savez(sys.argv[3], **outputs)
loaded = [
    m for m, v in sys.modules.items()
    if v is not None
    and m.split(".")[0] in ("keras_genmodels", "tensorflow_probability")
]
print(json.dumps({"blocked": blocked, "package_modules": loaded}))
"""


def run_signatures_in_isolation(paths, feeds, tmp_path):
    """Outputs `{"<model>/<signature>/<output>": array}` of every signature of the
    SavedModels `paths` (`{model: folder}`), fed `feeds` (`{"<model>/<signature>/
    <input>": array}`), in a child Python that cannot import keras_genmodels or TFP.
    """
    np.savez(tmp_path / "feeds.npz", **feeds)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            _ISOLATED,
            json.dumps({k: str(v) for k, v in paths.items()}),
        ]
        + [str(tmp_path / "feeds.npz"), str(tmp_path / "outputs.npz")],
        cwd=tmp_path,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"blocked": True, "package_modules": []}
    return dict(np.load(tmp_path / "outputs.npz"))
