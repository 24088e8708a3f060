"""Variational autoencoders (names import on first use)."""

from keras_genmodels.lazy import lazy_exports

_EXPORTS = {
    "VAE": "keras_genmodels.vae.model",
    "BernoulliLikelihood": "keras_genmodels.vae.likelihoods",
    "GaussianLikelihood": "keras_genmodels.vae.likelihoods",
    "get_likelihood": "keras_genmodels.vae.likelihoods",
    "MixturePrior": "keras_genmodels.vae.priors",
    "Prior": "keras_genmodels.vae.priors",
    "StandardNormalPrior": "keras_genmodels.vae.priors",
    "VampPrior": "keras_genmodels.vae.priors",
    "get_prior": "keras_genmodels.vae.priors",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
