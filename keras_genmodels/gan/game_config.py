"""The GAN's `compile`: two optimizers, the loss pair, penalties and critic steps."""

from __future__ import annotations

import keras

from keras_genmodels.gan import losses
from keras_genmodels.gan.optimizers import GANOptimizers, check_optimizer_pair

# Options of `keras.Model.compile` kept in the compile config of a saved GAN.
_KERAS_COMPILE_OPTIONS = ("run_eagerly", "jit_compile", "steps_per_execution")
CRITIC_BATCHES = ("shared", "split")


class GameConfigMixin:
    """`GAN.compile` and the compile config that a saved GAN is reloaded with."""

    def compile(
        self,
        d_optimizer="adam",
        g_optimizer="adam",
        loss="non_saturating",
        n_critic=1,
        gradient_penalty_weight=None,
        r1_weight=0.0,
        critic_batches="shared",
        joint_discriminator_pass="auto",
        **kwargs,
    ):
        """Configures the game; both optimizers are built here, before training.

        Args:
            d_optimizer: optimizer or name. Updates the discriminator.
            g_optimizer: optimizer or name. Updates the generator. The two are
                named `d_optimizer` and `g_optimizer` (Keras callbacks log
                `learning_rate_d_optimizer` and `learning_rate_g_optimizer`).
            loss: str or callable. A name of `keras_genmodels.gan.losses.LOSSES`
                or a function `(real_logits, fake_logits) -> (l_G, l_D)` per example.
                Defaults to `"non_saturating"`.
            n_critic: int. Discriminator steps per generator step. Defaults to 1.
            gradient_penalty_weight: float or None. lambda of the WGAN-GP penalty;
                None means 10 for `loss="wasserstein"` (the WGAN-GP paper's
                value) and 0 otherwise; 0 disables it. Defaults to None.
            r1_weight: float. gamma of the R1 penalty. Defaults to 0.
            critic_batches: str. `"shared"`: the n_critic critic steps of a
                training step all use the same `fit()` batch. `"split"`: each
                `fit()` batch holds n_critic * batch_size examples and critic step
                i uses chunk i (WGAN-GP, arXiv:1704.00028, Algorithm 1). Defaults to
                `"shared"`.
            joint_discriminator_pass: "auto" or bool. Pass real and fake data
                through D as one batch in the discriminator step; "auto" does so
                unless D has a `BatchNormalization` layer (whose batch statistics
                would mix them). Pass False for a custom D that mixes examples in
                another way (e.g. minibatch standard deviation). Defaults to "auto".
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`);
                `optimizer`, `loss` and `metrics` of Keras do not apply.
                `steps_per_execution` defaults to 8 on a single replica, else 1
                (see `GenerativeModel`).
        """
        for name in ("optimizer", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"GAN.compile() does not take `{name}` (got {kwargs[name]!r}); "
                    "use d_optimizer/g_optimizer and loss."
                )
        self.loss_fn = losses.get_loss(loss)
        if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"`n_critic` must be an integer >= 1; got {n_critic!r}.")
        if critic_batches not in CRITIC_BATCHES:
            raise ValueError(
                f"`critic_batches` must be one of {', '.join(CRITIC_BATCHES)}; got "
                f"{critic_batches!r}."
            )
        if joint_discriminator_pass not in ("auto", True, False):
            raise ValueError(
                "`joint_discriminator_pass` must be 'auto', True or False; got "
                f"{joint_discriminator_pass!r}."
            )
        if gradient_penalty_weight is None:
            gradient_penalty_weight = 10.0 if loss == "wasserstein" else 0.0
        weights = {"gradient_penalty": gradient_penalty_weight, "r1_penalty": r1_weight}
        for penalty, weight in weights.items():
            argument = "gradient_penalty_weight" if penalty[0] == "g" else "r1_weight"
            if not weight >= 0:
                raise ValueError(f"`{argument}` must be >= 0; got {weight!r}.")
            if weight:
                losses.check_penalty(loss, penalty)
        d_optimizer = self._loss_scaled(d_optimizer, kwargs)
        g_optimizer = self._loss_scaled(g_optimizer, kwargs)
        check_optimizer_pair(d_optimizer, g_optimizer)
        # No Keras optimizer: `self.optimizer` becomes the view of the pair.
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.optimizer = GANOptimizers(self.d_optimizer, self.g_optimizer)
        self.loss_name = loss
        self.n_critic = n_critic
        self.critic_batches = critic_batches
        self.penalty_weights = {k: float(v) for k, v in weights.items()}
        if joint_discriminator_pass == "auto":
            joint_discriminator_pass = not any(
                isinstance(layer, keras.layers.BatchNormalization)
                for layer in self.discriminator._flatten_layers()
            )
        self.joint_discriminator_pass = joint_discriminator_pass
        self._gan_compile_config = dict(
            d_optimizer=keras.saving.serialize_keras_object(self.d_optimizer),
            g_optimizer=keras.saving.serialize_keras_object(self.g_optimizer),
            loss=loss
            if isinstance(loss, str)
            else keras.saving.serialize_keras_object(loss),
            n_critic=n_critic,
            gradient_penalty_weight=float(gradient_penalty_weight),
            r1_weight=float(r1_weight),
            critic_batches=critic_batches,
            joint_discriminator_pass=joint_discriminator_pass,
            **{k: v for k, v in kwargs.items() if k in _KERAS_COMPILE_OPTIONS},
        )

    def _loss_scaled(self, optimizer, compile_kwargs):
        """The optimizer, wrapped in a `LossScaleOptimizer` under float16 (as Keras)."""
        optimizer = keras.optimizers.get(optimizer)
        if (
            compile_kwargs.get("auto_scale_loss", True)
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        ):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def get_compile_config(self):
        return getattr(self, "_gan_compile_config", None)
