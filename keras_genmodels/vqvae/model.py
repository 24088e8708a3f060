"""The VQ-VAE as a `keras.Model` that trains with `fit()`, with a PixelCNN prior."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels.base import (
    GenerativeModel,
    call_on_zeros,
    data_shape_argument,
    functional_input_shapes,
    renamed_config_key,
)
from keras_genmodels.vqvae.networks import build_vq_decoder, build_vq_encoder
from keras_genmodels.vqvae.pixelcnn import PixelCNNPrior, check_codes, check_num_samples
from keras_genmodels.vqvae.quantizer import VectorQuantizer


@keras.saving.register_keras_serializable(package="keras_genmodels")
class VQVAE(GenerativeModel):
    """Vector-quantised autoencoder (VQ-VAE) with a gated PixelCNN prior.

    The encoder maps an image x to a grid z_e of D-dimensional vectors, the
    `VectorQuantizer` replaces each by its nearest codebook entry z_q (integer
    codes k_ij) and the decoder reconstructs x from z_q. Per example:

        reconstruction_loss = mean over pixels (x - decoder(z_q))^2
        commitment_loss     = mean ||z_e - sg[z_q]||^2
        objective = reconstruction_loss + commitment_cost * commitment_loss
                    (+ codebook_loss = mean ||sg[z_e] - z_q||^2 if "loss")

    averaged over the global batch (`GenerativeModel.global_mean`), with the
    straight-through gradient through the quantizer. With
    `codebook_update="ema"` the codebook follows moving averages of the global
    batch's assignments after each step (see `VectorQuantizer`), so N replicas
    train exactly as one device. Metrics: `loss` (the objective),
    `reconstruction_loss`, `commitment_loss`, `perplexity` and `usage` of the
    codebook (per batch, averaged).

    Images come from a `PixelCNNPrior` over the code grid, trained afterwards
    on the codes of the training images by `fit_prior`; `sample(n, seed)`
    draws codes from it and decodes them. The prior is saved with the model;
    its optimizer state is not (`fit_prior` compiles it when needed).

    Args:
        encoder: keras.Model or None. Images -> (h, w, embedding_dim). Defaults
            to `build_vq_encoder(data_shape, embedding_dim)` (h = H/4).
        decoder: keras.Model or None. (h, w, embedding_dim) -> images. Defaults
            to `build_vq_decoder(data_shape, embedding_dim)`.
        prior: PixelCNNPrior or None. Prior over the code grid. Defaults to
            `PixelCNNPrior(num_embeddings, (h, w), seed=seed)`.
        data_shape: tuple or None. `(H, W, C)`; required without networks or
            with a subclassed encoder, else read from the encoder's input.
        num_embeddings: int. Codebook size K. Defaults to 128.
        embedding_dim: int. Size D of a code vector. Defaults to 16.
        commitment_cost: float. beta. Defaults to 0.25.
        codebook_update: str. `"ema"` or `"loss"`. Defaults to `"ema"`.
        decay: float. EMA decay. Defaults to 0.99.
        restart_after: int. Steps without use before a code is restarted (0:
            never). Defaults to 50.
        seed: int or None. Seed of the codebook, restarts and sampling.
            Defaults to None.
        input_shape: deprecated alias of `data_shape` (a DeprecationWarning).

    Example:

    >>> import numpy as np
    >>> vqvae = VQVAE(data_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4,
    ...               seed=0)
    >>> vqvae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
    >>> sorted(vqvae.fit(x, epochs=1, batch_size=16, verbose=0).history)
    ['commitment_loss', 'loss', 'perplexity', 'reconstruction_loss', 'usage']
    >>> vqvae.encode(x[:3]).shape
    TensorShape([3, 2, 2])
    >>> _ = vqvae.fit_prior(x, epochs=1, verbose=0)
    >>> vqvae.sample(2, seed=0).shape
    TensorShape([2, 8, 8, 1])

    References:
        van den Oord et al., Neural Discrete Representation Learning,
        arXiv:1711.00937.
        van den Oord et al., Conditional Image Generation with PixelCNN
        Decoders, arXiv:1606.05328.
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        prior=None,
        data_shape=None,
        num_embeddings=128,
        embedding_dim=16,
        commitment_cost=0.25,
        codebook_update="ema",
        decay=0.99,
        restart_after=50,
        seed=None,
        input_shape=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        data_shape = data_shape_argument(data_shape, "input_shape", input_shape)
        if (encoder is None) != (decoder is None):
            raise ValueError(
                "Pass both `encoder` and `decoder`, or neither (then `data_shape` "
                f"builds the defaults); got encoder={encoder!r}, decoder={decoder!r}."
            )
        if encoder is None:
            if data_shape is None:
                raise ValueError(
                    "`data_shape` is required when `encoder` and `decoder` are "
                    "omitted; got data_shape=None."
                )
            encoder = build_vq_encoder(data_shape, embedding_dim)
            decoder = build_vq_decoder(data_shape, embedding_dim)
        if data_shape is None:
            inputs = functional_input_shapes(encoder)
            if inputs is None or None in inputs[0]:
                raise ValueError(
                    "`data_shape` is required with a subclassed `encoder` (or one "
                    "whose input shape is not fixed); got data_shape=None."
                )
            data_shape = tuple(int(d) for d in inputs[0])
        grids = call_on_zeros(encoder, tf.zeros([2, *data_shape]), "the encoder")
        output = tuple(grids.shape[1:])
        if len(output) != 3 or output[-1] != embedding_dim:
            raise ValueError(
                f"`encoder` must output (h, w, embedding_dim={embedding_dim}) grids; "
                f"its output shape is {tuple(grids.shape)}."
            )
        call_on_zeros(decoder, tf.zeros_like(grids), "the decoder")
        self.encoder = encoder
        self.decoder = decoder
        self.quantizer = VectorQuantizer(
            num_embeddings=num_embeddings,
            embedding_dim=embedding_dim,
            commitment_cost=commitment_cost,
            codebook_update=codebook_update,
            decay=decay,
            restart_after=restart_after,
            seed=seed,
            name="quantizer",
        )
        self.grid_shape = tuple(int(d) for d in output[:2])
        if prior is None:
            prior = PixelCNNPrior(num_embeddings, self.grid_shape, seed=seed)
        if (
            prior.num_embeddings != num_embeddings
            or prior.grid_shape != self.grid_shape
        ):
            raise ValueError(
                f"`prior` models {prior.num_embeddings} codes on a "
                f"{prior.grid_shape} grid; this model has {num_embeddings} codes on "
                f"a {self.grid_shape} grid."
            )
        self.prior = prior
        self.data_shape = data_shape
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.commitment_cost = float(commitment_cost)
        self.codebook_update = codebook_update
        self.decay = float(decay)
        self.restart_after = int(restart_after)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = (
            "loss",
            "reconstruction_loss",
            "commitment_loss",
            "perplexity",
            "usage",
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.built = True

    @property
    def autoencoder_variables(self):
        """The variables the optimizer trains: encoder, decoder (and codebook)."""
        return (
            self.encoder.trainable_variables
            + self.decoder.trainable_variables
            + self.quantizer.trainable_variables
        )

    # ---- losses, shared by train_step and test_step ---------------------------
    def compute_losses(self, x, training=False) -> dict:
        """Per-example losses, plus `z_e`, `codes` and the codebook statistics."""
        count = tf.shape(x)[0]
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            # TensorFlow 2.21's CPU strided convolutions return a wrong shape for
            # an empty batch (a replica's share of a small final batch): a zero
            # example is appended and dropped again from every output.
            padding = tf.zeros(tf.concat([[1], tf.shape(x)[1:]], 0), x.dtype)
            x_in = tf.concat([x, padding], axis=0)
        else:
            x_in = x
        z_e = self.encoder(x_in, training=training)
        quantized = self.quantizer(z_e, training=training)
        reconstruction = self.decoder(quantized["quantized"], training=training)
        z_e, reconstruction = z_e[:count], reconstruction[:count]
        quantized = {name: value[:count] for name, value in quantized.items()}
        error = (tf.cast(x, tf.float32) - tf.cast(reconstruction, tf.float32)) ** 2
        error = tf.reduce_mean(error, axis=list(range(1, len(self.data_shape) + 1)))
        objective = error + self.commitment_cost * quantized["commitment_loss"]
        if self.codebook_update == "loss":
            objective = objective + quantized["codebook_loss"]
        counts = self.quantizer.counts(quantized["codes"])
        perplexity, usage = self.quantizer.statistics(counts)
        return {
            "reconstruction_loss": error,
            "commitment_loss": quantized["commitment_loss"],
            "loss": objective,
            "perplexity": perplexity,
            "usage": usage,
            "counts": counts,
            "z_e": z_e,
            "codes": quantized["codes"],
        }

    def _unpack(self, data):
        return self.valid_batch(data[0] if isinstance(data, (tuple, list)) else data)

    def _update_trackers(self, losses):
        for name, tracker in self.trackers.items():
            tracker.update_state(losses[name])
        return self.metric_logs()

    def train_step(self, data):
        x = self._unpack(data)
        variables = self.autoencoder_variables
        with tf.GradientTape() as tape:
            losses = self.compute_losses(x, training=True)
            scaled = self.optimizer.scale_loss(self.global_mean(losses["loss"]))
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        self.quantizer.update(losses["z_e"], losses["codes"], losses["counts"])
        return self._update_trackers(losses)

    def test_step(self, data):
        return self._update_trackers(self.compute_losses(self._unpack(data)))

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        z_e = self.encoder(inputs, training=training)
        return self.decoder(self.quantizer(z_e)["quantized"], training=training)

    # ---- user-facing methods --------------------------------------------------
    def encode(self, x):
        """Returns the int32 codes [B, h, w] of images `x`."""
        return self.quantizer.nearest(self.encoder(self.check_examples(x)))

    def check_codes(self, codes, argument: str = "codes"):
        """Validates integer codes in [0, num_embeddings) on the code grid."""
        return check_codes(codes, self.num_embeddings, self.grid_shape, argument)

    def decode_codes(self, codes):
        """Decoder output for int codes, without input checks (graph-friendly)."""
        return self.decoder(self.quantizer.lookup(codes), training=False)

    def decode(self, codes):
        """Returns the images decoded from int `codes` [B, h, w]."""
        return self.decode_codes(self.check_codes(codes))

    def reconstruct(self, x):
        """Returns decoder(z_q(x)): the deterministic reconstructions of `x`."""
        return self(self.check_examples(x))

    def sample(self, num_samples: int, seed=None):
        """Decodes `num_samples` code grids drawn from the prior (same seed, same)."""
        num_samples = check_num_samples(num_samples)
        return self.decode_codes(self.prior.sample_codes(num_samples, seed))

    def codes_of(self, x, batch_size: int = 256) -> np.ndarray:
        """Codes of images in an array or a `tf.data` pipeline of `x`/`(x, y)`."""
        if isinstance(x, tf.data.Dataset):
            self._check_fit_input(x, "x")
            batches = (b[0] if isinstance(b, (tuple, list)) else b for b in x)
        else:
            x = self.check_examples(x)
            batches = (x[i : i + batch_size] for i in range(0, len(x), batch_size))
        encode = tf.function(
            lambda b: self.quantizer.nearest(self.encoder(b)),
            input_signature=[tf.TensorSpec([None, *self.data_shape], tf.float32)],
        )
        return np.concatenate([encode(tf.cast(b, tf.float32)).numpy() for b in batches])

    def fit_prior(self, x, validation_data=None, optimizer=None, **kwargs):
        """Trains the PixelCNN prior on the codes of images `x` with `fit()`.

        Args:
            x: array or `tf.data.Dataset`. Training images (`x` or `(x, y)`).
            validation_data: array, dataset or None. Held-out images whose codes
                give `val_loss` / `val_bits_per_code`. Defaults to None.
            optimizer: optimizer or None. Compiles the prior with it; None keeps
                the prior's compiled optimizer, or Adam(1e-3). Defaults to None.
            **kwargs: passed to `PixelCNNPrior.fit` (epochs, batch_size, ...).

        Returns:
            The `History` of the prior's `fit`.
        """
        if optimizer is not None or getattr(self.prior, "optimizer", None) is None:
            self.prior.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3))
        codes = self.codes_of(x)
        if validation_data is not None:
            validation_data = (self.codes_of(validation_data),)
        return self.prior.fit(codes, validation_data=validation_data, **kwargs)

    def prior_bits_per_code(self, x) -> float:
        """Mean -log2 p(code | previous codes) of the prior on the codes of `x`."""
        return self.prior.bits_per_code(self.codes_of(x))

    def compile(self, optimizer="adam", **kwargs):
        """Configures training; the loss terms are built in.

        `kwargs` go to `keras.Model.compile`; `steps_per_execution` defaults to 8
        on a single replica, else 1 (see `GenerativeModel`).
        """
        self.compile_one_optimizer(
            optimizer,
            self.autoencoder_variables,
            "the reconstruction and commitment losses are built in",
            **kwargs,
        )

    # ---- serialization ---------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            prior=keras.saving.serialize_keras_object(self.prior),
            data_shape=list(self.data_shape),
            num_embeddings=self.num_embeddings,
            embedding_dim=self.embedding_dim,
            commitment_cost=self.commitment_cost,
            codebook_update=self.codebook_update,
            decay=self.decay,
            restart_after=self.restart_after,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = renamed_config_key(config, "input_shape")
        for key in ("encoder", "decoder", "prior"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
