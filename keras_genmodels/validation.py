"""Checks of user data: clear errors before a TensorFlow stack dump can happen."""

from __future__ import annotations

import keras
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


def _as_range(value_range):
    """`True` -> (0, 1), `False`/None -> None, a pair -> a pair of floats."""
    if value_range is None or value_range is False:
        return None
    if value_range is True:
        return (0.0, 1.0)
    low, high = value_range
    return (float(low), float(high))


def range_advice(low, high, value_range, advice=""):
    """The message for data seen in [low, high] outside the model's range."""
    want_low, want_high = value_range
    if want_high == 1 and 1 < high <= 255 and low >= 0:
        fix = "divide by 255" if want_low == 0 else "map it with x / 127.5 - 1"
        fix = f"it looks like 0..255 images: {fix}"
    elif want_low == 0 and want_high == 1 and -1 <= low < 0 and high <= 1:
        fix = "it looks like data in [-1, 1]: map it with (x + 1) / 2"
    else:
        fix = f"rescale it into [{want_low:g}, {want_high:g}]"
    return (
        f"has values in [{low:g}, {high:g}], but the model's outputs (and so its "
        f"data) lie in [{want_low:g}, {want_high:g}]: {fix}"
        + (f", or {advice}" if advice else "")
        + "."
    )


def check_array(x, expected: tuple[int, ...], value_range, argument: str, advice=""):
    """Validates a batch of examples; numpy checks for arrays, graph checks for tensors.

    A `tf.Tensor` (eager or symbolic, e.g. inside a `tf.function`) is never
    copied to the host: its shape and dtype are checked statically and its
    values (finite, in range) by assertions in the graph, whose failure raises
    `tf.errors.InvalidArgumentError`.

    Args:
        x: array-like or tf.Tensor. The examples, batch first.
        expected: tuple. Shape of one example.
        value_range: `(low, high)`, None, or bool. The range every value must
            lie in; `True` means (0, 1), `False`/None no range.
        argument: str. Name of the argument, used in error messages.
        advice: str. How else to fix out-of-range data (appended to the error).

    Returns:
        `x` as a float32 numpy array, or a float32 tensor for a tensor input.

    Raises:
        ValueError: wrong rank or shape, no examples, non-numeric dtype, NaN/inf,
            or values outside `value_range`.
    """
    value_range = _as_range(value_range)
    if isinstance(x, (tf.Tensor, tf.Variable)):
        return _check_tensor(x, expected, value_range, argument, advice)
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
    if value_range is not None:
        low, high = float(array.min()), float(array.max())
        if low < value_range[0] or high > value_range[1]:
            raise ValueError(
                f"`{argument}` " + range_advice(low, high, value_range, advice)
            )
    return array


def _check_tensor(x, expected, value_range, argument, advice):
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise ValueError(f"`{argument}` must be numeric; got dtype {x.dtype.name}.")
    if x.shape.rank is None:
        raise ValueError(f"`{argument}` has unknown rank; the model expects rank "
                         f"{len(expected) + 1}.")
    check_example_shape(x.shape.as_list(), expected, argument)
    if x.shape[0] == 0:
        raise ValueError(f"`{argument}` is empty: it holds 0 examples.")
    x = tf.cast(x, tf.float32)
    return assert_valid_batch(x, value_range, argument, advice)


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


def assert_valid_batch(x, value_range, argument: str = "x", advice: str = ""):
    """In-graph checks of a batch: finite and, if a range is given, inside it.

    Args:
        x: tf.Tensor. The batch.
        value_range: `(low, high)`, None, or bool (`True` means (0, 1)).
        argument: str. Name used in the messages. Defaults to `"x"`.
        advice: str. How else to fix out-of-range data.
    """
    value_range = _as_range(value_range)
    if x.dtype.is_floating:
        x = tf.debugging.assert_all_finite(
            x, f"`{argument}` contains NaN or infinite values."
        )
    checks = []
    if value_range is not None:
        low, high = value_range
        message = (
            f"`{argument}` has values outside [{low:g}, {high:g}], the range of the "
            "model's outputs: rescale it (0..255 images: divide by 255; data in "
            "[-1, 1] for a [0, 1] model: (x + 1) / 2)"
            + (f", or {advice}" if advice else "")
            + "."
        )
        checks += [
            tf.debugging.assert_greater_equal(
                x, tf.cast(low, x.dtype), message=message
            ),
            tf.debugging.assert_less_equal(
                x, tf.cast(high, x.dtype), message=message
            ),
        ]
    if not checks:
        return x
    with tf.control_dependencies(checks):
        return tf.identity(x)


def infer_output_range(network) -> tuple[float, float] | None:
    """The range of a network's outputs from its final activation, if it has one.

    Returns (0.0, 1.0) if the output comes from a sigmoid, (-1.0, 1.0) from a
    tanh, passing back through layers that keep values in range (reshaping,
    cropping, pooling, upsampling), else None — also for subclassed models,
    whose final operation cannot be read without calling them.

    Args:
        network: keras.Model or keras.layers.Layer.
    """
    try:
        return _output_range(network, depth=0)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
_RANGE_KEEPING = (
    "Reshape", "Flatten", "Permute", "RepeatVector", "Identity",
    "Cropping1D", "Cropping2D", "Cropping3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "InputLayer",
)  # fmt: skip


def _output_range(operation, depth):
    if depth > 50:
        return None
    name = type(operation).__name__
    if name.lower() in _RANGES:  # keras.ops.sigmoid / tanh in a functional graph
        return _RANGES[name.lower()]
    if isinstance(operation, keras.Sequential):
        layers = operation.layers
        return _output_range(layers[-1], depth + 1) if layers else None
    if isinstance(operation, keras.Model):
        outputs = getattr(operation, "outputs", None)  # functional models only
        if not isinstance(outputs, (list, tuple)) or len(outputs) != 1:
            return None
        return _tensor_range(outputs[0], depth + 1)
    activation = getattr(operation, "activation", None)
    return _RANGES.get(getattr(activation, "__name__", None))


def _tensor_range(tensor, depth):
    operation, node_index, _ = tensor._keras_history
    name = type(operation).__name__
    if name in _RANGE_KEEPING:
        inputs = operation._inbound_nodes[node_index].input_tensors
        return _tensor_range(inputs[0], depth + 1) if len(inputs) == 1 else None
    return _output_range(operation, depth + 1)
