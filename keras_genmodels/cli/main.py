"""Entry point of `keras-genmodels`: the parser of every command, and `main`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keras_genmodels import __version__
from keras_genmodels.cli import common, evaluate, export, train
from keras_genmodels.cli.common import PROG, CLIError


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
    train.register(commands)
    evaluate.register(commands)
    export.register(commands)
    return parser


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
        common.quiet_tensorflow()
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    finally:  # a command run in-process leaves Keras's global dtype policy as it was
        previous = getattr(args, "previous_dtype_policy", None)
        if previous is not None:
            import keras

            keras.mixed_precision.set_dtype_policy(previous)
