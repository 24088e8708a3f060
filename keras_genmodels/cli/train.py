"""`keras-genmodels train <family>`: the options and run folder every family shares.

Each family adds its own verb (`train vae`, `train gan`, ...) from its `cli`
module through the family registry (`keras_genmodels.registry`): it calls
`add_common_options` for the shared options, then `start_run`, `fit_and_save`
and `run_metrics` in its handler. Nothing here imports TensorFlow at import
time, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import time
from typing import Any

from keras_genmodels import __version__, registry
from keras_genmodels.cli import common
from keras_genmodels.distribute import STRATEGIES
from keras_genmodels.io_utils import atomic_write
from keras_genmodels.precision import DTYPE_POLICIES

_BINARIZE = ("none", "static", "dynamic")
_DATA_HELP = (
    "datasets: mnist5k, digits, mnist, fashion_mnist, cifar10, npz:PATH (a .npz with "
    "x_train, x_test), folder:PATH (image files, one subfolder per class or none), "
    "tfrecord:GLOB (encoded images under 'image', optional int64 'label'); "
    "--binarize static samples Bernoulli pixels once, dynamic resamples the train "
    "split every epoch"
)


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `train` and its models to the top-level `commands`."""
    train = commands.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model; writes the model, curves, images and metrics.",
    )
    models = train.add_subparsers(
        title="models", dest="model", metavar="MODEL", required=True
    )
    for family in registry.families().values():
        if family.cli is not None:
            family.hook("cli")(models)


def add_common_options(parser, batch_size, epochs, learning_rate, latent_dim):
    """Options every family has; returns the "model" and "training" groups."""
    add = parser.add_argument_group("data", _DATA_HELP).add_argument
    add("--dataset", default="mnist5k", help="dataset name (see above)")
    add("--binarize", choices=_BINARIZE, default="none", help="pixel binarisation")
    add("--batch-size", type=common.positive_int, default=batch_size, help="per step")
    add(
        "--image-size",
        type=_image_size,
        default=None,
        help="folder:/tfrecord: images are resized to this, e.g. 64 or 64x48 "
        "(default: the first image's size)",
    )
    add(
        "--channels",
        type=int,
        choices=(1, 3, 4),
        default=None,
        help="1 grey, 3 RGB, 4 RGBA (alpha kept, premultiplied)",
    )
    add(
        "--background",
        type=_background,
        default=None,
        help="folder:/tfrecord: colour transparent pixels are composited over, a "
        "name or #rrggbb (default: white)",
    )
    add(
        "--crop",
        choices=("center", "pad", "none"),
        default="center",
        help="folder:/tfrecord: keep the aspect by a centre crop or padding",
    )
    add("--cache", default=None, help="folder:/tfrecord: 'memory' or a file prefix")
    add(
        "--test-fraction",
        type=common.non_negative_float,
        default=0.1,
        help="folder:/tfrecord: held-out share (by a hash of each file's path)",
    )
    add("--skip-invalid", action="store_true", help="skip unreadable image files")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--latent-dim", type=common.positive_int, default=latent_dim, help="size of z"
    )
    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--epochs", type=common.positive_int, default=epochs, help="passes over data")
    add(
        "--learning-rate",
        type=common.positive_float,
        default=learning_rate,
        help="Adam step size",
    )
    add("--seed", type=common.non_negative_int, default=0, help="seeds everything")
    add(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy (auto: mirrored over GPUs when several)",
    )
    add(
        "--devices",
        type=device_list,
        default=None,
        help="comma-separated devices for --strategy mirrored/one_device, e.g. "
        "/gpu:0,/gpu:1",
    )
    add(
        "--backup-dir",
        default=None,
        help="BackupAndRestore folder: a killed run restarted with the same "
        "arguments resumes from the last finished epoch",
    )
    add(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default="auto",
        help="Keras dtype policy: mixed_* compute in 16 bits with float32 weights; "
        "auto picks mixed_bfloat16 on CPUs with bf16 units or GPUs of compute "
        "capability >= 8.0, else float32 (the choice is written to metrics.json)",
    )
    add(
        "--steps-per-execution",
        type=common.positive_int,
        default=None,
        help="training steps per graph call (fewer Python round trips; callbacks "
        "and the progress bar update every N steps). Default: the model's (8)",
    )
    add(
        "--snapshot-every",
        type=common.positive_int,
        default=None,
        help="also save the model every N epochs to snapshots/epoch-NNNN.keras "
        "(evaluate each to pick an epoch; history.json has train_seconds per epoch)",
    )
    add(
        "--time-limit",
        type=common.positive_float,
        default=None,
        help="stop at the first epoch end after SECONDS of training (at most "
        "--epochs epochs; runs of different options then compare at equal time)",
    )
    add = parser.add_argument_group("output").add_argument
    add(
        "--export",
        action="store_true",
        help="also export a SavedModel to saved_models/<run folder name>/<version>",
    )
    add("--output-dir", help="new or empty folder (default: runs/<model>-<time>)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras verbosity")
    return model, training


def _image_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        size = tuple(int(part) for part in parts)
    except ValueError:
        size = ()
    if len(size) not in (1, 2) or min(size) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 64 or 64x48, got {text!r}"
        )
    return size * 2 if len(size) == 1 else size


