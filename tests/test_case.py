"""Shared test helpers: serialization round trips, the environment of subprocesses."""

import json
import os
import pathlib

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
