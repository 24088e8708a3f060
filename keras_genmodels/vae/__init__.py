"""Variational autoencoders."""

from keras_genmodels.vae.likelihoods import (
    BernoulliLikelihood,
    GaussianLikelihood,
    get_likelihood,
)
from keras_genmodels.vae.model import VAE
from keras_genmodels.vae.priors import (
    MixturePrior,
    Prior,
    StandardNormalPrior,
    VampPrior,
    get_prior,
)

__all__ = [
    "VAE",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "get_likelihood",
    "MixturePrior",
    "Prior",
    "StandardNormalPrior",
    "VampPrior",
    "get_prior",
]
