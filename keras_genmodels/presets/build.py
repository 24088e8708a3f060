"""`python -m keras_genmodels.presets build`: train, evaluate and write the presets.

Each preset is built from its family's `registry.Preset` recipe, exactly as a user
would: `keras-genmodels train <recipe> --output-dir RUN` (fixed seed, offline
data), then `keras-genmodels evaluate RUN`. The run's model is saved again
without optimizer state as `<name>/model.keras`, exported as the SavedModel
`<name>/1/`, re-measured at a small sample count (`checks.remeasure`), and
described in `<name>/preset.json` (with the SHA-256 of every file) and the model
card `<name>/README.md`. The folder is assembled in a hidden temporary sibling and
renamed into place only when complete; `models.config` is then rewritten to list
every preset of the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import uuid
from typing import Any

from keras_genmodels import __version__
from keras_genmodels.presets import MODEL_FILE, PRESET_FILE, card, checks, recipes

SERVING_ROOT = "/models"  # where TF Serving's container sees the presets folder


def file_digests(folder: pathlib.Path) -> dict[str, dict[str, Any]]:
    """`{relative path: {"sha256", "bytes"}}` of the files of a preset folder.

    The card and `preset.json` (which holds these digests) are left out.
    """
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in (PRESET_FILE, card.CARD_FILE):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[relative] = {"sha256": digest, "bytes": path.stat().st_size}
    return found


def _cli(arguments: list[str], verbose: int) -> None:
    command = [sys.executable, "-m", "keras_genmodels", *arguments]
    if verbose:
        print("$ keras-genmodels " + " ".join(arguments), flush=True)
    done = subprocess.run(
        command, capture_output=not verbose, text=True, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or "")[-3000:]
        raise RuntimeError(f"`keras-genmodels {' '.join(arguments)}` failed.\n{tail}")


def check_run(run: pathlib.Path, recipe) -> None:
    """Raises ValueError unless the run folder was trained by `recipe`'s command.

    The run's recorded arguments (metrics.json) must equal those the recipe's
    command parses to, the output folder and verbosity aside.
    """
    from keras_genmodels.cli import build_parser

    metrics = run / "metrics.json"
    if not metrics.is_file():
        raise ValueError(f"run {str(run)!r} has no metrics.json: not a finished run.")
    recorded = json.loads(metrics.read_text())["arguments"]
    parsed = vars(build_parser().parse_args(["train", *recipe.train]))
    ignored = {"output_dir", "verbose", "handler"}
    differ = sorted(
        key
        for key in (set(parsed) | set(recorded)) - ignored
        if parsed.get(key) != recorded.get(key)
    )
    if differ:
        raise ValueError(
            f"run {str(run)!r} was not trained by the recipe of {recipe.name!r} "
            f"(`keras-genmodels train {' '.join(recipe.train)}`): "
            + ", ".join(
                f"{k}={recorded.get(k)!r}, not {parsed.get(k)!r}" for k in differ
            )
        )


def build_preset(
    name: str,
    output_dir: str | os.PathLike = "saved_models",
    verbose: int = 1,
    run_dir: str | os.PathLike | None = None,
) -> pathlib.Path:
    """Trains, evaluates and writes preset `name` into `output_dir/name/`.

    Args:
        name: str. A recipe's name (see `keras_genmodels.presets.recipes()`).
        output_dir: str or path-like. The presets folder. Defaults to
            "saved_models".
        verbose: int. 1 prints the commands and their output. Defaults to 1.
        run_dir: str, path-like or None. A finished run of the recipe's exact
            command to use instead of training (checked by `check_run`).
            Defaults to None.

    Returns:
        The preset's folder. An existing one is replaced only once the new one is
        complete.
    """
    available = recipes()
    if name not in available:
        raise ValueError(
            f"Unknown preset {name!r}; the recipes are: {', '.join(available)}."
        )
    family, recipe = available[name]
    output = pathlib.Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    stage = output / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix=f"preset-{name}-") as work:
        run = pathlib.Path(work) / "run"
        if run_dir is None:
            train = ["train", *recipe.train, "--output-dir", str(run), "--verbose"]
            _cli([*train, "0"], verbose)
        else:
            check_run(pathlib.Path(run_dir), recipe)
            shutil.copytree(run_dir, run)
        _cli(["evaluate", str(run), *recipe.evaluate], verbose)
        metrics = json.loads((run / "metrics.json").read_text())
        evaluation = json.loads((run / "evaluation.json").read_text())
        try:
            info = _assemble(stage, run, family, recipe, metrics, evaluation)
            (stage / PRESET_FILE).write_text(json.dumps(info, indent=1) + "\n")
            (stage / card.CARD_FILE).write_text(card.model_card(info))
            _replace(stage, output / name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    write_models_config(output)
    return output / name


def _assemble(stage, run, family, recipe, metrics, evaluation) -> dict[str, Any]:
    """Writes model.keras and the SavedModel into `stage`; returns preset.json."""
    import keras
    import tensorflow as tf

    from keras_genmodels import load_model
    from keras_genmodels.export import export_saved_model

    model = load_model(run / "model.keras", compile=False)
    _drop_optimizers(model)
    stage.mkdir()
    model.save(stage / MODEL_FILE)  # not compiled: no optimizer state
    export_saved_model(model, stage, version=1)
    quick = checks.remeasure(model, metrics["dataset"])
    card_metrics = {k: v for k, v in evaluation.items() if isinstance(v, dict)}
    card_metrics.pop("versions", None)
    return {
        "name": recipe.name,
        "summary": recipe.summary,
        "family": family.name,
        "class": type(model).__name__,
        "data_shape": list(model.data_shape),
        "dataset": metrics["dataset"],
        "data_licence": recipe.data_licence,
        "parameters": int(sum(int(v.numpy().size) for v in model.weights)),
        "build": {
            "command": ["keras-genmodels", "train", *recipe.train],
            "evaluate": ["keras-genmodels", "evaluate", "RUN", *recipe.evaluate],
            "preset_command": [
                "python", "-m", "keras_genmodels.presets", "build", recipe.name
            ],
            "epochs": metrics["epochs"],
            "train_seconds": round(metrics["train_seconds"], 1),
            "dtype_policy": metrics.get("dtype_policy"),
            "versions": {
                "keras_genmodels": __version__,
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
            },
        },
        "run_metrics": {
            k: v for k, v in metrics.items() if k.startswith(("test_", "final"))
        },
        "metrics": card_metrics,
        "quick_check": {
            "num_samples": checks.QUICK_SAMPLES,
            "iwae_samples": checks.QUICK_IWAE,
            "measured": quick,
        },
        "files": file_digests(stage),
    }


def _drop_optimizers(model) -> None:
    """Uncompiles the nested models (e.g. a VQ-VAE's PixelCNN prior, compiled by
    `fit_prior`): `load_model(compile=False)` leaves them compiled, and a saved
    nested optimizer would double their weights in the preset's `.keras` file."""
    import keras

    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.Model) and getattr(layer, "compiled", False):
            layer.optimizer = None
            layer.compiled = False
            layer._compile_config = None  # what Keras serialises as compile_config


def _replace(stage: pathlib.Path, final: pathlib.Path) -> None:
    """Renames `stage` to `final`, an existing `final` moved aside first."""
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    try:
        stage.rename(final)
    except BaseException:
        if old.exists():
            old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def models_config(names, root: str = SERVING_ROOT) -> str:
    """TF Serving's `--model_config_file` text listing the presets `names`."""
    entries = "".join(
        "  config {\n"
        f'    name: "{name}"\n'
        f'    base_path: "{root}/{name}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        for name in names
    )
    return (
        "# TF Serving model config of the presets (ModelServerConfig, text format).\n"
        "# Serve them all: mount this folder at /models, e.g.\n"
        "#   docker run -p 8500:8500 -p 8501:8501 -v \"$PWD/saved_models:/models\" "
        "tensorflow/serving --model_config_file=/models/models.config\n"
        "# Written by python -m keras_genmodels.presets build.\n"
        f"model_config_list {{\n{entries}}}\n"
    )


def write_models_config(output_dir) -> pathlib.Path:
    """Rewrites `output_dir/models.config` for the presets found there."""
    from keras_genmodels.presets import list_presets

    path = pathlib.Path(output_dir) / "models.config"
    path.write_text(models_config(list_presets(output_dir)))
    return path
