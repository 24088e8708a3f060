"""Registers the VQ-VAE family with the package's family protocol."""

from keras_genmodels.registry import Family, register_family

FAMILY = register_family(
    Family(
        name="vqvae",
        models=("keras_genmodels.vqvae.model:VQVAE",),
        summary="vector-quantised autoencoder with a PixelCNN prior",
        serving_endpoints="keras_genmodels.vqvae.serving:vqvae_endpoints",
        export_metadata="keras_genmodels.vqvae.serving:export_metadata",
    )
)
