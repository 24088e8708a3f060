import keras
import numpy as np
import pytest

from keras_genmodels import networks


@pytest.mark.parametrize(
    "shape", [(28, 28, 1), (8, 8, 1), (32, 32, 3), (30, 30, 2), (5, 7, 1), (64,)]
)
def test_encoder_and_decoder_shapes_mirror_each_other(shape):
    encoder = networks.build_encoder(shape, latent_dim=3)
    decoder = networks.build_decoder(shape, latent_dim=3)
    assert tuple(encoder.input_shape[1:]) == shape
    assert tuple(encoder.output_shape) == (None, 6)
    assert tuple(decoder.input_shape) == (None, 3)
    assert tuple(decoder.output_shape[1:]) == shape


@pytest.mark.parametrize("latent_dim", [0, -2, 2.5, True])
def test_bad_latent_dim_is_named(latent_dim):
    with pytest.raises(ValueError, match="latent_dim.*positive integer"):
        networks.build_encoder((8, 8, 1), latent_dim)


@pytest.mark.parametrize("shape", [(), (8, 8), (0, 8, 1), "abc", None])
def test_bad_input_shape_is_named(shape):
    with pytest.raises(ValueError, match="input_shape"):
        networks.build_decoder(shape, latent_dim=2)


@pytest.mark.parametrize(
    "shape", [(28, 28, 1), (8, 8, 1), (30, 30, 3), (5, 7, 2), (6,)]
)
@pytest.mark.parametrize("num_classes", [None, 3])
def test_gan_networks_map_between_latents_data_and_logits(shape, num_classes):
    generator = networks.build_generator(shape, 4, num_classes=num_classes)
    critic = networks.build_discriminator(
        shape, num_classes=num_classes, spectral_normalization=True
    )
    z = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1], "int32")
    fake = generator(z if num_classes is None else [z, labels]).numpy()
    assert fake.shape == (5, *shape)
    assert 0.0 <= fake.min() and fake.max() <= 1.0  # sigmoid output
    logits = critic(fake if num_classes is None else [fake, labels])
    assert tuple(logits.shape) == (5, 1)


def test_conditional_networks_depend_on_the_label():
    generator = networks.build_generator((6,), 4, num_classes=2)
    z = np.zeros((2, 4), "float32")
    fake = generator([z, np.array([0, 1], "int32")]).numpy()
    assert not np.allclose(fake[0], fake[1])


@pytest.mark.parametrize("num_classes", [1, 2.0, True])
def test_bad_num_classes_is_named(num_classes):
    with pytest.raises(ValueError, match="num_classes.*integer >= 2"):
        networks.build_generator((8, 8, 1), 4, num_classes=num_classes)


def _per_pixel_std_across_z(generator, training):
    z = np.random.default_rng(0).normal(size=(256, 16)).astype("float32")
    return float(generator(z, training=training).numpy().std(axis=0).mean())


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1), (32, 32, 3)])
def test_default_generator_output_depends_on_z_at_initialisation(shape):
    keras.utils.set_random_seed(0)
    generator = networks.build_generator(shape, 16)
    # As trained (batch statistics): G(z) varies with z by far more than the
    # un-normalised generator, whose output is ~0.004 around 0.5 at every pixel.
    assert _per_pixel_std_across_z(generator, training=True) > 0.05
    keras.utils.set_random_seed(0)
    plain = networks.build_generator(shape, 16, normalization=None)
    assert _per_pixel_std_across_z(plain, training=True) < 0.02


def test_layer_normalised_generator_depends_on_z_in_both_modes():
    keras.utils.set_random_seed(0)
    generator = networks.build_generator((28, 28, 1), 16, normalization="layer")
    assert _per_pixel_std_across_z(generator, training=True) > 0.05
    assert _per_pixel_std_across_z(generator, training=False) > 0.05


def test_batch_normalised_generator_is_synchronized_across_replicas():
    generator = networks.build_generator((8, 8, 1), 4)
    norms = [
        layer
        for layer in generator.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 3 and all(layer.synchronized for layer in norms)


@pytest.mark.parametrize("normalization", ["group", "BATCH", True])
def test_bad_normalization_is_named(normalization):
    with pytest.raises(ValueError, match="normalization.*batch"):
        networks.build_generator((8, 8, 1), 4, normalization=normalization)


def _channels(model, layer_type):
    return [layer.filters for layer in model.layers if isinstance(layer, layer_type)]


def test_dcgan_width_sets_the_channels_of_both_networks():
    generator = networks.build_generator((28, 28, 1), 8, width=16)
    critic = networks.build_discriminator((28, 28, 1), width=16)
    assert _channels(generator, keras.layers.Conv2DTranspose) == [32, 16]
    assert generator.layers[1].units == 7 * 7 * 32  # the dense map: 2 * width
    assert _channels(critic, keras.layers.Conv2D) == [16, 32]
    assert tuple(generator.output.shape) == (None, 28, 28, 1)
    # The default width keeps the DCGAN channels (128, 128, 64) and (64, 128).
    default = networks.build_generator((28, 28, 1), 8)
    assert _channels(default, keras.layers.Conv2DTranspose) == [128, 64]
    assert _channels(
        networks.build_discriminator((28, 28, 1)), keras.layers.Conv2D
    ) == [
        64,
        128,
    ]


@pytest.mark.parametrize("width", [0, -4, 2.5, True, "32"])
def test_bad_dcgan_width_is_named(width):
    with pytest.raises(
        ValueError, match=f"`width` must be a positive integer; got {width!r}"
    ):
        networks.build_generator((8, 8, 1), 4, width=width)
    with pytest.raises(ValueError, match="`width` must be a positive"):
        networks.build_discriminator((8, 8, 1), width=width)
