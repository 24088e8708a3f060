"""Priors p(z) of the VAE: Keras layers whose `distribution` is a TFP distribution."""

from __future__ import annotations

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

PRIORS = ("standard_normal", "mixture", "vamp")
# Floor of the mixture components' scales, which keeps log p(z) bounded.
_MIN_SCALE = 1e-4


def _inverse_softplus(value: float) -> float:
    return value + math.log(-math.expm1(-value))


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
    return value


class Prior(keras.layers.Layer):
    """Base class of the VAE's priors p(z); subclasses define `distribution`.

    The VAE builds its prior with `build(latent_dim, data_shape, unit_interval)`
    (the size of z, the shape of one example, and whether the data lie in
    [0, 1]) and then asks it for `distribution(vae, training)`: a
    `tfd.Distribution` with event shape [latent_dim] and batch shape []. The VAE
    is passed so that a prior may use the model's own networks (the VampPrior
    encodes its pseudo-inputs with the VAE's encoder) without owning them.
    Variables created in `build` are the VAE's weights: trained by `fit()`,
    saved in `.keras` files, mirrored under a `tf.distribute` strategy.
    """

    def build(self, latent_dim, data_shape=None, unit_interval=False):
        self.latent_dim = int(latent_dim)
        self.data_shape = None if data_shape is None else tuple(data_shape)
        self.unit_interval = bool(unit_interval)

    def distribution(self, vae=None, training=False) -> tfd.Distribution:
        """Returns p(z) as a `tfd.Distribution` with event shape [latent_dim]."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `distribution(vae, training)`."
        )


@keras.saving.register_keras_serializable(package="keras_genmodels")
class StandardNormalPrior(Prior):
    """The standard normal prior p(z) = N(0, I), the VAE's default.

        log p(z) = -0.5 * sum_j (z_j^2 + log(2 pi))

    TFP registers the analytic KL of a diagonal Gaussian posterior to it:
    KL = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

    Example:

    >>> prior = StandardNormalPrior()
    >>> prior.build(latent_dim=2)
    >>> round(float(prior.distribution().log_prob([[0.0, 0.0]])[0]), 4)
    -1.8379

    References:
        Kingma & Welling, Auto-Encoding Variational Bayes, arXiv:1312.6114.
    """

    def distribution(self, vae=None, training=False) -> tfd.Distribution:
        return tfd.MultivariateNormalDiag(
            loc=tf.zeros([self.latent_dim]), scale_diag=tf.ones([self.latent_dim])
        )


@keras.saving.register_keras_serializable(package="keras_genmodels")
class MixturePrior(Prior):
    """A learnable mixture of diagonal Gaussians, `tfd.MixtureSameFamily`.

        p(z) = sum_k pi_k N(z; m_k, diag(s_k^2)),   pi = softmax(logits)
        s_k = 1e-4 + softplus(r_k)

    The logits start at 0 (equal weights), the means m_k ~ N(0, I) and the
    scales at 1; all are trained with the VAE. TFP has no analytic KL from a
    Gaussian to a mixture, so the VAE's `kl_estimator="auto"` uses the Monte
    Carlo estimate log q(z | x) - log p(z).

    Args:
        num_components: int. Number of mixture components K >= 1. Defaults
            to 10.

    Example:

    >>> prior = MixturePrior(num_components=3)
    >>> prior.build(latent_dim=2)
    >>> prior.distribution().sample(5, seed=[1, 2]).shape
    TensorShape([5, 2])

    References:
        Dilokthanakul et al., Deep Unsupervised Clustering with Gaussian
        Mixture Variational Autoencoders, arXiv:1611.02648.
        Tomczak & Welling, VAE with a VampPrior, arXiv:1705.07120 (the
        mixture-of-Gaussians baseline).
    """

    def __init__(self, num_components=10, **kwargs):
        super().__init__(**kwargs)
        self.num_components = _check_count(num_components, "num_components")

    def build(self, latent_dim, data_shape=None, unit_interval=False):
        super().build(latent_dim, data_shape, unit_interval)
        shape = (self.num_components, self.latent_dim)
        self.logits = self.add_weight(
            shape=(self.num_components,),
            initializer="zeros",
            name="logits",
            dtype="float32",
        )
        self.means = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="means",
            dtype="float32",
        )
        self.raw_scales = self.add_weight(
            shape=shape,
            initializer=keras.initializers.Constant(_inverse_softplus(1 - _MIN_SCALE)),
            name="raw_scales",
            dtype="float32",
        )

    def distribution(self, vae=None, training=False) -> tfd.Distribution:
        scales = _MIN_SCALE + tf.nn.softplus(tf.cast(self.raw_scales, tf.float32))
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(
                logits=tf.cast(self.logits, tf.float32)
            ),
            components_distribution=tfd.MultivariateNormalDiag(
                loc=tf.cast(self.means, tf.float32), scale_diag=scales
            ),
        )

    def get_config(self):
        return {**super().get_config(), "num_components": self.num_components}


@keras.saving.register_keras_serializable(package="keras_genmodels")
class VampPrior(Prior):
    """The VampPrior: the VAE's posterior averaged over learned pseudo-inputs.

        p(z) = (1/K) sum_k q(z | u_k)

    The K pseudo-inputs u_k live in data space and pass through the VAE's own
    encoder, so the prior follows the posterior as it learns. They lie where the
    data do: u_k = sigmoid(w_k) when the VAE's likelihood needs data in [0, 1]
    (Bernoulli), else u_k = w_k, with free parameters w_k ~ N(0, 0.1^2) trained
    with the VAE. Each training step encodes the K pseudo-inputs once (the paper
    uses K = 500 on MNIST; cost grows linearly in K). The KL is the Monte Carlo
    estimate log q(z | x) - log p(z) under `kl_estimator="auto"`.

    Args:
        num_pseudo_inputs: int. Number of pseudo-inputs K >= 1. Defaults to 100.

    Example:

    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(4,), latent_dim=2, prior=VampPrior(8), seed=0)
    >>> vae.prior_layer.pseudo_inputs().shape
    TensorShape([8, 4])
    >>> vae.kl_estimator, vae.analytic_kl
    ('auto', False)

    References:
        Tomczak & Welling, VAE with a VampPrior, arXiv:1705.07120.
    """

    def __init__(self, num_pseudo_inputs=100, **kwargs):
        super().__init__(**kwargs)
        self.num_pseudo_inputs = _check_count(num_pseudo_inputs, "num_pseudo_inputs")

    def build(self, latent_dim, data_shape=None, unit_interval=False):
        if data_shape is None:
            raise ValueError(
                "VampPrior.build needs `data_shape`, the shape of one example "
                "(the pseudo-inputs live in data space); got None."
            )
        super().build(latent_dim, data_shape, unit_interval)
        self.pseudo_input_params = self.add_weight(
            shape=(self.num_pseudo_inputs, *self.data_shape),
            initializer=keras.initializers.RandomNormal(stddev=0.1),
            name="pseudo_input_params",
            dtype="float32",
        )

    def pseudo_inputs(self):
        """Returns the pseudo-inputs u, shape [num_pseudo_inputs, *data_shape]."""
        params = tf.cast(self.pseudo_input_params, tf.float32)
        return tf.sigmoid(params) if self.unit_interval else params

    def distribution(self, vae=None, training=False) -> tfd.Distribution:
        if vae is None:
            raise ValueError(
                "VampPrior.distribution needs `vae`, whose encoder maps the "
                "pseudo-inputs to q(z | u_k); got None."
            )
        components = vae.posterior(self.pseudo_inputs(), training=training)
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(
                logits=tf.zeros([self.num_pseudo_inputs])
            ),
            components_distribution=components,
        )

    def get_config(self):
        return {**super().get_config(), "num_pseudo_inputs": self.num_pseudo_inputs}


def get_prior(identifier) -> Prior:
    """Returns a prior layer from a name, a config dict or an instance.

    Names: `"standard_normal"` (N(0, I)), `"mixture"` (`MixturePrior()`, 10
    components) and `"vamp"` (`VampPrior()`, 100 pseudo-inputs).

    Example:

    >>> type(get_prior("mixture")).__name__
    'MixturePrior'
    """
    if isinstance(identifier, Prior):
        return identifier
    if isinstance(identifier, dict):
        prior = keras.saving.deserialize_keras_object(identifier)
        if isinstance(prior, Prior):
            return prior
    elif identifier == "standard_normal":
        return StandardNormalPrior(name="prior")
    elif identifier == "mixture":
        return MixturePrior(name="prior")
    elif identifier == "vamp":
        return VampPrior(name="prior")
    raise ValueError(
        f"Unknown `prior` {identifier!r}. Valid names: {', '.join(PRIORS)}; or a "
        "StandardNormalPrior, MixturePrior or VampPrior instance (any "
        "keras_genmodels.vae.priors.Prior)."
    )
