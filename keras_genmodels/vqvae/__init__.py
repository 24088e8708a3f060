"""Vector-quantised autoencoders with an autoregressive prior over the codes."""

from keras_genmodels.lazy import lazy_exports

_EXPORTS = {
    "VQVAE": "keras_genmodels.vqvae.model",
    "PixelCNNPrior": "keras_genmodels.vqvae.pixelcnn",
    "VectorQuantizer": "keras_genmodels.vqvae.quantizer",
    "build_vq_decoder": "keras_genmodels.vqvae.networks",
    "build_vq_encoder": "keras_genmodels.vqvae.networks",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
