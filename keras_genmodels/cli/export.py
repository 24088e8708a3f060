"""`keras-genmodels export` and `sample`: ship a trained model, sample a SavedModel."""

from __future__ import annotations

import argparse
import json
import pathlib

from keras_genmodels.cli import common

_FORMATS = ("saved_model", "onnx")


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `export` and `sample` to the top-level `commands`."""
    p = commands.add_parser(
        "export",
        help="export a trained model for TF Serving (SavedModel) or ONNX",
        formatter_class=common.HelpFormatter,
        description="Export a trained model. saved_model writes BASE_DIR/<version>/ "
        "atomically (TF Serving's layout); onnx writes BASE_DIR/<endpoint>.onnx.",
    )
    add = p.add_argument
    add("source", metavar="RUN_DIR_OR_MODEL", help="a run folder or a .keras file")
    add("--format", choices=_FORMATS, default="saved_model", help="what to write")
    add(
        "--base-dir",
        help="the model's folder (default: saved_models/<name>, with <name> the run "
        "folder's name or the .keras file's stem)",
    )
    add(
        "--version",
        type=common.positive_int,
        help="saved_model version (default: next)",
    )
    add(
        "--endpoint",
        help="onnx: an endpoint the model's family converts (default: its first, "
        "e.g. decode for a VAE, generate for a GAN)",
    )
    add("--opset", type=common.positive_int, default=None, help="onnx opset (17)")
    add("--overwrite", action="store_true", help="replace an existing version/file")
    p.set_defaults(handler=_export)

    p = commands.add_parser(
        "sample",
        help="draw samples from an exported SavedModel into a PNG grid",
        formatter_class=common.HelpFormatter,
        description="Call the 'sample' signature of an exported SavedModel (only "
        "TensorFlow is needed) and save the images as a grid. A base folder means "
        "its highest version, as TF Serving would load.",
    )
    add = p.add_argument
    add(
        "saved_model_dir",
        metavar="SAVED_MODEL_DIR",
        nargs="?",
        help="version or base folder (or use --preset)",
    )
    add(
        "--preset",
        help="a pretrained preset's newest SavedModel instead of SAVED_MODEL_DIR "
        "(see python -m keras_genmodels.presets list)",
    )
    add(
        "--preset-dir",
        help="presets folder (default: $KERAS_GENMODELS_PRESETS, else the "
        "repository's saved_models/)",
    )
    add("--num", type=common.positive_int, default=64, help="number of samples")
    add("--seed", type=common.non_negative_int, default=0, help="same seed, same grid")
    add("--out", default="grid.png", help="PNG file to write")
    add("--overwrite", action="store_true", help="replace an existing --out file")
    add("--ncols", type=common.positive_int, help="tiles per row (default: square)")
    add(
        "--labels",
        type=common.non_negative_int,
        nargs="+",
        help="conditional GAN: class labels, repeated to --num (default: 0, 1, "
        "...); the grid then has one labelled row per class unless --ncols is given",
    )
    p.set_defaults(handler=_sample)


def _model_file(source: pathlib.Path) -> tuple[pathlib.Path, str]:
    """The `.keras` file of a run folder or file, and the model's name."""
    if source.is_dir():
        if not (source / "model.keras").is_file():
            raise common.CLIError(
                f"{str(source)!r} has no model.keras; pass a run folder written by "
                "`keras-genmodels train` or a .keras file."
            )
        return source / "model.keras", source.resolve().name
    if source.suffix != ".keras" or not source.is_file():
        raise common.CLIError(
            f"{str(source)!r} is neither a run folder nor an existing .keras file."
        )
    return source, source.stem


def _export(args: argparse.Namespace) -> int:
    """`keras-genmodels export`: load the model, write a SavedModel or ONNX file."""
    onnx = args.format == "onnx"
    if onnx and args.version is not None:
        raise common.CLIError("--version applies to --format saved_model only.")
    if not onnx and (args.endpoint is not None or args.opset is not None):
        raise common.CLIError("--endpoint and --opset apply to --format onnx only.")
    path, name = _model_file(pathlib.Path(args.source))
    base = pathlib.Path(args.base_dir or f"saved_models/{name}")

    from keras_genmodels import export, export_onnx, load_model

    try:
        model = load_model(path, compile=False)
    except TypeError as err:  # e.g. a class this package does not know
        raise common.CLIError(f"cannot load {str(path)!r}: {err}") from err
    try:
        if onnx:
            endpoint = args.endpoint or export_onnx.onnx_endpoints(model)[0]
            written = export_onnx.export_onnx(
                model,
                base / f"{endpoint}.onnx",
                endpoint=endpoint,
                opset=args.opset or export_onnx.DEFAULT_OPSET,
                overwrite=args.overwrite,
            )
        else:
            written = export.export_saved_model(
                model, base, version=args.version, overwrite=args.overwrite
            )
    except TypeError as err:  # not a model of this package
        raise common.CLIError(f"cannot export {str(path)!r}: {err}") from err
    except FileExistsError as err:
        other = "--base-dir" if onnx else "--version (default: the next free one)"
        raise common.CLIError(
            f"{str(err.filename)!r} exists; pass --overwrite to replace it, or "
            f"choose another {other}."
        ) from err
    print(f"wrote {written}")
    return 0


