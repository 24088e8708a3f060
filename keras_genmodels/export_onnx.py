"""ONNX export of a model's decoder or generator (needs the `onnx` extra)."""

from __future__ import annotations

import errno
import os
import pathlib

import keras
import tensorflow as tf

from keras_genmodels.io_utils import atomic_write
from keras_genmodels.precision import float32_copy
from keras_genmodels.registry import family_of
from keras_genmodels.serving import serving_endpoints

DEFAULT_OPSET = 17
OPSETS = range(13, 19)  # what tf2onnx 1.16-1.17 can write


def onnx_endpoints(model: keras.Model) -> tuple[str, ...]:
    """Returns the endpoints of `model` that convert to ONNX, the default first.

    The model's family lists them (`Family.onnx_endpoints`): sampling endpoints
    draw stateless random numbers, which ONNX lacks, and some TFP ops have no
    ONNX conversion.

    Args:
        model: a model of a registered family (`VAE`, `GAN`, ...).

    Returns:
        A tuple of endpoint names.

    Raises:
        TypeError: `model` belongs to no registered family.

    Example:

    >>> from keras_genmodels import GAN
    >>> onnx_endpoints(GAN(data_shape=(8, 8, 1), latent_dim=4))
    ('generate', 'discriminate')
    """
    return tuple(family_of(model).onnx_endpoints)


def export_onnx(
    model: keras.Model,
    path: str | os.PathLike,
    endpoint: str | None = None,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
) -> pathlib.Path:
    """Converts one serving function of `model` to an ONNX file with `tf2onnx`.

    The function is the SavedModel's signature of the same name (see
    `keras_genmodels.serving.serving_endpoints`), so the ONNX graph has the same
    named inputs and outputs: `decode` maps `z` to `x_mean`; `generate` maps `z`
    (and int32 `labels` for a conditional GAN) to `images`; `discriminate` maps
    `images` (and `labels`) to `logits`. The batch dimension stays dynamic. The
    converted graph is checked with `onnx.checker` before it is written, and the
    file is written atomically. A mixed-precision model (e.g. trained with
    `--dtype-policy auto`) is converted from its float32 copy
    (`precision.float32_copy`): ONNX converters do not take its 16-bit ops, and
    its weights are float32 anyway. The ONNX graph does not keep TensorFlow's
    assertions: out-of-range labels are not reported there.

    Args:
        model: a model of a registered family. The model to convert.
        path: str or path-like. The `.onnx` file to write.
        endpoint: str or None. One of `onnx_endpoints(model)` (e.g. `"decode"`
            for a VAE; `"generate"` or `"discriminate"` for a GAN). None takes
            the first. Defaults to None.
        opset: int. ONNX opset, 13 to 18. Defaults to 17.
        overwrite: bool. Whether to replace an existing file. Defaults to False.

    Returns:
        The `pathlib.Path` written.

    Raises:
        TypeError: `model` belongs to no registered family.
        ValueError: an unknown `endpoint` or `opset`, NaN/inf weights, or a
            graph that `tf2onnx` could not convert completely.
        FileExistsError: `path` exists and `overwrite` is False.
        ImportError: `tf2onnx` or `onnx` is missing (install the `onnx` extra).

    Example:

    >>> import tempfile
    >>> import numpy as np, onnxruntime
    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    >>> path = export_onnx(vae, pathlib.Path(tempfile.mkdtemp()) / "decode.onnx")
    >>> session = onnxruntime.InferenceSession(str(path))
    >>> outputs = session.run(["x_mean"], {"z": np.zeros((3, 2), "float32")})
    >>> outputs[0].shape
    (3, 8, 8, 1)
    """
    valid = onnx_endpoints(model)
    if not valid:
        raise ValueError(
            f"A {type(model).__name__} has no endpoint that converts to ONNX; "
            "export a SavedModel instead."
        )
    if endpoint is None:
        endpoint = valid[0]
    if endpoint not in valid:
        raise ValueError(
            f"Unknown `endpoint` {endpoint!r} for ONNX export of a "
            f"{type(model).__name__}. Valid values: {', '.join(valid)}."
        )
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in OPSETS:
        raise ValueError(
            f"`opset` must be an integer from {OPSETS.start} to {OPSETS.stop - 1}; "
            f"got {opset!r}."
        )
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            errno.EEXIST, "File exists; pass overwrite=True to replace it", str(path)
        )
    try:
        import onnx
        import tf2onnx
    except ImportError as err:
        raise ImportError(
            "ONNX export needs tf2onnx and onnx: pip install 'keras-genmodels[onnx]'."
        ) from err
    # tf2onnx cannot convert 16-bit ops: a mixed-precision model is converted
    # through a float32 copy (the same float32 weights, computed in float32).
    function, signature = serving_endpoints(float32_copy(model))[endpoint]
    traced = tf.function(function, input_signature=signature, autograph=False)
    proto, _ = tf2onnx.convert.from_function(
        traced, input_signature=signature, opset=opset
    )
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ValueError(
            f"tf2onnx could not convert the {endpoint!r} function of this "
            f"{type(model).__name__} completely: {err}"
        ) from err
    data = proto.SerializeToString()
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
