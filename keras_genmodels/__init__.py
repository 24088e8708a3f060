"""Variational autoencoders and GANs for Keras 3."""

__version__ = "0.1.0"

from keras_genmodels.gan import GAN, ConditionalGAN  # noqa: E402
from keras_genmodels.vae import (  # noqa: E402
    VAE,
    BernoulliLikelihood,
    GaussianLikelihood,
)

__all__ = [
    "VAE",
    "GAN",
    "ConditionalGAN",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "__version__",
]
