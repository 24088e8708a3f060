"""Serving signatures of the VQ-VAE: named tensors in, dicts of named tensors out."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels.vqvae.model import VQVAE

Endpoint = tuple[Callable[..., dict], list[tf.TensorSpec]]


def _spec(shape, dtype, name: str) -> tf.TensorSpec:
    return tf.TensorSpec(shape=list(shape), dtype=dtype, name=name)


def vqvae_endpoints(model: VQVAE) -> dict[str, Endpoint]:
    """Returns the serving functions of a `VQVAE` with their input signatures.

        serving_default  x -> reconstruction          (also named reconstruct)
        encode           x -> codes                   (int32 [None, h, w])
        decode           codes -> images              (a pure function of codes)
        sample           num_samples, seed -> images, codes

    `x`: float32 [None, *data_shape]; `codes`: int32 [None, h, w] in
    [0, num_embeddings) (checked in the graph); `num_samples`: int32 scalar
    >= 1; `seed`: int64 scalar. Sampling is stateless: the PixelCNN draws the
    code at raster position t with `tf.random.stateless_categorical` and the
    seed pair (seed mod (2**31 - 2), t), exactly as `VQVAE.sample(n, seed)`
    does, so both give the same codes and images.

    Args:
        model: VQVAE. The model to serve.

    Returns:
        An ordered dict `{name: (function, input_signature)}`; the first entry
        is `serving_default`. Each can be passed to
        `keras.export.ExportArchive.add_endpoint`.

    Raises:
        TypeError: `model` is not a `VQVAE`.
        ValueError: a weight of the model is NaN or infinite.

    Example:

    >>> vqvae = VQVAE(data_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4)
    >>> endpoints = vqvae_endpoints(vqvae)
    >>> list(endpoints)
    ['serving_default', 'reconstruct', 'encode', 'decode', 'sample']
    >>> [spec.name for spec in endpoints["decode"][1]]
    ['codes']
    """
    if not isinstance(model, VQVAE):
        raise TypeError(
            "`model` must be a keras_genmodels VQVAE (or a subclass); got an "
            f"object of type {type(model).__name__}."
        )
    for weight in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all():
            raise ValueError(
                f"`model` cannot be exported: weight {weight.path!r} has NaN or "
                "infinite values (did training diverge?)."
            )
    x = _spec([None, *model.data_shape], tf.float32, "x")
    codes_spec = _spec([None, *model.grid_shape], tf.int32, "codes")
    samples = [_spec([], tf.int32, "num_samples"), _spec([], tf.int64, "seed")]

    def images_of(codes):
        return tf.cast(model.decode_codes(codes), tf.float32)

    def reconstruct(x):
        return {"reconstruction": tf.cast(model(x, training=False), tf.float32)}

    def encode(x):
        return {"codes": model.quantizer.nearest(model.encoder(x, training=False))}

    def decode(codes):
        message = f"codes must lie in [0, {model.num_embeddings})"
        checks = [
            tf.debugging.assert_non_negative(codes, message=message),
            tf.debugging.assert_less(codes, model.num_embeddings, message=message),
        ]
        with tf.control_dependencies(checks):
            return {"images": images_of(tf.identity(codes))}

    def sample(num_samples, seed):
        check = tf.debugging.assert_positive(
            num_samples, message="num_samples must be >= 1"
        )
        with tf.control_dependencies([check]):
            codes = model.prior.sample_codes_graph(tf.identity(num_samples), seed)
        return {"images": images_of(codes), "codes": codes}

    return {
        "serving_default": (reconstruct, [x]),
        "reconstruct": (reconstruct, [x]),
        "encode": (encode, [x]),
        "decode": (decode, [codes_spec]),
        "sample": (sample, samples),
    }


def export_metadata(model: VQVAE) -> dict:
    """The VQ-VAE's fields of an export's metadata: codebook and code grid."""
    return {
        "num_embeddings": int(model.num_embeddings),
        "embedding_dim": int(model.embedding_dim),
        "grid_shape": [int(d) for d in model.grid_shape],
    }
