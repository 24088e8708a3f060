"""Pieces shared by the CLI commands: argument types, errors, run-folder helpers."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pathlib
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from keras_genmodels.io_utils import atomic_write

PROG = "keras-genmodels"


class CLIError(Exception):
    """A usage error found by the CLI itself; reported like argparse errors."""


@contextlib.contextmanager
def _stderr_to_buffer():
    """Sends file descriptor 2 (C++ logging included) to a buffer; yields a reader."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield lambda: (buffer.seek(0), buffer.read().decode(errors="replace"))[1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Imports TensorFlow without its start-up log lines, unless the user asked.

    TensorFlow's C++ runtime prints several lines (oneDNN, CUDA, CPU features)
    when it is imported and when it first looks for devices; most are written
    before its log level applies, and harmless graph-optimizer errors follow. Unless
    `TF_CPP_MIN_LOG_LEVEL` is set, this sets it to 3 (failures surface as Python
    exceptions) and imports TensorFlow with those lines held back; they
    are printed if the import fails. Set `TF_CPP_MIN_LOG_LEVEL=0` to see them.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    error, log = None, ""
    with _stderr_to_buffer() as captured:
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA's probe logs here
        except BaseException as err:  # shown with the lines held back
            error, log = err, captured()
    if error is not None:
        sys.stderr.write(log)
        raise error
    tf.get_logger().setLevel("ERROR")


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


positive_int = _number(int, 1, strict=False)
non_negative_int = _number(int, 0, strict=False)
positive_float = _number(float, 0, strict=True)
non_negative_float = _number(float, 0, strict=False)


def unit_interval_open(text: str) -> float:
    """An argparse `type` for a number strictly between 0 and 1."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" after each option's help, except for None defaults."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def check_output_dir(path: pathlib.Path) -> None:
    """Raises CLIError unless `path` is absent or an empty directory."""
    if path.exists() and not path.is_dir():
        raise CLIError(f"--output-dir {str(path)!r} exists and is not a directory.")
    if path.is_dir() and any(path.iterdir()):
        raise CLIError(
            f"--output-dir {str(path)!r} already exists and is not empty; choose a "
            "new folder (runs are never overwritten)."
        )


def check_dataset_name(name: str) -> None:
    """Raises CLIError for a .npz path given without its `npz:` prefix."""
    if name.endswith(".npz") and not name.startswith("npz:"):
        raise CLIError(
            f"--dataset {name!r} looks like a .npz file; pass npz:{name} (a .npz "
            "with x_train and x_test arrays)."
        )


def epochs(count: int) -> str:
    """ "1 epoch", "2 epochs"."""
    return f"{count} epoch{'' if count == 1 else 's'}"


def step(what: str, verbose: int) -> None:
    """Names the progress bar that follows (printed only when verbose)."""
    if verbose:
        print(f"{what}:", flush=True)


def roc_auc(positive: Any, negative: Any) -> float:
    """Area under the ROC curve of scores: P(positive > negative) + P(tie) / 2.

    Threshold-free and invariant to any increasing transformation of the scores
    (the Mann-Whitney U statistic divided by the number of pairs).

    Example:

    >>> roc_auc([0.9, 0.8], [0.1, 0.85])
    0.75
    """
    import numpy as np
    from scipy.stats import rankdata

    positive = np.asarray(positive, np.float64).ravel()
    negative = np.asarray(negative, np.float64).ravel()
    if not positive.size or not negative.size:
        raise ValueError("roc_auc needs at least one positive and one negative score.")
    ranks = rankdata(np.concatenate([positive, negative]))  # ties get mean ranks
    count = positive.size
    u = ranks[:count].sum() - count * (count + 1) / 2
    return float(u / (count * negative.size))


@contextlib.contextmanager
def run_folder(path: pathlib.Path | None):
    """Creates the run folder `path`; removes it again if the block fails empty.

    A folder that existed before (empty, as `check_output_dir` demands) is never
    removed; `None` (a process that writes nothing) does nothing.
    """
    if path is None:
        yield
        return
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if created and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        raise


def jsonable(value: Any) -> Any:
    """Floats as JSON numbers, non-finite ones as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy / tensor scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: pathlib.Path, data: dict) -> None:
    """Writes `data` as indented JSON, atomically."""
    text = json.dumps(jsonable(data), indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def dataset_arrays(dataset: Any) -> tuple[Any, Any]:
    """Concatenates a dataset yielding `(x, y)` or `x` into numpy `(x, y or None)`."""
    import numpy as np

    elements = list(dataset.as_numpy_iterator())
    if isinstance(elements[0], tuple):
        return np.concatenate([e[0] for e in elements]), np.concatenate(
            [e[1] for e in elements]
        )
    return np.concatenate(elements), None
