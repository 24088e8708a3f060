"""Variational autoencoders."""

from keras_genmodels.vae.likelihoods import (
    BernoulliLikelihood,
    GaussianLikelihood,
    get_likelihood,
)
from keras_genmodels.vae.model import VAE

__all__ = ["VAE", "BernoulliLikelihood", "GaussianLikelihood", "get_likelihood"]
