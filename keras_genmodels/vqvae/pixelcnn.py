"""A gated PixelCNN over integer code grids: the VQ-VAE's autoregressive prior."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_genmodels import validation
from keras_genmodels.base import GenerativeModel

# Integer seeds are reduced as Keras reduces `seed=int`.
SEED_MODULUS = 2**31 - 2


def check_codes(codes, num_embeddings: int, grid_shape, argument: str = "codes"):
    """Validates integer codes of shape (batch, *grid_shape); returns int32 numpy."""
    array = np.asarray(codes)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"`{argument}` must hold integer code indices; got dtype {array.dtype}."
        )
    grid = tuple(int(d) for d in grid_shape)
    if array.ndim != 3 or array.shape[1:] != grid:
        raise ValueError(
            f"`{argument}` has shape {array.shape}, but the code grid is "
            f"(batch, {grid[0]}, {grid[1]})."
        )
    if array.shape[0] == 0:
        raise ValueError(f"`{argument}` is empty: it holds 0 code grids.")
    if array.min() < 0 or array.max() >= num_embeddings:
        raise ValueError(
            f"`{argument}` has values in [{array.min()}, {array.max()}], but codes "
            f"must lie in [0, {num_embeddings})."
        )
    return array.astype(np.int32)


def check_num_samples(num_samples) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise ValueError(
            f"`num_samples` must be a positive integer; got {num_samples!r}."
        )
    if num_samples <= 0:
        raise ValueError(
            f"`num_samples` must be a positive integer; got {num_samples!r}."
        )
    return int(num_samples)


def _shift_down(x):
    return tf.pad(x, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]


def _shift_right(x):
    return tf.pad(x, [[0, 0], [0, 0], [1, 0], [0, 0]])[:, :, :-1]


def _gate(x):
    a, b = tf.split(x, 2, axis=-1)
    return tf.tanh(a) * tf.sigmoid(b)


@keras.saving.register_keras_serializable(package="keras_genmodels")
class PixelCNNPrior(GenerativeModel):
    """Gated PixelCNN p(codes) = prod_(i,j) p(c_ij | codes before (i, j)).

    Codes are read in raster order. The one-hot codes are embedded and passed
    through `num_layers` gated layers, each with a vertical and a horizontal
    stack (kernel n = `kernel_size`):

        v' = gate(V * v)        V: (n//2 + 1) x n, rows i - n//2 .. i
        h' = gate(H * h + W * shift_down(V * v)),  H: 1 x (n//2 + 1), columns
             j - n//2 .. j; layer 1 ("type A") shifts H * x right by one
        h  <- h + 1x1(h')  (layers 2.., "type B"),   gate(a | b) = tanh(a) sigmoid(b)

    The vertical stack reaches the horizontal one only shifted one row down,
    so position (i, j) sees all rows above it (the up-right region included:
    no blind spot) and the columns to its left, never itself or what follows.
    Logits come from relu, 1x1 conv, relu, 1x1 conv to `num_embeddings`.
    Training (`fit` on int code grids) minimises the cross-entropy; metrics:
    `loss` (nats per code) and `bits_per_code` (the same in bits).

    Args:
        num_embeddings: int. Number of code values K. Defaults to 128.
        grid_shape: tuple. `(h, w)` of the code grid. Defaults to (7, 7).
        filters: int. Channels of each stack. Defaults to 64.
        num_layers: int. Gated layers (the first is type A). Defaults to 6.
        kernel_size: int. Odd kernel width n. Defaults to 3.
        seed: int or None. Seed of the sampling noise. Defaults to None.

    Example:

    >>> import numpy as np
    >>> prior = PixelCNNPrior(num_embeddings=4, grid_shape=(3, 3), filters=8,
    ...                       num_layers=2, seed=0)
    >>> prior.compile(optimizer="adam")
    >>> codes = np.random.default_rng(0).integers(0, 4, size=(16, 3, 3))
    >>> sorted(prior.fit(codes, epochs=1, verbose=0).history)
    ['bits_per_code', 'loss']
    >>> prior.sample_codes(2, seed=1).shape
    (2, 3, 3)

    References:
        van den Oord et al., Conditional Image Generation with PixelCNN
        Decoders, arXiv:1606.05328.
        van den Oord et al., Pixel Recurrent Neural Networks, arXiv:1601.06759.
    """

    def __init__(
        self,
        num_embeddings=128,
        grid_shape=(7, 7),
        filters=64,
        num_layers=6,
        kernel_size=3,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("num_embeddings", num_embeddings),
            ("filters", filters),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        if not isinstance(kernel_size, int) or kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(
                f"`kernel_size` must be an odd integer >= 3; got {kernel_size!r}."
            )
        grid = tuple(int(d) for d in grid_shape)
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(
                f"`grid_shape` must be (height, width) >= 1; got {grid_shape!r}."
            )
        self.num_embeddings = num_embeddings
        self.grid_shape = grid
        self.data_shape = grid
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        half = kernel_size // 2
        self.embedding = layers.Dense(filters, use_bias=False, name="embedding")
        self.vertical, self.vertical_to_horizontal = [], []
        self.horizontal, self.horizontal_out = [], []
        for index in range(num_layers):
            self.vertical.append(
                layers.Conv2D(2 * filters, (half + 1, kernel_size), name=f"v_{index}")
            )
            self.vertical_to_horizontal.append(
                layers.Conv2D(2 * filters, 1, name=f"v_to_h_{index}")
            )
            self.horizontal.append(
                layers.Conv2D(2 * filters, (1, half + 1), name=f"h_{index}")
            )
            self.horizontal_out.append(layers.Conv2D(filters, 1, name=f"h_out_{index}"))
        self.head = layers.Conv2D(filters, 1, activation="relu", name="head")
        self.logits_layer = layers.Conv2D(
            num_embeddings, 1, name="logits", dtype="float32"
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_code")
        self.logits_from_one_hot(tf.zeros((1, *grid, num_embeddings)))  # builds
        # An explicit tf.while_loop: no autograph needed.
        self._sampler = tf.function(self.sample_codes_graph, autograph=False)
        self.built = True

    # ---- the network -----------------------------------------------------------
    def logits_from_one_hot(self, one_hot, training=False):
        """Logits [B, h, w, K] from one-hot (or any real-valued) codes [B, h, w, K]."""
        half = self.kernel_size // 2
        x = self.embedding(tf.cast(one_hot, self.compute_dtype))
        v = h = x
        for index in range(self.num_layers):
            v_pre = self.vertical[index](
                tf.pad(v, [[0, 0], [half, 0], [half, half], [0, 0]])
            )
            h_pre = self.horizontal[index](
                tf.pad(h, [[0, 0], [0, 0], [half, 0], [0, 0]])
            )
            if index == 0:
                h_pre = _shift_right(h_pre)  # type A: not the current position
            h_pre = h_pre + self.vertical_to_horizontal[index](_shift_down(v_pre))
            v = _gate(v_pre)
            h_new = self.horizontal_out[index](_gate(h_pre))
            h = h_new if index == 0 else h + h_new
        return self.logits_layer(self.head(tf.nn.relu(h)))

    def call(self, codes, training=False):
        one_hot = tf.one_hot(tf.cast(codes, tf.int32), self.num_embeddings)
        return self.logits_from_one_hot(one_hot, training=training)

    # ---- training ----------------------------------------------------------------
    def check_examples(self, x, argument: str = "x"):
        return check_codes(x, self.num_embeddings, self.grid_shape, argument)

    def _check_fit_input(self, x, argument):
        if not isinstance(x, tf.data.Dataset):
            return super()._check_fit_input(x, argument)
        validation.check_dataset(x, self.data_shape, argument)
        spec = x.element_spec
        spec = spec[0] if isinstance(spec, (tuple, list)) else spec
        if not spec.dtype.is_integer:
            raise ValueError(
                f"`{argument}` must yield integer code grids; got {spec.dtype.name} "
                "batches."
            )

    def _unpack(self, data):
        codes = tf.cast(data[0] if isinstance(data, (tuple, list)) else data, tf.int32)
        message = f"codes must lie in [0, {self.num_embeddings})"
        checks = [
            tf.debugging.assert_non_negative(codes, message=message),
            tf.debugging.assert_less(codes, self.num_embeddings, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(codes)

    def compute_losses(self, codes, training=False) -> dict:
        """Returns the per-example cross-entropy `loss` in nats per code."""
        logits = self(codes, training=training)
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(codes, logits)
        return {"loss": tf.reduce_mean(nats, axis=[1, 2])}

    def _update_trackers(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.bits_tracker.update_state(losses["loss"] / math.log(2.0))
        return self.metric_logs()

    def train_step(self, data):
        codes = self._unpack(data)
        with tf.GradientTape() as tape:
            losses = self.compute_losses(codes, training=True)
            scaled = self.optimizer.scale_loss(self.global_mean(losses["loss"]))
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(
            zip(gradients, self.trainable_variables, strict=True)
        )
        return self._update_trackers(losses)

    def test_step(self, data):
        return self._update_trackers(self.compute_losses(self._unpack(data)))

    @property
    def metrics(self):
        return [self.loss_tracker, self.bits_tracker]

    def compile(self, optimizer="adam", **kwargs):
        """Configures training; the cross-entropy loss is built in."""
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.trainable_variables)

    def bits_per_code(self, codes, batch_size: int = 256) -> float:
        """Mean -log2 p(c_ij | previous codes) over `codes` (int grids)."""
        codes = self.check_examples(codes, "codes")
        total = 0.0
        for start in range(0, len(codes), batch_size):
            chunk = codes[start : start + batch_size]
            total += float(tf.reduce_sum(self.compute_losses(chunk)["loss"]))
        return total / len(codes) / math.log(2.0)

    # ---- sampling ----------------------------------------------------------------
    def sample_codes_graph(self, num_samples, seed):
        """Ancestral sampling in raster order, stateless in the int64 `seed`.

        Position t = i * w + j is drawn by `tf.random.stateless_categorical`
        with the seed pair (seed mod (2**31 - 2), t), so the same seed gives
        the same codes in Python and in a SavedModel.
        """
        height, width = self.grid_shape
        seed = tf.math.floormod(tf.cast(seed, tf.int64), SEED_MODULUS)
        num_samples = tf.cast(num_samples, tf.int32)
        codes = tf.zeros(tf.stack([num_samples, height, width]), tf.int32)

        def step(t, codes):
            i, j = t // width, t % width
            logits = self(codes)[:, i, j, :]
            drawn = tf.random.stateless_categorical(
                tf.cast(logits, tf.float32),
                1,
                seed=tf.stack([seed, tf.cast(t, tf.int64)]),
                dtype=tf.int32,
            )
            mask = tf.one_hot(t, height * width, dtype=tf.int32)
            mask = tf.reshape(mask, [1, height, width])
            return t + 1, codes * (1 - mask) + drawn[:, :, None] * mask

        _, codes = tf.while_loop(
            lambda t, _: t < height * width, step, [tf.constant(0), codes]
        )
        return codes

    def sample_codes(self, num_samples: int, seed=None):
        """Returns `num_samples` int32 code grids; the same int `seed`, the same."""
        num_samples = check_num_samples(num_samples)
        if seed is None:
            seed = tf.random.stateless_uniform(
                [], self.seed_generator.next(), 0, SEED_MODULUS, tf.int64
            )
        return self._sampler(
            tf.constant(num_samples, tf.int32), tf.cast(seed, tf.int64)
        ).numpy()

    def get_config(self):
        config = super().get_config()
        config.update(
            num_embeddings=self.num_embeddings,
            grid_shape=self.grid_shape,
            filters=self.filters,
            num_layers=self.num_layers,
            kernel_size=self.kernel_size,
            seed=self.seed,
        )
        return config
