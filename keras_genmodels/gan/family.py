"""Registers the GAN family (GAN and ConditionalGAN) with the family protocol."""

from keras_genmodels.registry import Family, Preset, register_family

FAMILY = register_family(
    Family(
        name="gan",
        models=(
            "keras_genmodels.gan.model:GAN",
            "keras_genmodels.gan.conditional:ConditionalGAN",
        ),
        summary="generative adversarial network (class-conditional with --conditional)",
        serving_endpoints="keras_genmodels.gan.serving:serving_endpoints",
        onnx_endpoints=("generate", "discriminate"),
        export_metadata="keras_genmodels.gan.serving:export_metadata",
        evaluation_samples="keras_genmodels.gan.report:evaluation_samples",
        cli="keras_genmodels.gan.cli:register",
        presets=(
            Preset(
                "gan_mnist5k",
                "A GAN of the MNIST-5k digits: the CLI's default DCGAN networks "
                "(width 32), 64-d latent",
                train=("gan", "--seed", "0", "--dtype-policy", "float32"),
            ),
            Preset(
                "conditional_gan_mnist5k",
                "A class-conditional GAN of the MNIST-5k digits, one class per "
                "digit: the CLI's default DCGAN networks (width 32), 64-d latent",
                train=("gan", "--conditional", "--seed", "0")
                + ("--dtype-policy", "float32"),
            ),
        ),
    )
)
