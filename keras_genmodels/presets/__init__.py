"""Pretrained presets: list them, load one, find the SavedModel TF Serving serves.

A preset is a folder `<presets dir>/<name>/` written by `python -m
keras_genmodels.presets build` (see `keras_genmodels.presets.build`):

    <name>/model.keras      the model without optimizer state
    <name>/1/               its SavedModel, in TF Serving's layout
    <name>/preset.json      family, class, build command, metrics, file checksums
    <name>/README.md        the model card

The presets directory is, in this order: the `directory` argument,
`$KERAS_GENMODELS_PRESETS`, or the `saved_models/` folder of the repository the
package runs from (a clone, or an editable install). The recipes themselves live
with their families (`registry.Preset` in each `family.py`). Importing this
module does not import TensorFlow.

Example:

>>> import keras_genmodels
>>> "vae_mnist5k" in keras_genmodels.list_presets()
True
>>> vae = keras_genmodels.VAE.from_preset("vae_mnist5k")
>>> tuple(vae.sample(2, seed=0).shape)
(2, 28, 28, 1)
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

from keras_genmodels import registry

PRESETS_ENV = "KERAS_GENMODELS_PRESETS"
PRESET_FILE = "preset.json"
MODEL_FILE = "model.keras"
_REPOSITORY_DIR = pathlib.Path(__file__).resolve().parents[2] / "saved_models"


def presets_dir(directory: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder holding the presets (see the module docstring).

    Raises:
        FileNotFoundError: the folder does not exist, naming the ways to give one.
    """
    chosen = directory or os.environ.get(PRESETS_ENV) or _REPOSITORY_DIR
    path = pathlib.Path(chosen)
    if not path.is_dir():
        where = (
            "the `directory` argument"
            if directory
            else f"${PRESETS_ENV}"
            if os.environ.get(PRESETS_ENV)
            else "the repository's saved_models/ (the package is not running from "
            "a clone of the repository)"
        )
        raise FileNotFoundError(
            f"No presets folder at {str(path)!r} (from {where}). Pass directory=, "
            f"or set ${PRESETS_ENV} to a folder holding preset folders (a clone's "
            "saved_models/), or build them: python -m keras_genmodels.presets build "
            "--output-dir DIR."
        )
    return path


def preset_info(name: str, directory=None) -> dict[str, Any]:
    """The `preset.json` of preset `name`, plus its `path`.

    Raises:
        ValueError: no preset of that name; the message lists the presets there.
    """
    folder = presets_dir(directory)
    path = folder / str(name) / PRESET_FILE
    if not path.is_file():
        available = ", ".join(list_presets(folder)) or "none"
        raise ValueError(
            f"Unknown preset {name!r} in {str(folder)!r}. Presets there: "
            f"{available}."
        )
    info = json.loads(path.read_text())
    info["path"] = str(path.parent)
    return info


def list_presets(directory=None) -> dict[str, str]:
    """`{name: summary}` of the presets in the presets folder, sorted by name.

    Args:
        directory: str, path-like or None. The presets folder (see the module
            docstring). Defaults to None.
    """
    folder = presets_dir(directory)
    found = {}
    for child in sorted(folder.iterdir()):
        if (child / PRESET_FILE).is_file():
            found[child.name] = json.loads((child / PRESET_FILE).read_text())[
                "summary"
            ]
    return found


def saved_model_dir(name: str, directory=None) -> pathlib.Path:
    """The newest SavedModel version of preset `name` (what TF Serving serves)."""
    from keras_genmodels.export import list_versions

    base = pathlib.Path(preset_info(name, directory)["path"])
    versions = list_versions(base)
    if not versions:
        raise FileNotFoundError(
            f"Preset {name!r} at {str(base)!r} has no SavedModel version folder; "
            "rebuild it with python -m keras_genmodels.presets build."
        )
    return versions[max(versions)]


def load_preset(name: str, directory=None, cls=None, compile: bool = True):
    """Loads preset `name` (`safe_mode`), compiled with its family's defaults.

    Args:
        name: str. A preset name, see `list_presets()`.
        directory: str, path-like or None. The presets folder. Defaults to None.
        cls: class or None. The class the caller expects (`VAE.from_preset`
            passes `VAE`); a preset of another class raises TypeError. Defaults
            to None (any).
        compile: bool. Compile with the family's default optimizers (a preset
            carries weights, not optimizer state). Defaults to True.

    Returns:
        The model.
    """
    info = preset_info(name, directory)
    from keras_genmodels import load_model

    model = load_model(
        pathlib.Path(info["path"]) / MODEL_FILE, compile=False, safe_mode=True
    )
    if cls is not None and not isinstance(model, cls):
        raise TypeError(
            f"Preset {name!r} is a {type(model).__name__}, not a {cls.__name__}; "
            f"load it with {type(model).__name__}.from_preset({name!r}) or "
            f"keras_genmodels.load_preset({name!r})."
        )
    if compile:
        model.compile()
    return model


def recipes() -> dict[str, tuple[registry.Family, registry.Preset]]:
    """`{name: (family, recipe)}` of every registered family's presets."""
    found = {}
    for family in registry.families().values():
        for preset in family.presets:
            if preset.name in found:
                raise ValueError(f"Two families define the preset {preset.name!r}.")
            found[preset.name] = (family, preset)
    return found
