"""The VAE's serving endpoints and export metadata."""

from __future__ import annotations

import tensorflow as tf

from keras_genmodels import serving


def serving_endpoints(vae) -> dict:
    """The VAE's SavedModel signatures.

        serving_default  x -> reconstruction        (E[x | z = mean of q])
        encode           x -> z_mean, z_stddev      (q(z | x))
        decode           z -> x_mean                (E[x | z])
        sample           num_samples, seed -> images

    `x`: float32 [None, *data_shape]; `z`: float32 [None, latent_dim];
    `num_samples`: int32 scalar >= 1; `seed`: int64 scalar. `sample` equals
    the in-memory `VAE.sample(n, seed=seed)`, drawn from the VAE's prior
    (`VAE.sample_latents`), statelessly.
    """
    x = serving.spec([None, *vae.data_shape], tf.float32, "x")
    z = serving.spec([None, vae.latent_dim], tf.float32, "z")

    def mean_of(latents):
        return serving.float32(
            vae.likelihood.mean(vae.decoder(latents, training=False))
        )

    def reconstruct(x):
        return {"reconstruction": serving.float32(vae(x, training=False))}

    def encode(x):
        q = vae.posterior(x, training=False)
        return {"z_mean": q.mean(), "z_stddev": q.stddev()}

    def decode(z):
        return {"x_mean": mean_of(z)}

    def sample(num_samples, seed):
        pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        z = vae.sample_latents(serving.checked_num_samples(num_samples), pair)
        return {"images": mean_of(z)}

    return {
        "serving_default": (reconstruct, [x]),
        "encode": (encode, [x]),
        "decode": (decode, [z]),
        "sample": (sample, serving.sample_specs()),
    }


def export_metadata(vae) -> dict:
    return {"latent_dim": int(vae.latent_dim)}
