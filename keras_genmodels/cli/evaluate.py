"""`keras-genmodels evaluate RUN_DIR`: sample-quality and likelihood of a saved run."""

from __future__ import annotations

import argparse
import json
import pathlib
import time

from keras_genmodels import __version__
from keras_genmodels.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `evaluate` to the top-level `commands`."""
    p = commands.add_parser(
        "evaluate",
        help="evaluate a run folder (FID, KID, precision/recall, IWAE)",
        formatter_class=common.HelpFormatter,
        description="Evaluate the model of a run folder written by `train`: FID, "
        "KID, precision/recall and mode coverage of its samples in the features of "
        "a small classifier trained (once, then cached under $KERAS_GENMODELS_HOME "
        "or ~/.keras_genmodels) on the run's dataset, plus the model family's own "
        "numbers (for a VAE the test negative ELBO, IWAE NLL and reconstruction "
        "error). Writes "
        "evaluation.json and any missing sample/reconstruction images into the "
        "run folder (for a .keras file, into a folder named after it beside it, "
        "e.g. snapshots/epoch-0005/).",
    )
    add = p.add_argument
    add(
        "run_dir",
        metavar="RUN_DIR_OR_MODEL",
        help="a run folder of `train`, a folder with model.keras (e.g. an "
        "example's --output-dir), or a .keras file",
    )
    add(
        "--dataset",
        default=None,
        help="the dataset the model was trained on (default: the run's, from its "
        "metrics.json; needed for other folders and .keras files)",
    )
    add("--num-samples", type=common.positive_int, default=2000, help="generated")
    add("--iwae-samples", type=common.positive_int, default=1000, help="K of IWAE")
    add("--seed", type=common.non_negative_int, default=0, help="sampling seed")
    add(
        "--features",
        choices=("auto", "classifier", "inception"),
        default="auto",
        help="feature space: the cached classifier for labelled grey sets up to "
        "64x64, InceptionV3 otherwise (auto)",
    )
    add(
        "--inception-weights",
        default=None,
        help="a local InceptionV3 weights file (default: ImageNet, downloaded once)",
    )
    p.set_defaults(handler=_evaluate)


def _read_run(source: pathlib.Path, dataset: str | None):
    """Returns `(model file, folder, dataset, binarize, data options)` of the source.

    The data options are the folder/TFRecord loader options the run was trained
    with (from its metrics.json), so the real images are read the same way.

    Raises CLIError naming what is missing and how to supply it.
    """
    if not source.exists():
        raise common.CLIError(f"RUN_DIR_OR_MODEL {str(source)!r} does not exist.")
    if source.is_file():
        if source.suffix != ".keras":
            raise common.CLIError(
                f"{str(source)!r} is a file but not a .keras model; pass a run "
                "folder or a .keras file."
            )
        # Each file its own folder: snapshots side by side keep their results.
        model_file, folder = source, source.parent / source.stem
    else:
        model_file, folder = source / "model.keras", source
        if not model_file.is_file():
            raise common.CLIError(
                f"{str(model_file)!r} not found: pass a run folder written by "
                "`keras-genmodels train`, a folder holding model.keras, or a "
                ".keras file."
            )
    run = {}
    metrics = folder / "metrics.json"
    if source.is_dir() and metrics.is_file():
        try:
            run = json.loads(metrics.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise common.CLIError(f"{str(metrics)!r}: {err}") from err
        if not isinstance(run, dict):
            raise common.CLIError(f"{str(metrics)!r} is not a JSON object.")
    dataset = dataset or run.get("dataset")
    if not isinstance(dataset, str):
        raise common.CLIError(
            f"{str(source)!r} does not say which dataset the model was trained on "
            '(no metrics.json with a "dataset" entry); pass --dataset NAME.'
        )
    common.check_dataset_name(dataset)
    arguments = run.get("arguments") or {}
    binarize = arguments.get("binarize")
    binarize = None if binarize in (None, "none") else binarize
    options = {}
    if dataset.startswith(("folder:", "tfrecord:")):
        crop = arguments.get("crop", "center")
        options = dict(
            crop=None if crop == "none" else crop,
            test_fraction=arguments.get("test_fraction", 0.1),
            skip_invalid=arguments.get("skip_invalid", False),
        )
    return model_file, folder, dataset, binarize, options


def _pictures(model, run_dir: pathlib.Path, dataset, binarize, seed, options) -> list:
    """Writes samples.png when missing, then the family's own pictures."""

    from keras_genmodels import plots
    from keras_genmodels.data import load_arrays
    from keras_genmodels.registry import family_of

    family = family_of(model)
    written = []
    if not (run_dir / "samples.png").exists():
        images, labels = family.samples(model, 64, seed=seed)
        columns, row_labels = 8, None
        title = f"{type(model).__name__} samples ({dataset})"
        if labels is not None:  # a conditional model: ten per class, one row each
            count = 10 * len(set(labels.tolist()))
            images, labels = family.samples(model, count, seed=seed)
            images, columns, classes = plots.arrange_by_label(images, labels)
            row_labels = [f"class {c}" for c in classes]
            title = f"one row per class ({dataset})"
        plots.save_image_grid(
            images, run_dir / "samples.png", columns, title=title, row_labels=row_labels
        )
        written.append("samples.png")
    if options:  # a folder's images at the model's size
        height, width, channels = model.data_shape
        options = dict(options, image_size=(height, width), channels=channels)
    test = load_arrays(dataset, binarize=binarize, **options)
    written += family.pictures(model, run_dir, test.x_test, test.y_test, seed)
    return written


