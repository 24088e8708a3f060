"""Checks of user data: clear errors before a TensorFlow stack dump can happen."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _describe(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def check_example_shape(shape, expected: tuple[int, ...], argument: str) -> None:
    """Raises ValueError unless `shape` is `(batch,) + expected`."""
    shape = tuple(shape)
    if len(shape) != len(expected) + 1 or any(
        got is not None and got != want
        for got, want in zip(shape[1:], expected, strict=True)
    ):
        raise ValueError(
            f"`{argument}` has shape {_describe(shape)}, but the model expects "
            f"(batch, {', '.join(map(str, expected))}) — rank {len(expected) + 1}."
        )


def check_array(x, expected: tuple[int, ...], unit_interval: bool, argument: str):
    """Validates an in-memory batch of examples and returns it as a numpy array.

    Args:
        x: array-like. The examples, batch first.
        expected: tuple. Shape of one example.
        unit_interval: bool. Whether every value must lie in [0, 1].
        argument: str. Name of the argument, used in error messages.

    Returns:
        `x` as a float32 numpy array.

    Raises:
        ValueError: wrong rank or shape, no examples, NaN/inf, or values outside
            [0, 1] when `unit_interval` is set.
    """
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"`{argument}` must be numeric; got dtype {array.dtype}.")
    check_example_shape(array.shape, expected, argument)
    if array.shape[0] == 0:
        raise ValueError(f"`{argument}` is empty: it holds 0 examples.")
    array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(
            f"`{argument}` contains {int((~finite).sum())} NaN or infinite values."
        )
    if unit_interval and (array.min() < 0 or array.max() > 1):
        raise ValueError(
            f"`{argument}` has values in [{array.min():g}, {array.max():g}], but the "
            "Bernoulli likelihood needs data in [0, 1]: rescale it (e.g. divide "
            "uint8 images by 255) or use likelihood='gaussian'."
        )
    return array


def check_dataset(dataset: tf.data.Dataset, expected: tuple[int, ...], argument: str):
    """Checks a `tf.data` pipeline's element shape and that it is not empty."""
    spec = dataset.element_spec
    if isinstance(spec, (tuple, list)):
        spec = spec[0]
    if isinstance(spec, dict) or not hasattr(spec, "shape"):
        raise ValueError(
            f"`{argument}` must yield `x` or `(x, y)` tensors; got element_spec "
            f"{dataset.element_spec}."
        )
    check_example_shape(spec.shape, expected, argument)
    if int(dataset.cardinality()) == 0:
        raise ValueError(f"`{argument}` is empty: the dataset yields no batches.")


def assert_valid_batch(x, unit_interval: bool):
    """In-graph checks of a batch from a `tf.data` pipeline (finite, in range)."""
    x = tf.debugging.assert_all_finite(
        x, "Input batch contains NaN or infinite values."
    )
    if unit_interval:
        checks = [
            tf.debugging.assert_greater_equal(
                x,
                tf.zeros((), x.dtype),
                message="Input batch has values < 0; the Bernoulli likelihood "
                "needs data in [0, 1].",
            ),
            tf.debugging.assert_less_equal(
                x,
                tf.ones((), x.dtype),
                message="Input batch has values > 1; the Bernoulli likelihood "
                "needs data in [0, 1].",
            ),
        ]
        with tf.control_dependencies(checks):
            x = tf.identity(x)
    return x
