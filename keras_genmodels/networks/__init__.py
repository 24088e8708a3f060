"""Network builders: plain Keras models whose sizes follow the data's shape."""

from keras_genmodels.networks.common import check_num_classes
from keras_genmodels.networks.conv import (
    build_decoder,
    build_discriminator,
    build_encoder,
    build_generator,
)

__all__ = [
    "build_decoder",
    "build_discriminator",
    "build_encoder",
    "build_generator",
    "check_num_classes",
]
