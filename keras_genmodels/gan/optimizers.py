"""`GAN.optimizer`: the two optimizers of a GAN, in the form Keras callbacks use."""

from __future__ import annotations

import keras


def check_optimizer_pair(d_optimizer, g_optimizer):
    """Validates the pair and names the optimizers `d_optimizer`, `g_optimizer`.

    Keras logs one `learning_rate_<name>` per optimizer; Keras's own names
    (`adam`, `adam_1`, ...) depend on how many optimizers a process has made, so
    the keys are fixed to `learning_rate_d_optimizer` / `learning_rate_g_optimizer`.
    """
    for argument, optimizer in (
        ("d_optimizer", d_optimizer),
        ("g_optimizer", g_optimizer),
    ):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                f"`{argument}` must be a keras optimizer or its name; "
                f"got {optimizer!r}."
            )
    if d_optimizer is g_optimizer:
        raise ValueError(
            "`d_optimizer` and `g_optimizer` must be two optimizer objects (each "
            "keeps its own state); got the same object twice."
        )
    d_optimizer.name, g_optimizer.name = "d_optimizer", "g_optimizer"


class GANOptimizers:
    """The discriminator's and the generator's optimizers, as `GAN.optimizer`.

    Keras callbacks read `model.optimizer`. A GAN has two optimizers and no third
    one, so `GAN.optimizer` is this view of the pair, in the multi-optimizer form
    that Keras callbacks already support (`keras.optimizers.MultiOptimizer`'s
    `optimizers` list):

    - `keras.callbacks.LearningRateScheduler(schedule)` calls
      `schedule(epoch, lr)` once per optimizer with that optimizer's own
      learning rate, and sets the result on it: `lambda epoch, lr: lr * 0.5`
      halves both (their ratio is kept), a constant sets both to it.
    - `keras.callbacks.ReduceLROnPlateau(factor=f)` multiplies both learning
      rates by `f` (each floored at `min_lr`).
    - Both, and `TensorBoard`, log `learning_rate_<name>` per optimizer.
    - `TensorBoard` and `BackupAndRestore` read `iterations`: the number of
      training steps, i.e. the generator's updates (the discriminator's optimizer
      counts `n_critic` updates per step).

    The optimizers' state is saved with the GAN (as `d_optimizer` and
    `g_optimizer`); this view holds none of its own. A learning rate cannot be read
    or set here: use `gan.d_optimizer` or `gan.g_optimizer`.

    Args:
        d_optimizer: keras.optimizers.Optimizer. Updates the discriminator.
        g_optimizer: keras.optimizers.Optimizer. Updates the generator.

    Example:

    >>> pair = GANOptimizers(keras.optimizers.Adam(name="d"),
    ...                      keras.optimizers.Adam(name="g"))
    >>> [optimizer.name for optimizer in pair.optimizers]
    ['d', 'g']
    """

    name = "gan_optimizers"

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def optimizers(self) -> list:
        return [self.d_optimizer, self.g_optimizer]

    @property
    def iterations(self):
        return self.g_optimizer.iterations

    @property
    def variables(self) -> list:
        return [*self.d_optimizer.variables, *self.g_optimizer.variables]

    @property
    def built(self) -> bool:
        return all(optimizer.built for optimizer in self.optimizers)

    def build(self, variables=None):
        """No-op: `GAN.compile` builds each optimizer on its own network."""
        if not self.built:
            raise ValueError(
                "The GAN's optimizers are built by `GAN.compile`; call it first."
            )

    def _no_single_value(self, what):
        return AttributeError(
            f"A GAN has two optimizers, so `model.optimizer.{what}` is undefined; "
            f"use `model.d_optimizer.{what}` and `model.g_optimizer.{what}`. "
            "LearningRateScheduler and ReduceLROnPlateau act on both."
        )

    @property
    def learning_rate(self):
        raise self._no_single_value("learning_rate")

    @learning_rate.setter
    def learning_rate(self, value):
        raise self._no_single_value("learning_rate")

    def finalize_variable_values(self, generator_variables, discriminator_variables):
        """Swaps in each optimizer's own EMA (`use_ema=True`) at the end of `fit`."""
        self.d_optimizer.finalize_variable_values(discriminator_variables)
        self.g_optimizer.finalize_variable_values(generator_variables)

    def __repr__(self):
        return (
            f"GANOptimizers(d_optimizer={self.d_optimizer.name!r}, "
            f"g_optimizer={self.g_optimizer.name!r})"
        )
