"""Shared test helpers: serialization round trips for every public Keras object."""

import json

import keras
import numpy as np


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
