"""Decoder likelihoods p(x | z): decoder outputs -> `tfd.Distribution` over examples."""

from __future__ import annotations

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="keras_genmodels")
class BernoulliLikelihood(keras.layers.Layer):
    """Independent Bernoulli pixels parameterised by the decoder's logits.

    For data in [0, 1] the log-probability is the (negative) binary cross-entropy,
    computed by TFP from logits in a numerically stable form:

        log p(x | z) = sum_i [ x_i * log sigmoid(l_i) + (1 - x_i) * log sigmoid(-l_i) ]

    where `l = decoder(z)`. Grey levels are allowed (the usual MNIST practice); the
    value is then a cross-entropy rather than a normalised log-density.

    Example:

    >>> import numpy as np
    >>> likelihood = BernoulliLikelihood()
    >>> dist = likelihood.distribution(np.zeros((2, 4), "float32"), event_ndims=1)
    >>> round(float(dist.log_prob(np.ones((2, 4), "float32"))[0]), 4)
    -2.7726
    """

    requires_unit_interval = True

    def distribution(self, params, event_ndims: int) -> tfd.Distribution:
        """Returns p(x | z) with `event_ndims` trailing dimensions per example."""
        logits = tf.cast(params, tf.float32)
        return tfd.Independent(
            tfd.Bernoulli(logits=logits, dtype=tf.float32),
            reinterpreted_batch_ndims=event_ndims,
        )

    def mean(self, params):
        """Returns E[x | z] = sigmoid(logits)."""
        return tf.sigmoid(tf.cast(params, tf.float32))


@keras.saving.register_keras_serializable(package="keras_genmodels")
class GaussianLikelihood(keras.layers.Layer):
    """Independent Gaussian pixels with the decoder's output as mean.

    The scale is shared by all dimensions; it is either fixed or learned:

        log p(x | z) = sum_i log N(x_i; mu_i, sigma^2),   mu = decoder(z)
        sigma = scale                               (learn_scale=False)
        sigma = min_scale + softplus(s)             (learn_scale=True, s trainable,
                                                     initialised so sigma = scale)

    Args:
        scale: float. The fixed scale, or the initial scale when learned. Defaults
            to 1.0.
        learn_scale: bool. Whether the scale is a trainable weight. Defaults to
            False.
        min_scale: float. Floor of a learned scale, which keeps the likelihood
            bounded on data with constant pixels. Defaults to 1e-3.

    Example:

    >>> import numpy as np
    >>> likelihood = GaussianLikelihood(scale=1.0)
    >>> dist = likelihood.distribution(np.zeros((1, 2), "float32"), event_ndims=1)
    >>> round(float(dist.log_prob(np.zeros((1, 2), "float32"))[0]), 4)
    -1.8379
    """

    requires_unit_interval = False

    def __init__(self, scale=1.0, learn_scale=False, min_scale=1e-3, **kwargs):
        super().__init__(**kwargs)
        if not scale > 0:
            raise ValueError(f"`scale` must be positive; got {scale!r}.")
        if learn_scale and not 0 <= min_scale < scale:
            raise ValueError(
                f"`min_scale` must be in [0, scale={scale}); got {min_scale!r}."
            )
        self.scale = float(scale)
        self.learn_scale = bool(learn_scale)
        self.min_scale = float(min_scale)
        if self.learn_scale:
            excess = self.scale - self.min_scale
            # inverse softplus, so that the initial scale equals `scale`
            raw = excess + math.log(-math.expm1(-excess))
            self.raw_scale = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(raw),
                name="raw_scale",
                dtype="float32",
            )
        self.built = True

    def current_scale(self):
        """Returns sigma as a float32 scalar tensor."""
        if self.learn_scale:
            return self.min_scale + tf.nn.softplus(tf.cast(self.raw_scale, tf.float32))
        return tf.constant(self.scale, tf.float32)

    def distribution(self, params, event_ndims: int) -> tfd.Distribution:
        """Returns p(x | z) with `event_ndims` trailing dimensions per example."""
        loc = tf.cast(params, tf.float32)
        return tfd.Independent(
            tfd.Normal(loc=loc, scale=self.current_scale()),
            reinterpreted_batch_ndims=event_ndims,
        )

    def mean(self, params):
        """Returns E[x | z] = the decoder's output."""
        return tf.cast(params, tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update(
            scale=self.scale, learn_scale=self.learn_scale, min_scale=self.min_scale
        )
        return config


def get_likelihood(identifier) -> keras.layers.Layer:
    """Returns a likelihood layer from a name, a config dict or an instance.

    Names: `"bernoulli"` (logits; data in [0, 1]) and `"gaussian"` (a learned
    scale starting at 1.0; use `GaussianLikelihood(scale=..., learn_scale=False)`
    for a fixed one).

    Example:

    >>> type(get_likelihood("bernoulli")).__name__
    'BernoulliLikelihood'
    """
    if isinstance(identifier, (BernoulliLikelihood, GaussianLikelihood)):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if identifier == "bernoulli":
        return BernoulliLikelihood(name="likelihood")
    if identifier == "gaussian":
        return GaussianLikelihood(learn_scale=True, name="likelihood")
    raise ValueError(
        f"Unknown `likelihood` {identifier!r}. Valid names: "
        f"{', '.join(LIKELIHOODS)}; or a BernoulliLikelihood/GaussianLikelihood "
        "instance."
    )
