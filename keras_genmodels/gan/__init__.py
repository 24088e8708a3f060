"""Generative adversarial networks (names import on first use).

Submodules such as `keras_genmodels.gan.losses` import as usual.
"""

from keras_genmodels.lazy import lazy_exports

_EXPORTS = {
    "GAN": "keras_genmodels.gan.model",
    "ConditionalGAN": "keras_genmodels.gan.conditional",
    "Augmentation": "keras_genmodels.gan.augment",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
