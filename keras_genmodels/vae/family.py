"""Registers the VAE family with the package's family protocol."""

from keras_genmodels.registry import Family, Preset, register_family

FAMILY = register_family(
    Family(
        name="vae",
        models=("keras_genmodels.vae.model:VAE",),
        summary="variational autoencoder",
        serving_endpoints="keras_genmodels.vae.serving:serving_endpoints",
        onnx_endpoints=("decode",),
        export_metadata="keras_genmodels.vae.serving:export_metadata",
        evaluation_samples="keras_genmodels.vae.report:evaluation_samples",
        evaluation_report="keras_genmodels.vae.report:evaluation_report",
        save_pictures="keras_genmodels.vae.report:save_pictures",
        cli="keras_genmodels.vae.cli:register",
        presets=(
            Preset(
                "vae_mnist5k",
                "A VAE of the MNIST-5k digits: ResNet encoder and decoder of width "
                "16, Bernoulli likelihood, 16-d latent",
                train=("vae", "--arch", "resnet", "--width", "16", "--seed", "0")
                + ("--dtype-policy", "float32"),
                evaluate=("--iwae-samples", "100"),  # K = 1000: the run's metrics
            ),
        ),
    )
)
