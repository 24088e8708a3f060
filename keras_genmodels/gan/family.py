"""Registers the GAN family (GAN and ConditionalGAN) with the family protocol."""

from keras_genmodels.registry import Family, register_family

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
    )
)
