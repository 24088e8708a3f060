"""Pieces shared by the CLI commands: argument types, errors, run-folder helpers."""

from __future__ import annotations

import argparse
import json
import math
import pathlib
from collections.abc import Callable
from typing import Any

from keras_genmodels.io_utils import atomic_write

PROG = "keras-genmodels"


class CLIError(Exception):
    """A usage error found by the CLI itself; reported like argparse errors."""


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
