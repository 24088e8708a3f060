"""Registers the VQ-VAE family with the package's family protocol."""

from keras_genmodels.registry import Family, register_family

FAMILY = register_family(
    Family(
        name="vqvae",
        models=("keras_genmodels.vqvae.model:VQVAE",),
        summary="vector-quantised autoencoder with a PixelCNN prior",
        serving_endpoints="keras_genmodels.vqvae.serving:vqvae_endpoints",
        export_metadata="keras_genmodels.vqvae.serving:export_metadata",
        onnx_endpoints=("decode",),
        evaluation_report="keras_genmodels.vqvae.report:evaluation_report",
        save_pictures="keras_genmodels.vqvae.report:save_pictures",
        cli="keras_genmodels.vqvae.cli:register",
    )
)
