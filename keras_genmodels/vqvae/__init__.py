"""Vector-quantised autoencoders with an autoregressive prior over the codes."""

from keras_genmodels.vqvae.pixelcnn import PixelCNNPrior
from keras_genmodels.vqvae.quantizer import VectorQuantizer

__all__ = ["PixelCNNPrior", "VectorQuantizer"]
