"""GANs as `keras.Model`s: two optimizers, the loss family, penalties and EMA."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_genmodels import networks, validation
from keras_genmodels.base import (
    GenerativeModel,
    call_on_zeros,
    data_shape_argument,
    functional_input_shapes,
    renamed_config_key,
)
from keras_genmodels.gan import ema, losses
from keras_genmodels.gan.augment import AugmentedCriticMixin
from keras_genmodels.gan.game_config import GameConfigMixin
from keras_genmodels.gan.optimizers import GANOptimizers


def _data_range(data_range, generator):
    """`(argument as stored in the config, resolved (low, high) or None)`."""
    if data_range is None:
        return None, None
    if isinstance(data_range, str) and data_range == "auto":
        return "auto", validation.infer_output_range(generator)
    try:
        low, high = (float(v) for v in data_range)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not low < high:
        raise ValueError(
            "`data_range` must be 'auto', None or (low, high) with low < high; "
            f"got {data_range!r}."
        )
    return [low, high], (low, high)


@keras.saving.register_keras_serializable(package="keras_genmodels")
class GAN(AugmentedCriticMixin, GameConfigMixin, GenerativeModel):
    """Generative adversarial network that trains with `fit()`.

    Each `train_step` takes `n_critic` discriminator steps, then one generator step,
    with fresh noise z ~ N(0, I) each time. With a loss pair (l_G, l_D) from
    `keras_genmodels.gan.losses` (per example, on logits):

        discriminator: minimise  mean(l_D) + lambda_gp * mean(GP) + gamma * mean(R1)
        generator:     minimise  mean(l_G)
        augmentation (optional): D(x) above is D(T(x)) for real and fake x,
                        T drawn anew for each batch of D inputs
        EMA (optional): G_ema <- d_t * G_ema + (1 - d_t) * G  after each G step,
                        d_t = min(ema_decay, (1 + t) / (10 + t)), t = G updates so far

    Real data: by default (`compile(critic_batches="shared")`) every critic step
    of a training step reuses the one `fit()` batch. With `critic_batches="split"`
    each critic step gets its own chunk, as in WGAN-GP's algorithm: batch the data
    by `n_critic * batch_size` and each of the n_critic chunks holds batch_size
    examples (the generator step draws as many z as the last chunk has examples).

    The discriminator sees real and fake data as one concatenated batch when it
    has no `BatchNormalization` layer (the same logits as two passes, one kernel
    launch per layer and one spectral-normalisation power iteration); the generator
    step evaluates D on real data only if the loss's l_G uses it (none of the five
    built-in losses does; `losses.generator_uses_real_logits`).

    Means are over the global batch (`GenerativeModel.global_mean`), so updates
    are right under any `tf.distribute` strategy. Metrics: `d_loss`, `g_loss`, plus
    `gradient_penalty` / `r1_penalty` when their weight is non-zero and
    `augment_p` with adaptive augmentation. `evaluate` sees unaugmented data.

    `model.optimizer` is a `GANOptimizers` view of `d_optimizer` and
    `g_optimizer` (there is no third optimizer): `LearningRateScheduler` applies
    its schedule to each optimizer's own learning rate, `ReduceLROnPlateau`
    multiplies both by its factor, and `keras.optimizers.schedules` work in
    either optimizer (a schedule's step is that optimizer's update count).

    Args:
        generator: keras.Model or None. Maps z (and labels, for `ConditionalGAN`) to
            data. Functional or subclassed; a subclassed generator used with
            `ema_decay` must implement `get_config` (the EMA copy is rebuilt
            from it). Defaults to `networks.build_generator(data_shape,
            latent_dim)`.
        discriminator: keras.Model or None. Maps data (and labels) to one logit per
            example. Functional or subclassed. Defaults to
            `networks.build_discriminator(data_shape)`.
        data_shape: tuple or None. Shape of one example; required when the
            networks are omitted, else the generator's output shape (checked
            against it when given). Both networks are built on a zero batch.
        latent_dim: int. Size of z; read from a functional generator's input,
            else this value. Defaults to 64 (the CLI's default).
        spectral_normalization: bool. Spectral normalisation in the default
            discriminator. Defaults to False.
        ema_decay: float or None. Decay of an exponential moving average of the
            generator's weights, used by `generate`, warmed up as above (the
            ramp of `tf.train.ExponentialMovingAverage(num_updates=...)`), so the
            average does not carry the random initialisation; non-trainable
            weights (BatchNorm statistics, spectral-norm vectors) are copied.
            None disables it. Defaults to None.
        seed: int or None. Seed of the model's noise. Defaults to None.
        data_range: "auto", None or (low, high). The range training data must
            lie in, checked by `fit`/`evaluate`: "auto" reads it from the
            generator's final activation (sigmoid: (0, 1), tanh: (-1, 1), else
            no check); None disables the check. Defaults to "auto".
        augmentation: None, "diffaugment", "ada" or an `Augmentation`. A
            differentiable augmentation T of D's inputs in training: real and
            generated images alike, in the D and the G steps (see
            `keras_genmodels.gan.augment.Augmentation`). "diffaugment": all
            five operations with p = 1; "ada": p tuned after each D step from
            r_t = E[sign(D(T(x_real)))] over the global batch, kept in the
            saved variable `augment_probability` and logged as `augment_p`.
            None (no augmentation) by default.
        image_shape: deprecated alias of `data_shape` (a DeprecationWarning).

    Example:

    >>> import numpy as np, keras
    >>> gan = GAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    ...             g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    >>> x = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
    >>> sorted(gan.fit(x, batch_size=16, epochs=1, verbose=0).history)
    ['d_loss', 'g_loss']
    >>> tuple(gan.generate(3, seed=0).shape)
    (3, 8, 8, 1)
    >>> [optimizer.name for optimizer in gan.optimizer.optimizers]
    ['d_optimizer', 'g_optimizer']

    References:
        Goodfellow et al., Generative Adversarial Nets, arXiv:1406.2661.
        Gulrajani et al., Improved Training of Wasserstein GANs, arXiv:1704.00028.
        Karras et al., Progressive Growing of GANs, arXiv:1710.10196 (G averaging).
        Yazici et al., The Unusual Effectiveness of Averaging in GAN Training,
        arXiv:1806.04498.
    """

    def __init__(
        self,
        generator=None,
        discriminator=None,
        data_shape=None,
        latent_dim=64,
        spectral_normalization=False,
        ema_decay=None,
        seed=None,
        data_range="auto",
        augmentation=None,
        image_shape=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        data_shape = data_shape_argument(data_shape, "image_shape", image_shape)
        if (generator is None) != (discriminator is None):
            raise ValueError(
                "Pass both `generator` and `discriminator`, or neither (then "
                f"`data_shape` builds the defaults); got generator={generator!r}, "
                f"discriminator={discriminator!r}."
            )
        if generator is None:
            if data_shape is None:
                raise ValueError(
                    "`data_shape` is required when `generator` and "
                    "`discriminator` are omitted; got data_shape=None."
                )
            generator = networks.build_generator(data_shape, latent_dim)
            discriminator = networks.build_discriminator(
                data_shape, spectral_normalization=spectral_normalization
            )
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(
                f"`ema_decay` must be in (0, 1) or None; got {ema_decay!r}."
            )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim, self.data_shape = self._network_shapes(data_shape, latent_dim)
        self.spectral_normalization = bool(spectral_normalization)
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = ema.make_ema_generator(
                generator, self._zero_generator_inputs()
            )
        self.seed = seed
        self.data_range_arg, self.data_range = _data_range(data_range, generator)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._init_augmentation(augmentation)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.penalty_trackers = {
            name: keras.metrics.Mean(name=name) for name in losses.PENALTIES
        }
        self.penalty_weights = {name: 0.0 for name in losses.PENALTIES}
        self.built = True

    def _zero_generator_inputs(self, count=2):
        z = tf.zeros([count, self.latent_dim])
        return self.generator_inputs(z, tf.zeros([count], tf.int32))

    def _network_shapes(self, data_shape, latent_dim):
        """`(latent_dim, data_shape)` from the arguments or the networks; builds both.

        A functional generator's input gives `latent_dim` and a functional
        discriminator's input `data_shape`; a subclassed network has neither, so
        `latent_dim` is the argument and `data_shape` the argument or the shape
        of the generator's output on a zero batch.
        """
        g_shapes = functional_input_shapes(self.generator)
        d_shapes = functional_input_shapes(self.discriminator)
        if g_shapes is not None:
            latent_dim = g_shapes[0][-1]
        if (
            isinstance(latent_dim, bool)
            or not isinstance(latent_dim, int)
            or (latent_dim < 1)
        ):
            raise ValueError(f"`latent_dim` must be an int >= 1; got {latent_dim!r}.")
        self.latent_dim = latent_dim
        fake = call_on_zeros(
            self.generator, self._zero_generator_inputs(), "the generator"
        )
        shape = tuple(fake.shape[1:])
        known = [("`data_shape`", data_shape)]
        if d_shapes is not None and None not in d_shapes[0]:
            known.append(("the discriminator's input", d_shapes[0]))
        for name, other in known:
            if other is not None and tuple(other) != shape:
                raise ValueError(
                    f"The generator's output {shape} does not match {name} "
                    f"{tuple(other)}."
                )
        shape = tuple(int(d) for d in shape)
        call_on_zeros(
            self.discriminator,
            self.discriminator_inputs(tf.zeros([2, *shape]), tf.zeros([2], tf.int32)),
            "the discriminator",
        )
        return latent_dim, shape

    # ---- hooks a conditional variant overrides ----------------------------------
    def split_batch(self, data):
        """Returns `(real, labels)` of a batch; an unconditional GAN has no labels."""
        real = data[0] if isinstance(data, (tuple, list)) else data
        return self.valid_batch(tf.convert_to_tensor(real)), None

    def generator_inputs(self, z, labels):
        return z

    def discriminator_inputs(self, x, labels):
        return x

    # ---- the game: see GameConfigMixin.compile ---------------------------------
    def noise(self, batch_size):
        """Draws z ~ N(0, I) of shape [batch_size, latent_dim] from the model's seed."""
        return self.draw_noise([batch_size, self.latent_dim])

    def discriminate(self, x, labels=None, training=False):
        """Returns the discriminator's logits, shape [batch, 1]."""
        return self.discriminator(
            self.discriminator_inputs(x, labels), training=training
        )

    def _fake(self, batch_size, labels, training):
        z = self.noise(batch_size)
        return self.generator(self.generator_inputs(z, labels), training=training)

    def _real_and_fake_logits(self, real, fake, labels, training):
        """D's logits on real and fake data: one concatenated pass, or two."""
        if not getattr(self, "joint_discriminator_pass", False):
            return (
                self.discriminate(real, labels, training),
                self.discriminate(fake, labels, training),
            )
        both = tf.concat([real, tf.cast(fake, real.dtype)], axis=0)
        both_labels = None if labels is None else tf.concat([labels, labels], axis=0)
        logits = self.discriminate(both, both_labels, training)
        count = tf.shape(real)[0]
        return logits[:count], logits[count:]

    def compute_losses(self, real, labels=None, training=False, penalties=True):
        """Returns per-example `g_loss`, `d_loss` (and penalties) on fresh noise."""
        fake = self._fake(tf.shape(real)[0], labels, training)
        real, fake = self.augmented(real, training), self.augmented(fake, training)
        real_logits, fake_logits = self._real_and_fake_logits(
            real, fake, labels, training
        )
        g_loss, d_loss = self.loss_fn(real_logits, fake_logits)
        result = {"g_loss": g_loss, "d_loss": d_loss}
        if self.augment_p_tracker is not None:
            result["real_sign"] = tf.sign(tf.reshape(real_logits, [-1]))
            result["real_sign"] = tf.cast(result["real_sign"], tf.float32)
        if not penalties:
            return result

        def critic(x, training=training):
            return self.discriminate(x, labels, training)

        if self.penalty_weights["gradient_penalty"]:
            epsilon = self.draw_noise([tf.shape(real)[0]], "uniform")
            result["gradient_penalty"] = losses.gradient_penalty(
                critic, real, fake, training=training, epsilon=epsilon
            )
        if self.penalty_weights["r1_penalty"]:
            result["r1_penalty"] = losses.r1_penalty(critic, real, training=training)
        return result

    def compute_generator_loss(self, real, labels=None, training=False):
        """Per-example l_G on fresh noise (as many z as `real` has examples).

        D runs on `real` only when the loss's l_G uses real logits; otherwise
        `real_logits` is a placeholder that, by the loss's declaration, cannot
        change l_G.
        """
        fake = self._fake(tf.shape(real)[0], labels, training)
        fake = self.augmented(fake, training)  # the gradient flows through T
        fake_logits = self.discriminate(fake, labels, training)
        if losses.generator_uses_real_logits(self.loss_fn):
            real_logits = self.discriminate(
                self.augmented(real, training), labels, training
            )
        else:
            real_logits = tf.zeros_like(fake_logits)
        return self.loss_fn(real_logits, fake_logits)[0]

    def critic_batches_of(self, real, labels=None):
        """The `(real, labels)` of each of the n_critic critic steps of a batch.

        `"shared"`: the whole batch, n_critic times. `"split"`: n_critic
        consecutive chunks of (almost) equal size: chunk i holds rows
        floor(i * n / n_critic) to floor((i + 1) * n / n_critic).
        """
        if self.critic_batches == "shared":
            return [(real, labels)] * self.n_critic
        count = tf.shape(real)[0]
        check = tf.debugging.assert_greater_equal(
            count,
            self.n_critic,
            message=f"critic_batches='split' needs batches of at least n_critic="
            f"{self.n_critic} examples (n_critic * batch_size, one chunk per step)",
        )
        with tf.control_dependencies([check]):
            count = tf.identity(count)
        bounds = [count * i // self.n_critic for i in range(self.n_critic + 1)]
        return [
            (
                real[start:stop],
                None if labels is None else labels[start:stop],
            )
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    def _apply(self, optimizer, scaled_objective, tape, variables):
        gradients = tape.gradient(scaled_objective, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def train_step(self, data):
        real, labels = self.split_batch(data)
        chunks = self.critic_batches_of(real, labels)
        d_variables = self.discriminator.trainable_variables
        for chunk, chunk_labels in chunks:  # a Python loop: unrolled in the graph
            with tf.GradientTape() as tape:
                d_losses = self.compute_losses(chunk, chunk_labels, training=True)
                total = d_losses["d_loss"]
                for name, weight in self.penalty_weights.items():
                    if weight:
                        total += weight * d_losses[name]
                objective = self.global_mean(total)
                scaled = self.d_optimizer.scale_loss(objective)  # float16 loss scale
            self._apply(self.d_optimizer, scaled, tape, d_variables)
            if self.augment_p_tracker is not None:
                self.update_augment_probability(d_losses["real_sign"])
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            g_loss = self.compute_generator_loss(*chunks[-1], training=True)
            objective = self.global_mean(g_loss)
            scaled = self.g_optimizer.scale_loss(objective)
        self._apply(self.g_optimizer, scaled, tape, g_variables)
        if self.ema_generator is not None:
            # t = G updates before this one: the iteration counter was just raised.
            updates = self.g_optimizer.iterations - 1
            ema.update_ema(self.ema_generator, self.generator, self.ema_decay, updates)
        return self._update_trackers({**d_losses, "g_loss": g_loss})

    def test_step(self, data):
        real, labels = self.split_batch(data)
        return self._update_trackers(self.compute_losses(real, labels))

    def fit(self, *args, **kwargs):
        history = super().fit(*args, **kwargs)
        # Keras swaps in an optimizer's own EMA (`use_ema=True`) after fit; so do we.
        if isinstance(getattr(self, "optimizer", None), GANOptimizers):
            self.optimizer.finalize_variable_values(
                self.generator.trainable_variables,
                self.discriminator.trainable_variables,
            )
        return history

    def _update_trackers(self, values):
        self.d_loss_tracker.update_state(values["d_loss"])
        self.g_loss_tracker.update_state(values["g_loss"])
        for name, tracker in self.penalty_trackers.items():
            if name in values:
                tracker.update_state(values[name])
        if self.augment_p_tracker is not None:  # the current p, not a mean
            self.augment_p_tracker.reset_state()
            self.augment_p_tracker.update_state(self.augment_probability.value)
        return self.metric_logs()

    @property
    def metrics(self):
        used = [self.penalty_trackers[k] for k, w in self.penalty_weights.items() if w]
        ada = [self.augment_p_tracker] if self.augment_p_tracker is not None else []
        return [self.d_loss_tracker, self.g_loss_tracker, *used, *ada]

    # ---- user-facing ---------------------------------------------------------------
    def call(self, z, training=False):
        generator = self.ema_generator or self.generator
        return generator(z, training=training)

    def _latents(self, num_samples_or_z, seed):
        if isinstance(num_samples_or_z, int) and not isinstance(num_samples_or_z, bool):
            if num_samples_or_z <= 0:
                raise ValueError(
                    "`num_samples` must be a positive integer; got "
                    f"{num_samples_or_z!r}."
                )
            return keras.random.normal(
                (num_samples_or_z, self.latent_dim),
                seed=self.seed_generator if seed is None else seed,
            )
        return validation.check_array(num_samples_or_z, (self.latent_dim,), False, "z")

    def sample(self, num_samples: int, seed=None):
        """Generates `num_samples` examples from z ~ N(0, I); same int seed, same.

        The sampling call every family has; equal to `generate(num_samples,
        seed=seed)`. Uses the EMA generator when `ema_decay` is set.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int):
            raise ValueError(
                f"`num_samples` must be a positive integer; got {num_samples!r}."
            )
        return self.generate(num_samples, seed=seed)

    def generate(self, num_samples_or_z, seed=None):
        """Generates from `num_samples` draws z ~ N(0, I) (or from the given `z`).

        `sample` under the GAN's own name, which also takes latent codes `z`
        [batch, latent_dim]. Uses the EMA generator when `ema_decay` is set. The
        same int `seed` gives the same samples.
        """
        z = self._latents(num_samples_or_z, seed)
        return (self.ema_generator or self.generator)(z)

    # ---- serialization -------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            data_shape=list(self.data_shape),
            latent_dim=self.latent_dim,
            spectral_normalization=self.spectral_normalization,
            ema_decay=self.ema_decay,
            seed=self.seed,
            data_range=self.data_range_arg,
            augmentation=keras.saving.serialize_keras_object(self.augmentation),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = renamed_config_key(config, "image_shape")
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
