"""Importance-weighted (IWAE) estimate of log p(x) for a trained VAE."""

from __future__ import annotations

import math
import sys

import keras
import numpy as np
import tensorflow as tf
from absl import logging

# Upper bound on decoder evaluations per graph call: K samples are drawn in chunks
# of at most this many (samples x examples), which bounds memory for any K.
_MAX_DECODES_PER_CALL = 8192
# `verbose="auto"` shows progress from this many importance samples (examples x
# K) on: about 3 s of work for the default MNIST networks on two CPU cores.
_AUTO_VERBOSE_SAMPLES = 100_000
VERBOSE_VALUES = ("auto", 0, 1, 2)


def _resolve_verbose(verbose, num_examples: int, num_samples: int) -> int:
    if isinstance(verbose, bool) or verbose not in VERBOSE_VALUES:
        raise ValueError(
            f"`verbose` must be one of {', '.join(map(repr, VERBOSE_VALUES))}; "
            f"got {verbose!r}."
        )
    if verbose == "auto":
        return int(num_examples * num_samples >= _AUTO_VERBOSE_SAMPLES)
    return verbose


def _print_line(message: str):
    """Prints like Keras's progress bars: stdout, or absl logging when disabled."""
    if keras.config.is_interactive_logging_enabled():
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
    else:
        logging.info(message)


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
    verbose: int | str = "auto",
) -> np.ndarray:
    """Estimates log p(x) per example with K importance samples from q(z | x).

        log p(x) ~= log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),  z_k ~ q(z | x)

    p(z) is the model's prior (`vae.prior()`: N(0, I), a mixture, the
    VampPrior). The estimate is a lower bound in expectation that tightens as K
    grows; K = 1 is the ELBO (Burda et al., Importance Weighted Autoencoders,
    arXiv:1509.00519).

    Args:
        vae: VAE. The trained model.
        x: np.ndarray. Validated examples, batch first.
        num_samples: int. K, the number of importance samples. Defaults to 1000.
        batch_size: int. Examples per chunk. Defaults to 100.
        seed: int or None. Seed of the importance samples; None draws one from
            the model's seed generator.
        verbose: "auto", 0, 1 or 2. 1 prints the line "IWAE log p(x), K=<K>,
            <N> examples" and a Keras progress bar over the examples with the
            running mean estimate; 2 prints the line and one summary at the end;
            0 is silent; "auto" is 1 when N * K >= 100,000 importance samples
            (a few seconds of work), else 0. Defaults to "auto".

    Returns:
        np.ndarray of shape [N], the estimates in nats.

    Example:

    >>> import numpy as np
    >>> from keras_genmodels import VAE
    >>> vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    >>> x = np.full((3, 4), 0.5, "float32")
    >>> importance_weighted_log_likelihood(vae, x, num_samples=8).shape
    (3,)
    """
    for name, value in (("num_samples", num_samples), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    if seed is None:
        seed = int(keras.random.randint((), 0, 2**31 - 1, seed=vae.seed_generator))
    verbose = _resolve_verbose(verbose, len(x), num_samples)
    log_weights = _log_weights_fn(vae)
    if verbose:
        _print_line(f"IWAE log p(x), K={num_samples}, {len(x)} examples")
    progress = keras.utils.Progbar(
        len(x), verbose=verbose, stateful_metrics=["mean_log_px"], unit_name="example"
    )
    estimates = []
    for batch_index, start in enumerate(range(0, len(x), batch_size)):
        chunk_x = tf.constant(x[start : start + batch_size])
        per_call = max(1, _MAX_DECODES_PER_CALL // len(chunk_x))
        pieces = []
        for chunk_index, first in enumerate(range(0, num_samples, per_call)):
            k = min(per_call, num_samples - first)
            chunk_seed = tf.constant([seed, batch_index * 1_000_003 + chunk_index])
            pieces.append(log_weights(chunk_x, tf.constant(k), chunk_seed))
            if first + k < num_samples:  # the batch's end is shown below
                # Examples done so far, counting this batch's share of K.
                progress.update(start + len(chunk_x) * (first + k) / num_samples)
        all_weights = tf.concat(pieces, axis=0)
        estimates.append(
            tf.reduce_logsumexp(all_weights, axis=0).numpy() - math.log(num_samples)
        )
        done = np.concatenate(estimates)
        progress.update(len(done), values=[("mean_log_px", float(done.mean()))])
    return np.concatenate(estimates)
