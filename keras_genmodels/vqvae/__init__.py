"""Vector-quantised autoencoders with an autoregressive prior over the codes."""

from keras_genmodels.vqvae.model import VQVAE
from keras_genmodels.vqvae.networks import build_vq_decoder, build_vq_encoder
from keras_genmodels.vqvae.pixelcnn import PixelCNNPrior
from keras_genmodels.vqvae.quantizer import VectorQuantizer

__all__ = [
    "VQVAE",
    "PixelCNNPrior",
    "VectorQuantizer",
    "build_vq_decoder",
    "build_vq_encoder",
]
