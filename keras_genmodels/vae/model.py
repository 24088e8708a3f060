"""The variational autoencoder as a `keras.Model` that trains with `fit()`."""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_genmodels import networks, validation
from keras_genmodels.base import GenerativeModel
from keras_genmodels.vae.iwae import importance_weighted_log_likelihood
from keras_genmodels.vae.likelihoods import get_likelihood

tfd = tfp.distributions

KL_ESTIMATORS = ("analytic", "sampled")


@keras.saving.register_keras_serializable(package="keras_genmodels")
class VAE(GenerativeModel):
    """Variational autoencoder (Kingma & Welling) with TFP distributions.

    The encoder gives a diagonal Gaussian posterior q(z | x), the prior is
    p(z) = N(0, I) and the decoder parameterises the likelihood p(x | z). Training
    minimises the negative evidence lower bound (ELBO), per example in nats:

        -ELBO(x) = -E_q[log p(x | z)] + KL(q(z | x) || p(z))
        objective = -log p(x | z_1) + beta_t * KL,  z_1 = mu + sigma * eps
        beta_t = beta * min(1, step / kl_warmup_steps)    (beta_t = beta if 0)

    The KL term is `tfd.kl_divergence` (analytic) or the one-sample estimate
    log q(z_1 | x) - log p(z_1) (`kl_estimator="sampled"`). The per-example
    objective is averaged over the global batch (`GenerativeModel.global_mean`),
    so gradients are right under any `tf.distribute` strategy. Reported
    metrics: `loss` (the negative ELBO, whatever beta is), `reconstruction_loss`
    and `kl_loss`.

    Args:
        encoder: keras.Model or None. Maps x to `2 * latent_dim` features (mean,
            then log-variance) or to a pair `(mean, log_variance)`. Defaults to
            `networks.build_encoder(input_shape, latent_dim)`.
        decoder: keras.Model or None. Maps z to the likelihood's parameters with
            the data's shape (logits for Bernoulli, means for Gaussian). Defaults
            to `networks.build_decoder(input_shape, latent_dim)`.
        input_shape: tuple or None. Shape of one example; required when the
            networks are omitted, else read from the encoder.
        latent_dim: int. Size of z; read from the decoder when one is given.
            Defaults to 16.
        likelihood: str or likelihood layer. `"bernoulli"` or `"gaussian"`, or a
            `BernoulliLikelihood`/`GaussianLikelihood`. Defaults to `"bernoulli"`.
        beta: float. Weight of the KL term in the objective (beta-VAE). Defaults
            to 1.0.
        kl_warmup_steps: int. Number of optimizer steps over which the KL weight
            rises linearly from 0 to `beta`; 0 disables warm-up. Defaults to 0.
        kl_estimator: str. `"analytic"` or `"sampled"`. Defaults to `"analytic"`.
        seed: int or None. Seed of the model's sampling noise. Defaults to None.

    Example:

    >>> import numpy as np, keras
    >>> vae = VAE(input_shape=(8, 8, 1), latent_dim=2, seed=0)
    >>> vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> x = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
    >>> history = vae.fit(x, epochs=1, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['kl_loss', 'loss', 'reconstruction_loss']

    References:
        Kingma & Welling, Auto-Encoding Variational Bayes, arXiv:1312.6114.
        Higgins et al., beta-VAE, ICLR 2017.
        Bowman et al., Generating Sentences from a Continuous Space (KL
        annealing), arXiv:1511.06349.
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        input_shape=None,
        latent_dim=16,
        likelihood="bernoulli",
        beta=1.0,
        kl_warmup_steps=0,
        kl_estimator="analytic",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (encoder is None) != (decoder is None):
            raise ValueError(
                "Pass both `encoder` and `decoder`, or neither (then `input_shape` "
                f"builds the defaults); got encoder={encoder!r}, decoder={decoder!r}."
            )
        if encoder is None:
            if input_shape is None:
                raise ValueError(
                    "`input_shape` is required when `encoder` and `decoder` are "
                    "omitted; got input_shape=None."
                )
            encoder = networks.build_encoder(input_shape, latent_dim)
            decoder = networks.build_decoder(input_shape, latent_dim)
            data_shape = tuple(int(d) for d in input_shape)
        else:
            data_shape = tuple(encoder.input_shape[1:])
            latent_dim = int(decoder.input_shape[-1])
        if kl_estimator not in KL_ESTIMATORS:
            raise ValueError(
                f"Unknown `kl_estimator` {kl_estimator!r}. Valid values: "
                f"{', '.join(KL_ESTIMATORS)}."
            )
        if not beta >= 0:
            raise ValueError(f"`beta` must be >= 0; got {beta!r}.")
        if int(kl_warmup_steps) != kl_warmup_steps or kl_warmup_steps < 0:
            raise ValueError(
                f"`kl_warmup_steps` must be an integer >= 0; got {kl_warmup_steps!r}."
            )
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = get_likelihood(likelihood)
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)
        self.data_shape = data_shape
        self.latent_dim = latent_dim
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.kl_estimator = kl_estimator
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    # ---- probabilistic pieces -------------------------------------------------
    def prior(self) -> tfd.Distribution:
        """Returns p(z) = N(0, I)."""
        return tfd.MultivariateNormalDiag(
            loc=tf.zeros([self.latent_dim]), scale_diag=tf.ones([self.latent_dim])
        )

    def posterior(self, x, training=False) -> tfd.Distribution:
        """Returns q(z | x), a `tfd.MultivariateNormalDiag` with batch shape [B]."""
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, (list, tuple)):
            loc, log_variance = outputs
        else:
            loc, log_variance = tf.split(outputs, 2, axis=-1)
        loc = tf.cast(loc, tf.float32)
        scale = tf.exp(0.5 * tf.cast(log_variance, tf.float32))
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)

    def likelihood_distribution(self, z, training=False) -> tfd.Distribution:
        """Returns p(x | z) with one event per example."""
        params = self.decoder(z, training=training)
        return self.likelihood.distribution(params, event_ndims=len(self.data_shape))

    def kl_weight(self):
        """Returns beta times the warm-up factor at the optimizer's current step."""
        if not self.kl_warmup_steps or getattr(self, "optimizer", None) is None:
            return tf.constant(self.beta, tf.float32)
        step = tf.cast(self.optimizer.iterations + 1, tf.float32)
        return self.beta * tf.minimum(1.0, step / self.kl_warmup_steps)

    # ---- losses, shared by train_step and test_step ---------------------------
    def compute_losses(self, x, training=False) -> dict:
        """Returns per-example `reconstruction_loss`, `kl_loss`, `loss`, `objective`."""
        q = self.posterior(x, training=training)
        noise = self.draw_noise(tf.shape(q.mean()))
        z = q.mean() + q.stddev() * noise
        reconstruction = -self.likelihood_distribution(z, training).log_prob(
            tf.cast(x, tf.float32)
        )
        if self.kl_estimator == "analytic":
            kl = tfd.kl_divergence(q, self.prior())
        else:
            kl = q.log_prob(z) - self.prior().log_prob(z)
        return {
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
            "loss": reconstruction + kl,
            "objective": reconstruction + self.kl_weight() * kl,
        }

    def _unpack(self, data):
        return self.valid_batch(data[0] if isinstance(data, (tuple, list)) else data)

    def _update_trackers(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.reconstruction_tracker.update_state(losses["reconstruction_loss"])
        self.kl_tracker.update_state(losses["kl_loss"])
        return self.metric_logs()

    def train_step(self, data):
        x = self._unpack(data)
        with tf.GradientTape() as tape:
            losses = self.compute_losses(x, training=True)
            objective = self.global_mean(losses["objective"])
            scaled = self.optimizer.scale_loss(objective)
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(
            zip(gradients, self.trainable_variables, strict=True)
        )
        return self._update_trackers(losses)

    def test_step(self, data):
        return self._update_trackers(self.compute_losses(self._unpack(data)))

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs, training=False):
        q = self.posterior(inputs, training=training)
        return self.likelihood.mean(self.decoder(q.mean(), training=training))

    # ---- user-facing methods --------------------------------------------------
    @property
    def unit_interval(self):
        return self.likelihood.requires_unit_interval

    def encode(self, x):
        """Returns the posterior `(mean, stddev)` of q(z | x), each [B, latent_dim]."""
        q = self.posterior(self.check_examples(x))
        return q.mean(), q.stddev()

    def decode(self, z):
        """Returns E[x | z], the likelihood's mean, for latent codes `z`."""
        z = validation.check_array(z, (self.latent_dim,), False, "z")
        return self.likelihood.mean(self.decoder(z))

    def reconstruct(self, x):
        """Returns E[x | z = posterior mean of x]: deterministic reconstructions."""
        return self(self.check_examples(x))

    def sample(self, num_samples: int, seed=None):
        """Decodes `num_samples` draws z ~ p(z); the same int `seed` gives the same."""
        if (
            isinstance(num_samples, bool)
            or not isinstance(num_samples, int)
            or (num_samples <= 0)
        ):
            raise ValueError(
                f"`num_samples` must be a positive integer; got {num_samples!r}."
            )
        z = keras.random.normal(
            (num_samples, self.latent_dim),
            seed=self.seed_generator if seed is None else seed,
        )
        return self.likelihood.mean(self.decoder(z))

    def log_likelihood(self, x, num_samples=1000, batch_size=100, seed=None, verbose=0):
        """Importance-weighted estimate of log p(x) per example, in nats (numpy).

        See `keras_genmodels.vae.iwae.importance_weighted_log_likelihood`.
        """
        return importance_weighted_log_likelihood(
            self, self.check_examples(x), num_samples, batch_size, seed, verbose
        )

    def compile(self, optimizer="adam", **kwargs):
        """Configures training; `loss`/`metrics` are fixed by the model itself.

        `kwargs` go to `keras.Model.compile`; `steps_per_execution` defaults to 8
        on a single replica, else 1 (see `GenerativeModel`).
        """
        for name in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"VAE.compile() does not take `{name}` (got {kwargs[name]!r}): "
                    "the negative ELBO and its terms are built in."
                )
        super().compile(optimizer=optimizer, **kwargs)
        # Build the optimizer now, so checkpoints and BackupAndRestore see its state.
        self.optimizer.build(self.trainable_variables)

    # ---- serialization ---------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            input_shape=self.input_shape_arg,
            latent_dim=self.latent_dim,
            likelihood=keras.saving.serialize_keras_object(self.likelihood),
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            kl_estimator=self.kl_estimator,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder", "likelihood"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
