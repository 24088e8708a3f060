"""Importance-weighted (IWAE) estimate of log p(x) for a trained VAE."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

# Upper bound on decoder evaluations per graph call: K samples are drawn in chunks
# of at most this many (samples x examples), which bounds memory for any K.
_MAX_DECODES_PER_CALL = 8192


def _log_weights_fn(vae):
    """Returns a tf.function computing log p(x, z_k) - log q(z_k | x), shape [k, B]."""
    cached = getattr(vae, "_iwae_log_weights", None)
    if cached is not None:
        return cached

    @tf.function(reduce_retracing=True)
    def log_weights(x, num_samples, seed):
        q = vae.posterior(x)
        batch = tf.shape(x)[0]
        noise = tf.random.stateless_normal([num_samples, batch, vae.latent_dim], seed)
        z = q.mean() + q.stddev() * noise  # [k, B, latent]
        params = vae.decoder(tf.reshape(z, [-1, vae.latent_dim]))
        params = tf.reshape(
            params, tf.concat([[num_samples, batch], tf.shape(params)[1:]], axis=0)
        )
        log_px_z = vae.likelihood.distribution(
            params, event_ndims=len(vae.data_shape)
        ).log_prob(tf.cast(x, tf.float32))
        return log_px_z + vae.prior().log_prob(z) - q.log_prob(z)

    vae._iwae_log_weights = log_weights
    return log_weights


def importance_weighted_log_likelihood(
    vae,
    x: np.ndarray,
    num_samples: int = 1000,
    batch_size: int = 100,
    seed: int | None = None,
    verbose: int = 0,
) -> np.ndarray:
    """Estimates log p(x) per example with K importance samples from q(z | x).

        log p(x) ~= log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),  z_k ~ q(z | x)

    The estimate is a lower bound in expectation that tightens as K grows; K = 1
    is the ELBO (Burda et al., Importance Weighted Autoencoders, arXiv:1509.00519).

    Args:
        vae: VAE. The trained model.
        x: np.ndarray. Validated examples, batch first.
        num_samples: int. K, the number of importance samples. Defaults to 1000.
        batch_size: int. Examples per chunk. Defaults to 100.
        seed: int or None. Seed of the importance samples; None draws one from
            the model's seed generator.
        verbose: int. 1 shows a progress bar. Defaults to 0.

    Returns:
        np.ndarray of shape [N], the estimates in nats.

    Example:

    >>> import numpy as np
    >>> from keras_genmodels import VAE
    >>> vae = VAE(input_shape=(4,), latent_dim=2, seed=0)
    >>> x = np.full((3, 4), 0.5, "float32")
    >>> importance_weighted_log_likelihood(vae, x, num_samples=8).shape
    (3,)
    """
    for name, value in (("num_samples", num_samples), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    if seed is None:
        seed = int(keras.random.randint((), 0, 2**31 - 1, seed=vae.seed_generator))
    log_weights = _log_weights_fn(vae)
    batches = range(0, len(x), batch_size)
    progress = keras.utils.Progbar(len(batches), verbose=verbose, unit_name="batch")
    estimates = []
    for batch_index, start in enumerate(batches):
        chunk_x = tf.constant(x[start : start + batch_size])
        per_call = max(1, _MAX_DECODES_PER_CALL // len(chunk_x))
        pieces = []
        for chunk_index, first in enumerate(range(0, num_samples, per_call)):
            k = min(per_call, num_samples - first)
            chunk_seed = tf.constant([seed, batch_index * 1_000_003 + chunk_index])
            pieces.append(log_weights(chunk_x, tf.constant(k), chunk_seed))
        all_weights = tf.concat(pieces, axis=0)
        estimates.append(
            tf.reduce_logsumexp(all_weights, axis=0).numpy() - math.log(num_samples)
        )
        progress.update(batch_index + 1)
    return np.concatenate(estimates)
