"""The vector-quantisation layer of the VQ-VAE, with an EMA or a learned codebook."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

CODEBOOK_UPDATES = ("ema", "loss")


def _replica_context():
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def sum_over_replicas(value):
    """Sums `value` over the replicas of a strategy; the identity on one device."""
    context = _replica_context()
    return value if context is None else context.all_reduce("sum", value)


def gather_rows(rows, indices):
    """Rows `indices` of the global batch `rows`, on every replica.

    The global batch is the concatenation of the replicas' `rows` in replica
    order, as one device would see it. Each replica contributes the rows it
    holds and zeros elsewhere, and the contributions are summed, so the result
    is exactly `tf.gather(global_rows, indices)` on every replica.
    """
    context = _replica_context()
    if context is None:
        return tf.gather(rows, indices)
    local = tf.shape(rows)[0]
    sizes = context.all_gather(tf.reshape(local, [1]), axis=0)
    offset = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    position = indices - offset
    held = (position >= 0) & (position < local)
    # A zero row at the end, so a replica without examples can gather too.
    padded = tf.pad(rows, [[0, 1], [0, 0]])
    picked = tf.gather(padded, tf.clip_by_value(position, 0, local))
    picked = tf.where(held[:, None], picked, tf.zeros_like(picked))
    return context.all_reduce("sum", picked)


@keras.saving.register_keras_serializable(package="keras_genmodels")
class VectorQuantizer(keras.layers.Layer):
    """Replaces each D-dimensional vector by its nearest codebook entry.

    For inputs z_e of shape [..., D] and a codebook e_1..e_K (K x D):

        k(z) = argmin_j ||z - e_j||^2,  ||z - e_j||^2 = ||z||^2 - 2 z.e_j + ||e_j||^2
        z_q = e_k(z);  output = z_e + sg[z_q - z_e]      (straight-through)
        commitment_loss = mean ||z_e - sg[z_q]||^2
        codebook_loss = mean ||sg[z_e] - z_q||^2

    (means over positions and dimensions, one value per example; sg = stop
    gradient). The gradient of the output w.r.t. z_e is the identity, so the
    encoder receives the decoder's gradient at z_q. The model's objective adds
    `commitment_cost * commitment_loss`, and `codebook_loss` when
    `codebook_update="loss"`. With `"ema"` the codebook is not trained by the
    optimizer; after every training step (`update`) it follows exponential
    moving averages of the assignment counts n_k and sums s_k = sum of the z_e
    assigned to code k over the global batch (summed over replicas):

        N_k <- g N_k + (1 - g) n_k,   m_k <- g m_k + (1 - g) s_k
        N~_k = (N_k + eps) / (sum_j N_j + K eps) * sum_j N_j   (Laplace smoothing)
        e_k = m_k / N~_k

    The statistics start as if every code had been assigned its initial vector
    once (N_k = 1, m_k = e_k), so a code that is never chosen keeps its vector.

    Dead-code restarts: a code chosen by no vector of the global batch for
    `restart_after` consecutive training steps is re-initialised to an encoder
    output of the current global batch picked uniformly at random (EMA: N_k = 1,
    m_k = that vector), and its counter is reset. The rows are drawn from a
    stateless seed shared by all replicas and read from the global batch, so
    N replicas restart exactly as one device does. Statistics reported by
    `statistics`: codebook perplexity exp(-sum_k p_k log p_k) with p_k the
    fraction of the batch's vectors assigned to code k (K when all codes are
    used equally, 1 on collapse), and usage, the fraction of codes used.

    Args:
        num_embeddings: int. Codebook size K. Defaults to 128.
        embedding_dim: int. Size D of each code vector. Defaults to 16.
        commitment_cost: float. beta, the weight of the commitment loss (used by
            the model). Defaults to 0.25.
        codebook_update: str. `"ema"` (moving averages) or `"loss"` (the
            codebook loss and the optimizer). Defaults to `"ema"`.
        decay: float. g, the EMA decay in [0, 1). Defaults to 0.99.
        epsilon: float. Laplace smoothing of the cluster sizes. Defaults to 1e-5.
        restart_after: int. Training steps without use after which a code is
            restarted; 0 disables restarts. Defaults to 50.
        seed: int or None. Seed of the initial codebook and the restarts.
            Defaults to None.

    Example:

    >>> import numpy as np
    >>> vq = VectorQuantizer(num_embeddings=4, embedding_dim=2, seed=0)
    >>> out = vq(np.zeros((3, 5, 5, 2), "float32"))
    >>> out["codes"].shape, out["codes"].dtype.name, out["quantized"].shape
    (TensorShape([3, 5, 5]), 'int32', TensorShape([3, 5, 5, 2]))

    References:
        van den Oord et al., Neural Discrete Representation Learning,
        arXiv:1711.00937.
        Razavi et al., Generating Diverse High-Fidelity Images with VQ-VAE-2,
        arXiv:1906.00446.
    """

    def __init__(
        self,
        num_embeddings=128,
        embedding_dim=16,
        commitment_cost=0.25,
        codebook_update="ema",
        decay=0.99,
        epsilon=1e-5,
        restart_after=50,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("num_embeddings", num_embeddings),
            ("embedding_dim", embedding_dim),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        if codebook_update not in CODEBOOK_UPDATES:
            raise ValueError(
                f"Unknown `codebook_update` {codebook_update!r}. Valid values: "
                f"{', '.join(CODEBOOK_UPDATES)}."
            )
        if not 0 <= decay < 1:
            raise ValueError(f"`decay` must lie in [0, 1); got {decay!r}.")
        if not commitment_cost >= 0:
            raise ValueError(
                f"`commitment_cost` must be >= 0; got {commitment_cost!r}."
            )
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be > 0; got {epsilon!r}.")
        if int(restart_after) != restart_after or restart_after < 0:
            raise ValueError(
                f"`restart_after` must be an integer >= 0; got {restart_after!r}."
            )
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.commitment_cost = float(commitment_cost)
        self.codebook_update = codebook_update
        self.decay = float(decay)
        self.epsilon = float(epsilon)
        self.restart_after = int(restart_after)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        shape = (num_embeddings, embedding_dim)
        limit = math.sqrt(3.0 / embedding_dim)  # unit-variance entries on average
        self.codebook = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=seed),
            trainable=codebook_update == "loss",
            aggregation="only_first_replica",
            name="codebook",
        )
        stat = {"trainable": False, "aggregation": "only_first_replica"}
        self.cluster_size = self.add_weight(
            shape=(num_embeddings,), initializer="ones", name="cluster_size", **stat
        )
        self.embedding_sum = self.add_weight(
            shape=shape, initializer="zeros", name="embedding_sum", **stat
        )
        self.embedding_sum.assign(self.codebook)
        self.steps_unused = self.add_weight(
            shape=(num_embeddings,), initializer="zeros", name="steps_unused", **stat
        )
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    def nearest(self, inputs):
        """Returns the int32 index of the nearest code of each vector of `inputs`."""
        flat = tf.reshape(tf.cast(inputs, tf.float32), [-1, self.embedding_dim])
        codebook = tf.convert_to_tensor(self.codebook)
        distances = (
            tf.reduce_sum(flat**2, axis=1, keepdims=True)
            - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
            + tf.reduce_sum(codebook**2, axis=1)[None, :]
        )
        codes = tf.argmin(distances, axis=1, output_type=tf.int32)
        return tf.reshape(codes, tf.shape(inputs)[:-1])

    def lookup(self, codes):
        """Returns the code vectors e_k for integer `codes` (shape [..., D])."""
        return tf.gather(tf.convert_to_tensor(self.codebook), codes)

    def call(self, inputs, training=False):
        z_e = tf.cast(inputs, tf.float32)
        codes = self.nearest(z_e)
        z_q = self.lookup(codes)
        axes = list(range(1, len(z_e.shape)))
        commitment = tf.reduce_mean((z_e - tf.stop_gradient(z_q)) ** 2, axis=axes)
        codebook = tf.reduce_mean((tf.stop_gradient(z_e) - z_q) ** 2, axis=axes)
        return {
            "quantized": z_e + tf.stop_gradient(z_q - z_e),
            "codes": codes,
            "commitment_loss": commitment,
            "codebook_loss": codebook,
        }

    def counts(self, codes):
        """Assignments per code in the global batch (summed over replicas)."""
        flat = tf.reshape(codes, [-1])
        one_hot = tf.one_hot(flat, self.num_embeddings, dtype=tf.float32)
        return sum_over_replicas(tf.reduce_sum(one_hot, axis=0))

    def statistics(self, counts):
        """Returns `(perplexity, usage)` of a vector of assignment counts."""
        p = counts / tf.maximum(tf.reduce_sum(counts), 1.0)
        entropy = -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(p), p))
        usage = tf.reduce_mean(tf.cast(counts > 0, tf.float32))
        return tf.exp(entropy), usage

    def update(self, inputs, codes, counts=None):
        """One training step of the codebook: EMA statistics, then restarts.

        Args:
            inputs: tensor. This replica's encoder outputs z_e, [..., D].
            codes: tensor. Their nearest codes (`nearest(inputs)`).
            counts: tensor or None. `counts(codes)`, if already computed.
        """
        flat = tf.reshape(tf.cast(inputs, tf.float32), [-1, self.embedding_dim])
        flat_codes = tf.reshape(codes, [-1])
        if counts is None:
            counts = self.counts(flat_codes)
        if self.codebook_update == "ema":
            one_hot = tf.one_hot(flat_codes, self.num_embeddings, dtype=tf.float32)
            sums = sum_over_replicas(tf.matmul(one_hot, flat, transpose_a=True))
            g = self.decay
            size = g * self.cluster_size + (1.0 - g) * counts
            total = tf.reduce_sum(size)
            smoothed = (
                (size + self.epsilon)
                / (total + self.num_embeddings * self.epsilon)
                * total
            )
            embedding_sum = g * self.embedding_sum + (1.0 - g) * sums
            codebook = embedding_sum / smoothed[:, None]
        else:
            size, embedding_sum = self.cluster_size, self.embedding_sum
            codebook = tf.convert_to_tensor(self.codebook)
        seed = self.seed_generator.next()
        unused = tf.where(counts > 0, 0.0, self.steps_unused + 1.0)
        if self.restart_after:
            rows = sum_over_replicas(tf.shape(flat)[0])
            indices = tf.random.stateless_uniform(
                [self.num_embeddings], seed=seed, minval=0, maxval=rows, dtype=tf.int32
            )
            candidates = gather_rows(flat, indices)
            dead = unused >= self.restart_after
            codebook = tf.where(dead[:, None], candidates, codebook)
            embedding_sum = tf.where(dead[:, None], candidates, embedding_sum)
            size = tf.where(dead, 1.0, size)
            unused = tf.where(dead, 0.0, unused)
        self.codebook.assign(codebook)
        self.cluster_size.assign(size)
        self.embedding_sum.assign(embedding_sum)
        self.steps_unused.assign(unused)

    # The seed generator's state is saved too, so a resumed run restarts alike.
    def _own_state(self):
        own = self._trainable_variables + self._non_trainable_variables
        return own + [self.seed_generator.state]

    def save_own_variables(self, store):
        for index, variable in enumerate(self._own_state()):
            store[f"{index}"] = variable

    def load_own_variables(self, store):
        for index, variable in enumerate(self._own_state()):
            variable.assign(store[f"{index}"])

    def get_config(self):
        config = super().get_config()
        config.update(
            num_embeddings=self.num_embeddings,
            embedding_dim=self.embedding_dim,
            commitment_cost=self.commitment_cost,
            codebook_update=self.codebook_update,
            decay=self.decay,
            epsilon=self.epsilon,
            restart_after=self.restart_after,
            seed=self.seed,
        )
        return config