def _background(text: str) -> str:
    from keras_genmodels.data.pixels import parse_background

    try:
        parse_background(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def device_list(text: str) -> list[str]:
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise argparse.ArgumentTypeError(f"expected device names, got {text!r}")
    return devices


# ---- a run: folder, data, artifacts -------------------------------------------------
def start_run(args) -> tuple[pathlib.Path, Any, Any, Any, Any]:
    """Checks the folder, seeds everything, loads the data, picks the strategy.

    Returns `(run folder, train pipeline, test pipeline, example shape,
    strategy)`; `args.dtype_policy_chosen` records the policy in use.
    """
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(args.output_dir or f"runs/{args.model}-{stamp}")
    common.check_output_dir(out)
    common.check_dataset_name(args.dataset)
    if args.time_limit is not None and args.strategy == "multi_worker":
        raise common.CLIError(
            f"--time-limit {args.time_limit:g} cannot be used with --strategy "
            "multi_worker: each worker's clock would stop it at a different "
            "epoch. Use --epochs, or a single-process strategy."
        )
    import keras

    from keras_genmodels.data import load_dataset
    from keras_genmodels.distribute import get_strategy
    from keras_genmodels.precision import resolve_dtype_policy

    keras.utils.set_random_seed(args.seed)
    policy, reason = resolve_dtype_policy(args.dtype_policy)
    args.dtype_policy_chosen = {"name": policy, "reason": reason}
    args.previous_dtype_policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    binarize = None if args.binarize == "none" else args.binarize
    options = {}
    if args.dataset.startswith(("folder:", "tfrecord:")):
        options = dict(
            image_size=args.image_size,
            channels=args.channels,
            background=args.background,
            crop=None if args.crop == "none" else args.crop,
            cache=args.cache,
            test_fraction=args.test_fraction,
            skip_invalid=args.skip_invalid,
        )
    datasets = load_dataset(
        args.dataset,
        batch_size=args.batch_size,
        binarize=binarize,
        seed=args.seed,
        **options,
    )
    train_ds, test_ds = datasets
    if test_ds is None:
        raise common.CLIError(
            f"--test-fraction {args.test_fraction:g} leaves no held-out images; "
            "training reports test numbers, so pass a fraction > 0."
        )
    args.dataset_info = getattr(datasets, "info", None)
    summary = args.dataset_info.summary() if args.dataset_info else ""
    if summary and args.verbose:
        print(summary)
    spec = train_ds.element_spec
    shape = tuple((spec[0] if isinstance(spec, tuple) else spec).shape[1:])
    strategy = get_strategy(args.strategy, args.devices)
    return out, train_ds, test_ds, shape, strategy


def compile_options(args) -> dict:
    """Keras compile options given on the command line (else the model's defaults)."""
    if args.steps_per_execution is None:
        return {}
    return {"steps_per_execution": args.steps_per_execution}


def fit_and_save(model, args, out, train_ds, test_ds):
    """Fits with the Keras progress bar, then saves the model and its curves.

    Returns `(history, seconds)`, or `(None, seconds)` on a multi-worker process
    that is not the chief: only the chief writes the run folder.
    """
    import keras

    from keras_genmodels import plots
    from keras_genmodels.callbacks import (
        NonFiniteLossError,
        Snapshots,
        TerminateOnNonFiniteLoss,
    )
    from keras_genmodels.distribute import is_chief

    chief = is_chief(model.distribute_strategy)
    every = getattr(args, "snapshot_every", None) if chief else None
    clock = Snapshots(out / "snapshots" if every else None, every, args.time_limit)
    callbacks = [clock, TerminateOnNonFiniteLoss()]
    if args.backup_dir:
        callbacks.append(
            keras.callbacks.BackupAndRestore(args.backup_dir, double_checkpoint=True)
        )
    started = time.perf_counter()
    with common.run_folder(out if chief else None):
        try:
            history = model.fit(  # the train pipeline reshuffles itself every epoch
                train_ds,
                validation_data=test_ds,
                epochs=args.epochs,
                shuffle=False,
                callbacks=callbacks,
                verbose=args.verbose,
            )
        except NonFiniteLossError as error:
            raise common.CLIError(str(error)) from error
        seconds = time.perf_counter() - started
        if not chief:
            return None, seconds
        atomic_write(out / "model.keras", lambda tmp: model.save(tmp))
    common.write_json(
        out / "history.json", {**history.history, "train_seconds": clock.seconds}
    )
    if getattr(args, "dataset_info", None) is not None:
        common.write_json(out / "dataset.json", args.dataset_info.to_dict())
    plots.save_history(history.history, out / "history.png")
    if args.export:
        from keras_genmodels.export import export_saved_model

        path = export_saved_model(model, pathlib.Path("saved_models") / out.name)
        args.exported_to = str(path)  # recorded in metrics.json
        if args.verbose:
            print(f"exported SavedModel: {path}")
    return history.history, seconds


def run_metrics(args, out, history, train_seconds, started, **values) -> dict:
    """metrics.json: the family's numbers, timings, arguments and versions."""
    import keras
    import tensorflow as tf

    internal = ("handler", "exported_to", "dataset_info", "dtype_policy_chosen")
    internal += ("previous_dtype_policy",)
    arguments = {k: v for k, v in vars(args).items() if k not in internal}
    arguments["output_dir"] = str(out)
    return {
        "model": args.model,
        "dataset": args.dataset,
        **values,
        **({"exported_to": args.exported_to} if "exported_to" in vars(args) else {}),
        "epochs": len(next(iter(history.values()))),
        "dtype_policy": getattr(args, "dtype_policy_chosen", None),
        "train_seconds": train_seconds,
        "wall_time_seconds": time.perf_counter() - started,
        "arguments": arguments,
        "versions": {
            "keras_genmodels": __version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        },
    }