def _evaluate(args: argparse.Namespace) -> int:
    """`keras-genmodels evaluate`: load the run, evaluate, write evaluation.json."""
    started = time.perf_counter()
    model_file, run_dir, dataset, binarize, options = _read_run(
        pathlib.Path(args.run_dir), args.dataset
    )
    import keras

    from keras_genmodels import load_model
    from keras_genmodels.evaluation import classifier_path, evaluate_generator
    from keras_genmodels.registry import family_of

    model = load_model(model_file)
    try:
        family = family_of(model)
    except TypeError as err:
        raise common.CLIError(f"{str(model_file)!r}: {err}") from err
    if not options and args.features != "inception":
        cache = classifier_path(dataset)
        if not cache.with_suffix(".json").is_file():
            print(f"training the feature classifier for {dataset} (cached at {cache})")
    evaluation = {
        "model": type(model).__name__,
        "family": family.name,
        "dataset": dataset,
        "samples": evaluate_generator(
            model,
            dataset,
            args.num_samples,
            seed=args.seed,
            features=args.features,
            weights=args.inception_weights,
            verbose=1,
            **options,
        ),
    }
    data_options = dict(options)
    if options:
        height, width, channels = model.data_shape
        data_options.update(image_size=(height, width), channels=channels)
    report = family.report(
        model,
        dataset,
        iwae_samples=args.iwae_samples,
        seed=args.seed,
        binarize=binarize,
        **data_options,
    )  # fmt: skip
    summary = report.pop("summary", None)
    evaluation.update(report)
    run_dir.mkdir(exist_ok=True)
    evaluation["images_written"] = _pictures(
        model, run_dir, dataset, binarize, args.seed, options
    )
    evaluation["wall_time_seconds"] = time.perf_counter() - started
    evaluation["versions"] = {
        "keras_genmodels": __version__,
        "keras": keras.__version__,
    }
    common.write_json(run_dir / "evaluation.json", evaluation)
    samples = evaluation["samples"]
    line = (
        f"FID: {samples['fid']:.3f} | KID: {samples['kid_mean']:.4f} "
        f"+- {samples['kid_std']:.4f} | precision/recall: "
        f"{samples['precision']:.2f}/{samples['recall']:.2f}"
    )
    coverage = samples.get("mode_coverage")
    if coverage:
        line += f" | modes: {coverage['num_covered']}/{coverage['num_classes']}"
    if summary:
        line += f" | {summary}"
    print(f"{line} | wrote {run_dir / 'evaluation.json'}")
    return 0
