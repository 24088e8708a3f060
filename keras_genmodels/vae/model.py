"""The variational autoencoder as a `keras.Model` that trains with `fit()`."""

from __future__ import annotations

import numbers

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from keras_genmodels import networks, validation
from keras_genmodels.base import (
    GenerativeModel,
    call_on_zeros,
    data_shape_argument,
    functional_input_shapes,
    renamed_config_key,
)
from keras_genmodels.vae.iwae import importance_weighted_log_likelihood
from keras_genmodels.vae.likelihoods import get_likelihood
from keras_genmodels.vae.priors import get_prior

tfd = tfp.distributions

KL_ESTIMATORS = ("auto", "analytic", "sampled")
# Seeds of stateless sampling are int32 pairs; int64 ones are reduced modulo
# this, as Keras does for `keras.random.normal(seed=int)`.
_SEED_MODULUS = 2**31 - 2


def _check_num_samples(num_samples):
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or (
        num_samples <= 0
    ):
        raise ValueError(
            f"`num_samples` must be a positive integer; got {num_samples!r}."
        )


def _network_shapes(encoder, decoder, data_shape, latent_dim):
    """`(latent_dim, data_shape)` from the arguments or the networks; builds both.

    A functional decoder's input gives `latent_dim` and a functional encoder's
    input `data_shape`; for subclassed networks they are the arguments, or the
    shape of the decoder's output on a zero batch. The encoder must give
    2 * latent_dim features (or a pair of latent_dim each) on a zero batch.
    """
    decoder_inputs = functional_input_shapes(decoder)
    encoder_inputs = functional_input_shapes(encoder)
    if decoder_inputs is not None:
        latent_dim = decoder_inputs[0][-1]
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or (
        latent_dim < 1
    ):
        raise ValueError(f"`latent_dim` must be an int >= 1; got {latent_dim!r}.")
    output = call_on_zeros(decoder, tf.zeros([2, latent_dim]), "the decoder")
    shape = tuple(int(d) for d in output.shape[1:])
    known = [("`data_shape`", data_shape)]
    if encoder_inputs is not None and None not in encoder_inputs[0]:
        known.append(("the encoder's input", encoder_inputs[0]))
    for name, other in known:
        if other is not None and tuple(other) != shape:
            raise ValueError(
                f"The decoder's output {shape} does not match {name} {tuple(other)}."
            )
    features = call_on_zeros(encoder, tf.zeros([2, *shape]), "the encoder")
    widths = [int(t.shape[-1]) for t in tf.nest.flatten(features)]
    if widths not in ([2 * latent_dim], [latent_dim, latent_dim]):
        raise ValueError(
            f"The encoder must output 2 * latent_dim = {2 * latent_dim} features "
            f"(or a pair of {latent_dim}); it gives {widths}. Pass the networks' "
            "`latent_dim`."
        )
    return latent_dim, shape


