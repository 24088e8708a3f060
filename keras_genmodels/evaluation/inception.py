"""InceptionV3 pool-3 features of images of any size, for FID/KID without labels."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

INPUT_SIZE = 299
FEATURE_DIM = 2048
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    + WEIGHTS_FILE
)
WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
WEIGHTS_ENV_VAR = "KERAS_GENMODELS_INCEPTION_WEIGHTS"

RUNTIMES = ("auto", "onnx", "xla", "tf")
ONNX_OPSET = 17
_MODELS: dict[tuple, keras.Model] = {}
_SESSIONS: dict[str, Any] = {}
_DIGESTS: dict[tuple, str] = {}


class InceptionWeightsError(ValueError):
    """The InceptionV3 weights are neither downloadable nor a local file.

    Args:
        reason: str. What failed (e.g. the download's error).
        labelled: bool or None. Whether the dataset has labels, if known.
    """

    def __init__(self, reason: str, labelled: bool | None = None):
        super().__init__(offline_message(reason, labelled))
        self.reason = reason


def offline_message(reason: str, labelled: bool | None = None) -> str:
    """The error text naming both ways to evaluate without a network."""
    labels = {
        None: "",
        True: " (this dataset is labelled, so that works here)",
        False: " (this dataset has no labels: use a labelled one, e.g. a folder "
        "with one subfolder per class)",
    }[labelled]
    return (
        f"InceptionV3 ImageNet weights are unavailable: {reason}. Either pass "
        "weights=PATH, a local InceptionV3 no-top weights file (.h5, .weights.h5 "
        f"or .keras, e.g. {WEIGHTS_FILE} downloaded elsewhere from {WEIGHTS_URL}; "
        f"or set ${WEIGHTS_ENV_VAR}), or use the classifier features "
        f"(features='classifier'), which need a labelled dataset{labels}."
    )


def _download() -> str:
    return keras.utils.get_file(
        WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models", file_hash=WEIGHTS_MD5
    )


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """The local weights file of `weights` ("imagenet" downloads it once).

    None reads `$KERAS_GENMODELS_INCEPTION_WEIGHTS`, else means "imagenet".

    Raises:
        InceptionWeightsError: the ImageNet file cannot be downloaded.
        FileNotFoundError: a given path does not exist.
        ValueError: a path that is not a .h5 or .keras file.
    """
    if weights is None:
        weights = os.environ.get(WEIGHTS_ENV_VAR) or "imagenet"
    if str(weights) == "imagenet":
        try:
            return _download()
        except Exception as err:  # no network, proxy, HTTP or checksum errors
            raise InceptionWeightsError(
                f"downloading {WEIGHTS_URL} failed ({type(err).__name__}: {err})"
            ) from err
    path = os.path.abspath(os.fspath(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"InceptionV3 weights file not found: {path!r}. Pass weights=PATH of "
            f"an existing no-top weights file (.h5, .weights.h5 or .keras), "
            "weights='imagenet' where there is a network, or use the classifier "
            "features (features='classifier') of a labelled dataset."
        )
    if not path.endswith((".h5", ".keras")):
        raise ValueError(
            f"weights must be 'imagenet' or a .h5/.weights.h5/.keras file; got "
            f"{path!r}."
        )
    return path


def file_digest(path: str) -> str:
    """SHA-1 (12 hex digits) of a file's bytes, memoised by size and mtime."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha1()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()[:12]
    return _DIGESTS[key]


def load_inception(path: str) -> keras.Model:
    """InceptionV3 without its top, average-pooled (2048-d), from a local file."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _MODELS:
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")  # features in float32 always
        try:
            _MODELS[key] = _build(path)
        finally:
            keras.config.set_dtype_policy(policy)
    return _MODELS[key]


def _build(path: str) -> keras.Model:
    if path.endswith(".keras"):
        model = keras.saving.load_model(path, compile=False)
    else:
        model = keras.applications.InceptionV3(
            weights=path,
            include_top=False,
            pooling="avg",
            input_shape=(INPUT_SIZE, INPUT_SIZE, 3),
        )
    if tuple(model.output_shape) != (None, FEATURE_DIM):
        raise ValueError(
            f"{path!r} holds a model with output shape {model.output_shape}; "
            f"an InceptionV3 with pooling='avg' gives (None, {FEATURE_DIM})."
        )
    return model


def preprocess(images) -> tf.Tensor:
    """Images in [0, 1] (N, H, W, 1, 3 or 4) -> InceptionV3 inputs (N, 299, 299, 3).

    Premultiplied RGBA is composited over white (as `pixels.composite_array`), as
    loading composites transparent images; grey is repeated to RGB; the resize
    is bilinear with antialiasing (a triangle filter widened when shrinking, as
    PIL's); pixels are scaled to 0..255 and mapped to [-1, 1] by
    `keras.applications.inception_v3.preprocess_input`.
    """
    x = tf.convert_to_tensor(images, tf.float32)
    if x.shape[-1] == 4:  # premultiplied: rgb + (1 - a) * white
        alpha = tf.clip_by_value(x[..., 3:], 0.0, 1.0)
        x = tf.clip_by_value(x[..., :3] + (1.0 - alpha), 0.0, 1.0)
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    x = tf.image.resize(x, (INPUT_SIZE, INPUT_SIZE), method="bilinear", antialias=True)
    return keras.applications.inception_v3.preprocess_input(x * 255.0)


def _check_images(images) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or len(x) == 0:
        raise ValueError(
            f"images must have shape (N, H, W, 1, 3 or 4) with N > 0; got {x.shape}."
        )
    return x


def onnx_available() -> bool:
    """Whether ONNX Runtime and tf2onnx (the `onnx` extra) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("onnxruntime", "tf2onnx"))


def resolve_runtime(runtime: str) -> str:
    """"auto" -> "onnx" when the `onnx` extra is installed, else "xla"."""
    if runtime not in RUNTIMES:
        raise ValueError(
            f"runtime must be one of {', '.join(map(repr, RUNTIMES))}; "
            f"got {runtime!r}."
        )
    if runtime == "auto":
        return "onnx" if onnx_available() else "xla"
    if runtime == "onnx" and not onnx_available():
        raise ImportError(
            "runtime='onnx' needs onnxruntime and tf2onnx: "
            "pip install 'keras-genmodels[onnx]' (or runtime='xla')."
        )
    return runtime


def onnx_session(model: keras.Model, digest: str):
    """An ONNX Runtime session of the network (299x299x3 inputs -> 2048-d).

    The network is converted with tf2onnx once per weights file (its SHA-1) and
    kept as `onnx/inception-<sha1>-opset17.onnx` under `$KERAS_GENMODELS_HOME`
    (else `~/.keras_genmodels`), written atomically; later extractors of the
    same weights load that file.
    """
    import onnxruntime

    from keras_genmodels.evaluation.features import home_dir

    name = f"inception-{digest}-opset{ONNX_OPSET}.onnx"
    path = str(home_dir() / "onnx" / name)
    if path not in _SESSIONS:
        if not os.path.exists(path):
            import tf2onnx

            from keras_genmodels.io_utils import atomic_write

            spec = [tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32, "x")]
            forward = tf.function(
                lambda x: {"features": model(x, training=False)},
                input_signature=spec,
                autograph=False,
            )
            proto, _ = tf2onnx.convert.from_function(
                forward, input_signature=spec, opset=ONNX_OPSET
            )
            data = proto.SerializeToString()
            atomic_write(path, lambda tmp: tmp.write_bytes(data))
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = (
            onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        _SESSIONS[path] = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
    return _SESSIONS[path]


class InceptionExtractor:
    """InceptionV3 pool-3 (2048-d) features, a label-free `FeatureExtractor`.

    Images in [0, 1] of any size with 1 or 3 channels are preprocessed as
    `preprocess` says (antialiased resize to 299 x 299, as clean-fid
    recommends) and fed in batches to `keras.applications.InceptionV3(
    include_top=False, pooling="avg")`. It has no classes: calling it returns
    `(features, None)` and `num_classes` is None. Keras's ImageNet weights are
    not the TF-slim graph of the original FID code: values compare with each
    other, not with published FIDs.

    Args:
        weights: str, path or None. "imagenet" (downloaded once into
            `~/.keras/models`), a local `.h5`/`.weights.h5`/`.keras` file, or
            None for `$KERAS_GENMODELS_INCEPTION_WEIGHTS` else "imagenet".
            Defaults to None.
        batch_size: int. Images per forward pass. Defaults to 32.
        verbose: int. 1 shows a progress bar over the images. Defaults to 0.
        runtime: str. What runs the network: "onnx" (ONNX Runtime, the network
            converted once with tf2onnx and cached, see `onnx_session`), "xla"
            (a `tf.function` compiled with XLA), "tf" (a plain `tf.function`),
            or "auto": "onnx" when the `onnx` extra is installed, else "xla".
            All give the same features to about 1e-5 of their largest value;
            the resize and scaling run in TensorFlow (uncompiled) for each.
            Defaults to "auto".

    Example:

    >>> InceptionExtractor(weights="/no/such/file.h5")
    Traceback (most recent call last):
    ...
    FileNotFoundError: InceptionV3 weights file not found: '/no/such/file.h5'...

    References:
        Szegedy et al., Rethinking the Inception Architecture, arXiv:1512.00567.
        Parmar et al., On Aliased Resizing and Surprising Subtleties in GAN
        Evaluation, arXiv:2104.11222.
    """

    num_classes = None
    input_shape = None

    def __init__(
        self,
        weights=None,
        batch_size: int = 32,
        verbose: int = 0,
        runtime: str = "auto",
    ):
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or (batch_size < 1)
        ):
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
        self.runtime = resolve_runtime(runtime)
        self.path = resolve_weights(weights)
        self.model = load_inception(self.path)
        self.batch_size = batch_size
        self.verbose = verbose
        digest = file_digest(self.path)
        self.key = f"inception-{digest}"
        self.info = {
            "name": "inception_v3",
            "layer": f"global average pool (pool3, {FEATURE_DIM}-d)",
            "weights": "imagenet"
            if os.path.basename(self.path) == WEIGHTS_FILE
            else os.path.basename(self.path),
            "weights_sha1": digest,
            "resize": f"tf.image.resize bilinear antialias to {INPUT_SIZE}x"
            f"{INPUT_SIZE}",
            "preprocessing": "grey repeated to RGB; inception_v3.preprocess_input "
            "of 0..255",
            "path": self.path,
        }
        self._preprocess = tf.function(preprocess, reduce_retracing=True)
        if self.runtime == "onnx":
            session = onnx_session(self.model, digest)
            self._forward = lambda x: session.run(
                ["features"], {"x": self._preprocess(x).numpy()}
            )[0]
        else:
            # The antialiased resize has no XLA kernel: only the network compiles.
            network = tf.function(
                lambda x: self.model(x, training=False),
                reduce_retracing=True,
                jit_compile=self.runtime == "xla",
            )
            self._forward = lambda x: network(self._preprocess(x)).numpy()

    @property
    def protocol(self) -> dict[str, Any]:
        """The extractor's description, without the local weights path."""
        return {k: v for k, v in self.info.items() if k != "path"}

    def features(self, images, batch_size: int | None = None, progress=None):
        """Float64 features (N, 2048) of images in [0, 1]."""
        x = _check_images(images)
        size = batch_size or self.batch_size
        out = []
        for start in range(0, len(x), size):
            batch = x[start : start + size]
            out.append(self._forward(tf.constant(batch)))
            if progress is not None:
                progress.add(len(batch))
        return np.concatenate(out).astype(np.float64)

    def __call__(self, images, batch_size: int | None = None):
        """Returns `(features, None)`: InceptionV3 has no classes here."""
        x = _check_images(images)
        bar = keras.utils.Progbar(len(x)) if self.verbose else None
        return self.features(x, batch_size, bar), None


def inception_features(images, weights=None, batch_size: int = 32) -> np.ndarray:
    """Pool-3 (2048-d) InceptionV3 features of images in [0, 1] (N, H, W, 1|3).

    `InceptionExtractor(weights, batch_size)(images)[0]`: see there for the
    preprocessing and the weights ("imagenet", a local file, or None for
    `$KERAS_GENMODELS_INCEPTION_WEIGHTS`).

    Returns:
        A float64 array (N, 2048).

    Raises:
        InceptionWeightsError: "imagenet" cannot be downloaded (offline).
        FileNotFoundError: the weights file does not exist.
        ValueError: images of a bad shape.
    """
    return InceptionExtractor(weights, batch_size)(images)[0]