def _resolve_saved_model(folder: pathlib.Path) -> pathlib.Path:
    """The SavedModel folder to sample: `folder`, or its highest version."""
    if not folder.exists():
        raise common.CLIError(
            f"SAVED_MODEL_DIR {str(folder)!r} does not exist; export a trained model "
            "with `keras-genmodels export RUN_DIR` (it writes saved_models/<name>/)."
        )
    if (folder / "saved_model.pb").is_file():
        return folder
    from keras_genmodels.export import list_versions

    versions = list_versions(folder) if folder.is_dir() else {}
    if versions:  # a base folder (a preset's holds model.keras beside them)
        return versions[max(versions)]
    if folder.suffix == ".keras" or (folder / "model.keras").is_file():
        name = folder.stem if folder.suffix == ".keras" else folder.resolve().name
        what = "a .keras file" if folder.suffix == ".keras" else "a run folder"
        raise common.CLIError(
            f"{str(folder)!r} is {what}, not an export: run `keras-genmodels export "
            f"{folder}` first, then `keras-genmodels sample saved_models/{name}`."
        )
    raise common.CLIError(
        f"{str(folder)!r} is neither a SavedModel folder (with saved_model.pb) "
        "nor a base folder with numeric version folders; export a trained model "
        "with `keras-genmodels export RUN_DIR`."
    )


def _sample_source(args: argparse.Namespace) -> pathlib.Path:
    """The SavedModel `sample` reads: SAVED_MODEL_DIR's, or the preset's newest."""
    if (args.saved_model_dir is None) == (args.preset is None):
        raise common.CLIError(
            "pass either SAVED_MODEL_DIR or --preset NAME (got "
            + ("both" if args.preset else "neither")
            + ")."
        )
    if args.preset_dir is not None and args.preset is None:
        raise common.CLIError("--preset-dir applies with --preset only.")
    if args.preset is None:
        return _resolve_saved_model(pathlib.Path(args.saved_model_dir))
    from keras_genmodels import presets

    try:
        return presets.saved_model_dir(args.preset, args.preset_dir)
    except (ValueError, FileNotFoundError) as err:
        raise common.CLIError(f"--preset {args.preset!r}: {err}") from err


def _sample(args: argparse.Namespace) -> int:
    """`keras-genmodels sample`: the SavedModel's `sample` signature to a PNG."""
    folder = _sample_source(args)
    if pathlib.Path(args.out).exists() and not args.overwrite:
        raise common.CLIError(
            f"--out {args.out!r} exists; pass --overwrite to replace it, or choose "
            "another --out."
        )
    import numpy as np
    import tensorflow as tf

    from keras_genmodels import plots
    from keras_genmodels.export import METADATA_FILE

    signatures = tf.saved_model.load(str(folder)).signatures
    if "sample" not in signatures:
        raise common.CLIError(
            f"{str(folder)!r} has no 'sample' signature (found: "
            f"{', '.join(signatures)}); export it with `keras-genmodels export`."
        )
    sample = signatures["sample"]
    specs = sample.structured_input_signature[1]
    feed = {
        "num_samples": tf.constant(args.num, specs["num_samples"].dtype),
        "seed": tf.constant(args.seed, specs["seed"].dtype),
    }
    metadata_path = folder / METADATA_FILE
    metadata = json.loads(metadata_path.read_text()) if metadata_path.is_file() else {}
    classes = metadata.get("num_classes")
    if "labels" in specs:
        if args.labels is None and classes is None:
            raise common.CLIError(f"{str(folder)!r} is conditional: pass --labels.")
        labels = np.resize(np.asarray(args.labels or np.arange(classes)), args.num)
        if classes is not None and labels.max() >= classes:
            raise common.CLIError(
                f"--labels must lie in [0, {classes}); got {int(labels.max())}."
            )
        feed["labels"] = tf.constant(labels, specs["labels"].dtype)
    elif args.labels is not None:
        raise common.CLIError("--labels applies to conditional GAN exports only.")
    try:
        images = sample(**feed)["images"].numpy()
    except tf.errors.InvalidArgumentError as err:
        raise common.CLIError(f"the 'sample' signature refused: {err.message}") from err
    ncols, row_labels = args.ncols, None
    if (
        "labels" in feed
        and ncols is None
        and len(np.unique(feed["labels"].numpy())) > 1
    ):
        images, ncols, classes = plots.arrange_by_label(images, feed["labels"].numpy())
        row_labels = [f"class {c}" for c in classes]
    out = plots.save_image_grid(images, args.out, ncols=ncols, row_labels=row_labels)
    print(f"wrote {out} ({args.num} samples, seed {args.seed}, from {folder})")
    return 0