@keras.saving.register_keras_serializable(package="keras_genmodels")
class VAE(GenerativeModel):
    """Variational autoencoder (Kingma & Welling) with TFP distributions.

    The encoder gives a diagonal Gaussian posterior q(z | x), the prior p(z) is a
    layer (N(0, I) by default, or a learnable mixture of Gaussians, or the
    VampPrior) and the decoder parameterises the likelihood p(x | z). Training
    minimises the negative evidence lower bound (ELBO), per example in nats:

        -ELBO(x) = -E_q[log p(x | z)] + KL(q(z | x) || p(z))
        objective = -log p(x | z_1) + beta_t * KL,  z_1 = mu + sigma * eps
        beta_t = beta * min(1, step / kl_warmup_steps)    (beta_t = beta if 0)

    The KL term is `tfd.kl_divergence` (analytic) or the one-sample Monte Carlo
    estimate log q(z_1 | x) - log p(z_1) on the same reparameterised z_1
    (unbiased; its noise averages out over a batch). `kl_estimator="auto"` picks
    the analytic KL when TFP registers one for (posterior, prior), decided once
    when the model is built: N(0, I) -> analytic, mixture and VampPrior ->
    Monte Carlo. The per-example objective is averaged over the global batch
    (`GenerativeModel.global_mean`), so gradients are right under any
    `tf.distribute` strategy; the prior's variables are trained with the
    networks. Reported metrics: `loss` (the negative ELBO, whatever beta is),
    `reconstruction_loss` and `kl_loss`.

    Args:
        encoder: keras.Model or None. Maps x to `2 * latent_dim` features (mean,
            then log-variance) or to a pair `(mean, log_variance)`. Defaults to
            `networks.build_encoder(data_shape, latent_dim)`. Functional or
            subclassed.
        decoder: keras.Model or None. Maps z to the likelihood's parameters with
            the data's shape (logits for Bernoulli, means for Gaussian). Defaults
            to `networks.build_decoder(data_shape, latent_dim)`. Functional or
            subclassed.
        data_shape: tuple or None. Shape of one example; required when the
            networks are omitted, else the decoder's output shape (checked
            against it when given). Both networks are built on a zero batch.
        latent_dim: int. Size of z; read from a functional decoder's input,
            else this value. Defaults to 16.
        likelihood: str or likelihood layer. `"bernoulli"` or `"gaussian"`, or a
            `BernoulliLikelihood`/`GaussianLikelihood`. Defaults to `"bernoulli"`.
        prior: str or prior layer. `"standard_normal"`, `"mixture"` (10
            components) or `"vamp"` (100 pseudo-inputs), or a
            `StandardNormalPrior`, `MixturePrior(num_components)`,
            `VampPrior(num_pseudo_inputs)` (see `keras_genmodels.vae.priors`).
            Kept as `prior_layer`; `prior()` returns p(z). Defaults to
            `"standard_normal"`.
        beta: float. Weight of the KL term in the objective (beta-VAE). Defaults
            to 1.0.
        kl_warmup_steps: int. Number of optimizer steps over which the KL weight
            rises linearly from 0 to `beta`; 0 disables warm-up. Defaults to 0.
        kl_estimator: str. `"auto"` (analytic where TFP has it, else sampled),
            `"analytic"` (an error if TFP has no KL for the prior) or
            `"sampled"`. The outcome is the attribute `analytic_kl` (bool).
            Defaults to `"auto"`.
        seed: int or None. Seed of the model's sampling noise. Defaults to None.
        input_shape: deprecated alias of `data_shape` (a DeprecationWarning).

    Example:

    >>> import numpy as np, keras
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2, prior="mixture", seed=0)
    >>> vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> x = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
    >>> history = vae.fit(x, epochs=1, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['kl_loss', 'loss', 'reconstruction_loss']
    >>> vae.analytic_kl  # no KL(Gaussian || mixture) in TFP: Monte Carlo
    False
    >>> vae.sample_latents(3, seed=[1, 2]).shape
    TensorShape([3, 2])

    References:
        Kingma & Welling, Auto-Encoding Variational Bayes, arXiv:1312.6114.
        Higgins et al., beta-VAE, ICLR 2017.
        Bowman et al., Generating Sentences from a Continuous Space (KL
        annealing), arXiv:1511.06349.
        Tomczak & Welling, VAE with a VampPrior, arXiv:1705.07120.
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        data_shape=None,
        latent_dim=16,
        likelihood="bernoulli",
        prior="standard_normal",
        beta=1.0,
        kl_warmup_steps=0,
        kl_estimator="auto",
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
            encoder = networks.build_encoder(data_shape, latent_dim)
            decoder = networks.build_decoder(data_shape, latent_dim)
        latent_dim, data_shape = _network_shapes(
            encoder, decoder, data_shape, latent_dim
        )
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
        self.data_shape = data_shape
        self.latent_dim = latent_dim
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.prior_layer = get_prior(prior)
        if not self.prior_layer.built:
            self.prior_layer.build(self.latent_dim, self.data_shape, self.unit_interval)
        else:
            built_for = (self.prior_layer.latent_dim, self.prior_layer.data_shape)
            if built_for[0] != self.latent_dim or built_for[1] not in (
                None,
                self.data_shape,
            ):
                raise ValueError(
                    f"`prior` was built for latent_dim={built_for[0]} and data "
                    f"shape {built_for[1]}, but the model has latent_dim="
                    f"{self.latent_dim} and data shape {self.data_shape}; pass "
                    "an unbuilt prior."
                )
        self.kl_estimator = kl_estimator
        self.analytic_kl = self._analytic_kl_available(kl_estimator)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    def _analytic_kl_available(self, kl_estimator) -> bool:
        """Whether the KL term is analytic: TFP registers KL(q || p) (build time)."""
        if kl_estimator == "sampled":
            return False
        q = tfd.MultivariateNormalDiag(
            loc=tf.zeros([1, self.latent_dim]), scale_diag=tf.ones([1, self.latent_dim])
        )
        p = self.prior()
        try:
            tfd.kl_divergence(q, p)
        except NotImplementedError:
            if kl_estimator == "analytic":
                raise ValueError(
                    "`kl_estimator='analytic'` needs a KL divergence that TFP "
                    f"registers for ({type(q).__name__}, {type(p).__name__}); the "
                    f"prior {type(self.prior_layer).__name__} has none. Use "
                    "kl_estimator='auto' or 'sampled' (Monte Carlo)."
                ) from None
            return False
        return True

    # ---- probabilistic pieces -------------------------------------------------
    def prior(self, training=False) -> tfd.Distribution:
        """Returns p(z), the prior layer's `tfd.Distribution` (event [latent_dim])."""
        return self.prior_layer.distribution(self, training=training)

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
        prior = self.prior(training=training)
        if self.analytic_kl:
            kl = tfd.kl_divergence(q, prior)
        else:
            kl = q.log_prob(z) - prior.log_prob(z)
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

    def sample_latents(self, num_samples, seed):
        """Draws z ~ p(z), shape [num_samples, latent_dim], statelessly from `seed`.

        The draw is a pure function of `seed` (no state is read or advanced), so
        it is reproducible inside a `tf.function` or a SavedModel endpoint: the
        same seed gives the same z. `VAE.sample(n, seed=s)` decodes
        `sample_latents(n, [s, 0])`; Keras's `keras.random.normal(seed=s)` uses
        the same seed pair, so for the N(0, I) prior the draws equal it.

        Args:
            num_samples: int or int32 scalar tensor >= 1.
            seed: shape-[2] int32 or int64 tensor (or a pair of ints). int64
                values are reduced modulo 2**31 - 2 to the int32 pair that TFP's
                stateless samplers take, as Keras does.

        Returns:
            A float32 tensor [num_samples, latent_dim].
        """
        seed = tf.convert_to_tensor(seed)
        if seed.dtype not in (tf.int32, tf.int64) or seed.shape.as_list() != [2]:
            raise ValueError(
                "`seed` must be a shape-[2] int32 or int64 tensor; got dtype "
                f"{seed.dtype.name} and shape {seed.shape}."
            )
        if seed.dtype == tf.int64:
            seed = tf.cast(tf.math.floormod(seed, _SEED_MODULUS), tf.int32)
        if isinstance(num_samples, int):
            _check_num_samples(num_samples)
            checks = []
        else:
            num_samples = tf.convert_to_tensor(num_samples, tf.int32)
            checks = [
                tf.debugging.assert_positive(
                    num_samples, message="num_samples must be >= 1"
                )
            ]
        with tf.control_dependencies(checks):
            return self.prior().sample(num_samples, seed=seed)

    def sample(self, num_samples: int, seed=None):
        """Decodes `num_samples` draws z ~ p(z); the same int `seed` gives the same.

        With `seed=None` the model's seed generator supplies (and advances) the
        seed; see `sample_latents` for the stateless draw.
        """
        _check_num_samples(num_samples)
        if seed is None:
            seed = self.seed_generator.next()
        elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
        else:
            seed = tf.constant([int(seed), 0], tf.int64)
        z = self.sample_latents(num_samples, seed)
        return self.likelihood.mean(self.decoder(z))

    def log_likelihood(
        self, x, num_samples=1000, batch_size=100, seed=None, verbose="auto"
    ):
        """Importance-weighted estimate of log p(x) per example, in nats (numpy).

        `verbose="auto"` shows a progress bar labelled "IWAE log p(x), K=..." when
        the work is long (at least 100,000 importance samples in total, a few
        seconds on a CPU); 1 always, 0 never, 2 one line at the end. See
        `keras_genmodels.vae.iwae.importance_weighted_log_likelihood`.
        """
        return importance_weighted_log_likelihood(
            self, self.check_examples(x), num_samples, batch_size, seed, verbose
        )

    def compile(self, optimizer="adam", **kwargs):
        """Configures training; `loss`/`metrics` are fixed by the model itself.

        `kwargs` go to `keras.Model.compile`; `steps_per_execution` defaults to 8
        on a single replica, else 1 (see `GenerativeModel`).
        """
        self.compile_one_optimizer(
            optimizer,
            self.trainable_variables,
            "the negative ELBO and its terms are built in",
            **kwargs,
        )

    # ---- serialization ---------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            data_shape=list(self.data_shape),
            latent_dim=self.latent_dim,
            likelihood=keras.saving.serialize_keras_object(self.likelihood),
            prior=keras.saving.serialize_keras_object(self.prior_layer),
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            kl_estimator=self.kl_estimator,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = renamed_config_key(config, "input_shape")
        for key in ("encoder", "decoder", "likelihood", "prior"):
            if key in config:  # files saved before priors were pluggable lack one
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
