"""Network builders: plain Keras models whose sizes follow the data's shape."""

from keras_genmodels.networks.common import check_num_classes
from keras_genmodels.networks.conv import (
    build_decoder,
    build_discriminator,
    build_encoder,
    build_generator,
)
from keras_genmodels.networks.resnet import (
    SumPooling2D,
    build_resnet_decoder,
    build_resnet_discriminator,
    build_resnet_encoder,
    build_resnet_generator,
    num_stages,
    stage_widths,
)

__all__ = [
    "SumPooling2D",
    "build_decoder",
    "build_discriminator",
    "build_encoder",
    "build_generator",
    "build_resnet_decoder",
    "build_resnet_discriminator",
    "build_resnet_encoder",
    "build_resnet_generator",
    "check_num_classes",
    "num_stages",
    "stage_widths",
]
