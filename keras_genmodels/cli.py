"""The `keras-genmodels` command line: train a model and write a run folder."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import pathlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from keras_genmodels import __version__
from keras_genmodels.io_utils import atomic_write

PROG = "keras-genmodels"
_BINARIZE = ("none", "static", "dynamic")
_LIKELIHOODS = ("bernoulli", "gaussian")


class CLIError(Exception):
    """A usage error found by the CLI itself; reported like argparse errors."""


# ---- argument types ---------------------------------------------------------------
def _number(kind: type, minimum: float, strict: bool) -> Callable[[str], Any]:
    """An argparse `type` accepting finite numbers >= minimum (> if `strict`)."""
    what = f"{'an integer' if kind is int else 'a number'} {'>' if strict else '>='}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not minimum <= value < math.inf or (strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"expected {what} {minimum:g}, got {text!r}"
            )
        return value

    return parse


_positive_int = _number(int, 1, strict=False)
_non_negative_int = _number(int, 0, strict=False)
_positive_float = _number(float, 0, strict=True)
_non_negative_float = _number(float, 0, strict=False)


# ---- parser -------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser: one subparser per command, then per model.

    Returns:
        The `argparse.ArgumentParser` of `keras-genmodels`; every leaf parser sets
        `handler`, a function `(args) -> exit code`.

    Example:

    >>> args = build_parser().parse_args(["train", "vae", "--epochs", "2"])
    >>> args.command, args.model, args.epochs
    ('train', 'vae', 2)
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Train and use variational autoencoders and GANs."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    train = commands.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model; writes the model, curves, images and metrics.",
    )
    models = train.add_subparsers(
        title="models", dest="model", metavar="MODEL", required=True
    )
    _add_train_vae(models)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" after each option's help, except for None defaults."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def _add_train_vae(models: argparse._SubParsersAction) -> None:
    p = models.add_parser(
        "vae",
        help="variational autoencoder",
        formatter_class=_HelpFormatter,
        description="Train a VAE, then report the test negative ELBO and the IWAE "
        "estimate of log p(x), in nats per example.",
    )
    data = "datasets: mnist5k, digits, mnist, fashion_mnist, cifar10, npz:PATH (a .npz "
    data += "with x_train, x_test); --binarize static samples Bernoulli pixels once, "
    data += "dynamic resamples the train split every epoch"
    add = p.add_argument_group("data", data).add_argument
    add("--dataset", default="mnist5k", help="dataset name (see above)")
    add("--binarize", choices=_BINARIZE, default="none", help="pixel binarisation")
    add("--batch-size", type=_positive_int, default=128, help="examples per step")
    add = p.add_argument_group("model").add_argument
    add("--latent-dim", type=_positive_int, default=16, help="size of z")
    add("--likelihood", choices=_LIKELIHOODS, default="bernoulli", help="p(x|z) family")
    add("--beta", type=_non_negative_float, default=1.0, help="KL weight")
    add = p.add_argument_group("training").add_argument
    add("--epochs", type=_positive_int, default=30, help="passes over the train split")
    add("--learning-rate", type=_positive_float, default=1e-3, help="Adam step size")
    add("--kl-warmup-steps", type=_non_negative_int, default=0, help="KL 0->beta ramp")
    add("--seed", type=_non_negative_int, default=0, help="seeds data, weights, noise")
    add = p.add_argument_group("evaluation and output").add_argument
    add("--iwae-samples", type=_positive_int, default=1000, help="K for test log p(x)")
    add("--output-dir", help="new or empty folder (default: runs/vae-YYYYmmdd-HHMMSS)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras verbosity")
    p.set_defaults(handler=_train_vae)


# ---- run folder helpers -------------------------------------------------------------
def _check_output_dir(path: pathlib.Path) -> None:
    """Raises CLIError unless `path` is absent or an empty directory."""
    if path.exists() and not path.is_dir():
        raise CLIError(f"--output-dir {str(path)!r} exists and is not a directory.")
    if path.is_dir() and any(path.iterdir()):
        raise CLIError(
            f"--output-dir {str(path)!r} already exists and is not empty; choose a "
            "new folder (runs are never overwritten)."
        )


def _jsonable(value: Any) -> Any:
    """Floats as JSON numbers, non-finite ones as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy / tensor scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(path: pathlib.Path, data: dict) -> None:
    text = json.dumps(_jsonable(data), indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _test_images(test_ds: Any) -> Any:
    """Concatenates the images of a dataset yielding `(x, y)` or `x` into numpy."""
    import numpy as np

    batches = [e[0] if isinstance(e, tuple) else e for e in test_ds.as_numpy_iterator()]
    return np.concatenate(batches)


# ---- commands -----------------------------------------------------------------------
def _train_vae(args: argparse.Namespace) -> int:
    """`keras-genmodels train vae`: fit, evaluate, and write the run folder."""
    started = time.perf_counter()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(args.output_dir or f"runs/vae-{stamp}")
    _check_output_dir(out)

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_genmodels import VAE, plots
    from keras_genmodels.data import load_dataset

    keras.utils.set_random_seed(args.seed)
    binarize = None if args.binarize == "none" else args.binarize
    train_ds, test_ds = load_dataset(
        args.dataset, batch_size=args.batch_size, binarize=binarize, seed=args.seed
    )
    spec = train_ds.element_spec
    input_shape = tuple((spec[0] if isinstance(spec, tuple) else spec).shape[1:])
    vae = VAE(
        input_shape=input_shape,
        latent_dim=args.latent_dim,
        likelihood=args.likelihood,
        beta=args.beta,
        kl_warmup_steps=args.kl_warmup_steps,
        seed=args.seed,
    )
    vae.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    out.mkdir(parents=True, exist_ok=True)

    fit_started = time.perf_counter()
    history = vae.fit(  # the train pipeline reshuffles itself every epoch
        train_ds,
        validation_data=test_ds,
        epochs=args.epochs,
        shuffle=False,
        verbose=args.verbose,
    )
    train_seconds = time.perf_counter() - fit_started
    atomic_write(out / "model.keras", lambda tmp: vae.save(tmp))
    curves = _jsonable(history.history)
    _write_json(out / "history.json", curves)
    plots.save_history(history.history, out / "history.png")

    samples = keras.ops.convert_to_numpy(vae.sample(64, seed=args.seed))
    title = f"VAE samples ({args.dataset}, {len(curves['loss'])} epochs)"
    plots.save_image_grid(samples, out / "samples.png", ncols=8, title=title)
    x_test = _test_images(test_ds)
    shown = x_test[:16]
    reconstructions = keras.ops.convert_to_numpy(vae.reconstruct(shown))
    plots.save_reconstructions(shown, reconstructions, out / "reconstructions.png")

    test = vae.evaluate(test_ds, return_dict=True, verbose=args.verbose)
    log_px = np.asarray(
        vae.log_likelihood(
            x_test,
            num_samples=args.iwae_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=args.verbose,
        ),
        dtype=np.float64,
    )
    mean_log_px = float(np.mean(log_px))
    arguments = {k: v for k, v in vars(args).items() if k != "handler"}
    arguments["output_dir"] = str(out)
    metrics = {
        "model": "vae",
        "dataset": args.dataset,
        "units": "nats per example",
        "test_negative_elbo": test["loss"],
        **{f"test_{k}": v for k, v in test.items() if k != "loss"},
        "test_iwae_log_likelihood": mean_log_px,
        "test_iwae_log_likelihood_stderr": float(np.std(log_px) / len(log_px) ** 0.5),
        "test_iwae_nll": -mean_log_px,
        "iwae_samples": args.iwae_samples,
        "num_test_examples": int(len(x_test)),
        "epochs": len(curves["loss"]),
        "train_seconds": train_seconds,
        "wall_time_seconds": time.perf_counter() - started,
        "arguments": arguments,
        "versions": {
            "keras_genmodels": __version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        },
    }
    _write_json(out / "metrics.json", metrics)  # last: its presence marks a full run
    print(
        f"test negative ELBO: {float(test['loss']):.2f} nats | IWAE log p(x) "
        f"(K={args.iwae_samples}): {mean_log_px:.2f} nats | wrote {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-genmodels` with `argv` (default `sys.argv[1:]`).

    Errors in the input (bad arguments, unknown dataset, an output folder that is
    not empty, unreadable files) are printed as `keras-genmodels: error: ...`
    without a traceback and give exit code 2.

    Args:
        argv: sequence of str or None. The arguments after the program name.
            Defaults to None (the process arguments).

    Returns:
        The exit code: 0 on success, 2 on a usage or input error, 130 when
        interrupted.

    Example:

    >>> main(["train", "vae", "--epochs", "0"])  # refused: prints the usage error
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else int(bool(exit_.code))
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
