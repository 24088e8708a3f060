"""The model card of a preset: `<name>/README.md`, written from its preset.json."""

from __future__ import annotations

from typing import Any

CARD_FILE = "README.md"


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _metric_rows(info: dict[str, Any]) -> list[str]:
    rows = []
    samples = info["metrics"].get("samples", {})
    protocol = samples.get("protocol", {})
    for key in ("fid", "kid_mean", "precision", "recall"):
        if key in samples:
            rows.append(f"| {key} | {_number(samples[key])} |")
    coverage = samples.get("mode_coverage")
    if coverage:
        rows.append(
            f"| classes covered | {coverage['num_covered']} / "
            f"{coverage['num_classes']} |"
        )
    if "conditional_accuracy" in samples:
        rows.append(
            f"| conditional accuracy | {_number(samples['conditional_accuracy'])} |"
        )
    for section, values in info["metrics"].items():
        if section == "samples":
            continue
        for key, value in values.items():
            if isinstance(value, float | int) and not isinstance(value, bool):
                rows.append(f"| {section}.{key} | {_number(value)} |")
        if isinstance(values.get("protocol"), dict) and "K" in values["protocol"]:
            rows.append(f"| {section}: IWAE samples K | {values['protocol']['K']} |")
    for key, value in info.get("run_metrics", {}).items():
        if isinstance(value, float):
            rows.append(f"| training run: {key} | {_number(value)} |")
    if protocol:
        extractor = protocol.get("extractor") or {}
        described = (
            f"{protocol['num_generated']} generated vs {protocol['num_real']} "
            f"{protocol['real_split']} images, seed {protocol['seed']}, KID over "
            f"{protocol['kid_num_subsets']} subsets of {protocol['kid_subset_size']}; "
            f"features: {extractor.get('name', '?')}"
        )
        if "test_accuracy" in extractor:
            described += f" (test accuracy {extractor['test_accuracy']:.3f})"
        rows.append(f"| sample-metric protocol | {described} |")
    return rows


def model_card(info: dict[str, Any]) -> str:
    """The Markdown card of the preset described by `info` (its preset.json)."""
    build = info["build"]
    size = sum(entry["bytes"] for entry in info["files"].values())
    command = " ".join(build["command"])
    name = info["name"]
    lines = [
        f"# {name}",
        "",
        f"{info['summary']}. A `{info['class']}` ({info['family']} family) with "
        f"{info['parameters']:,} weights, trained on `{info['dataset']}` "
        f"(examples of shape {tuple(info['data_shape'])}, values in [0, 1]) for "
        f"{build['epochs']} epoch{'s' * (build['epochs'] != 1)} in "
        f"{build['train_seconds']:.0f} s on the build "
        "machine.",
        "",
        "## Use",
        "",
        "```python",
        "import keras_genmodels",
        "",
        f'model = keras_genmodels.{info["class"]}.from_preset("{name}")',
        "```",
        "",
        f"`keras-genmodels sample --preset {name} --out grid.png` draws a grid "
        f"from the SavedModel; TF Serving serves `saved_models/{name}` (its "
        "newest version folder) or every preset through `saved_models/models.config`.",
        "",
        "## Files",
        "",
        "| file | bytes |",
        "| --- | --- |",
        *(f"| `{p}` | {e['bytes']:,} |" for p, e in info["files"].items()),
        f"| total | {size:,} ({size / 1e6:.1f} MB) |",
        "",
        "`model.keras` holds weights without optimizer state: `from_preset` compiles "
        "with the family's default optimizers. `1/` is the same model as a "
        "SavedModel (the package's atomic export); `preset.json` records these "
        "files' SHA-256 digests, the metrics below and the versions used.",
        "",
        "## Metrics",
        "",
        "Measured by `keras-genmodels evaluate` on the trained run (held-out split "
        "for the family's numbers; generated vs training images for the sample "
        "metrics, in the package's classifier features of the dataset):",
        "",
        "| metric | value |",
        "| --- | --- |",
        *_metric_rows(info),
        "",
        f"The test suite re-measures them with {info['quick_check']['num_samples']} "
        "samples (KID, classes covered) and the whole test split (the family's "
        "numbers); see `keras_genmodels/presets/checks.py` for the tolerances.",
        "",
        "## Build",
        "",
        "```bash",
        " ".join(build["preset_command"]),
        "```",
        "",
        f"runs `{command}`, then `{' '.join(build['evaluate'])}`, with "
        f"keras_genmodels {build['versions']['keras_genmodels']}, Keras "
        f"{build['versions']['keras']}, TensorFlow {build['versions']['tensorflow']} "
        f"(dtype policy {(build.get('dtype_policy') or {}).get('name', 'float32')}). "
        "Training on another machine gives a model of the same quality, not the "
        "same bytes. A larger model: run the train command with more epochs or "
        "wider networks (see `keras-genmodels train "
        f"{build['command'][2]} --help`), then `keras-genmodels export RUN`.",
        "",
        "## Data and licence",
        "",
        info["data_licence"],
        "",
    ]
    return "\n".join(lines)
