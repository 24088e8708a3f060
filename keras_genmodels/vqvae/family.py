"""Registers the VQ-VAE family with the package's family protocol."""

from keras_genmodels.registry import Family, Preset, register_family

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
        presets=(
            Preset(
                "vqvae_mnist5k",
                "A VQ-VAE of the MNIST-5k digits with its PixelCNN prior over codes",
                train=("vqvae", "--seed", "0", "--dtype-policy", "float32"),
            ),
        ),
    )
)
