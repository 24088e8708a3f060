"""Generative adversarial networks."""

from keras_genmodels.gan import losses
from keras_genmodels.gan.conditional import ConditionalGAN
from keras_genmodels.gan.model import GAN

__all__ = ["GAN", "ConditionalGAN", "losses"]
