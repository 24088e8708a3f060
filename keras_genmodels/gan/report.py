"""The GAN's evaluation samples: seeded latent codes, balanced class labels."""

from __future__ import annotations

import keras
import numpy as np

from keras_genmodels.gan.conditional import ConditionalGAN


def evaluation_samples(gan, num_samples: int, seed: int = 0, batch_size: int = 500):
    """Images from z ~ N(0, I) drawn from `np.random.default_rng(seed)`.

    A `ConditionalGAN` gets balanced labels 0, 1, ..., num_classes - 1, 0, ...,
    which are returned with the images (None for an unconditional GAN).
    """
    z = np.random.default_rng(seed).standard_normal((num_samples, gan.latent_dim))
    z = z.astype(np.float32)
    labels = None
    if isinstance(gan, ConditionalGAN):
        labels = np.arange(num_samples) % gan.num_classes
    images = []
    for start in range(0, num_samples, batch_size):
        chunk = slice(start, start + batch_size)
        if labels is None:
            out = gan.generate(z[chunk])
        else:
            out = gan.generate(z[chunk], labels=labels[chunk])
        images.append(keras.ops.convert_to_numpy(out).astype(np.float32))
    return np.concatenate(images), labels
