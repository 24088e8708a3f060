import math

import keras
import numpy as np
import pytest

from keras_genmodels import GAN, networks
from tests.test_case import assert_saved_model_round_trip

SIZES = [8, 28, 32, 64, 128]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_resnet_networks_map_between_latents_images_and_logits(size, channels):
    shape = (size, size, channels)
    generator = networks.build_resnet_generator(shape, 4, width=4)
    critic = networks.build_resnet_discriminator(shape, width=4)
    encoder = networks.build_resnet_encoder(shape, 3, width=4)
    decoder = networks.build_resnet_decoder(shape, 3, width=4)
    assert tuple(generator.output.shape) == (None, *shape)
    assert tuple(decoder.output.shape) == (None, *shape)
    assert tuple(critic.output.shape) == (None, 1)
    assert tuple(encoder.output.shape) == (None, 6)
    stages = networks.num_stages(shape)
    # The generator starts from a 4x4 map (28 px: 4x4 -> 32, cropped).
    assert math.ceil(size / 2**stages) == 4
    pooled = [
        layer.input.shape
        for layer in critic.layers
        if isinstance(layer, networks.SumPooling2D)
    ]
    assert len(pooled) == 1 and pooled[0][1] <= 4


def test_resnet_networks_run_on_rectangular_images():
    z = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    fake = networks.build_resnet_generator((20, 36, 3), 4, width=4)(z).numpy()
    assert fake.shape == (2, 20, 36, 3) and 0 <= fake.min() and fake.max() <= 1
    critic = networks.build_resnet_discriminator((20, 36, 3), width=4)
    assert critic(fake).shape == (2, 1)


def test_parameter_counts_stay_small_at_128_pixels():
    shape = (128, 128, 3)
    encoder = networks.build_resnet_encoder(shape, 16)
    generator = networks.build_resnet_generator(shape, 64)
    # The two-stage default encoder's dense layer alone has 16.8M weights here.
    assert networks.build_encoder(shape, 16).count_params() > 16_000_000
    assert encoder.count_params() < 1_500_000
    assert max(layer.count_params() for layer in encoder.layers) < 200_000
    assert encoder.get_layer("posterior_params").count_params() == 128 * 32 + 32
    assert generator.count_params() < 6_000_000
    assert networks.build_resnet_discriminator(shape).count_params() < 5_000_000


def test_widths_follow_width_and_max_width():
    assert networks.stage_widths(5, 16, 64) == [16, 32, 64, 64, 64]
    small = networks.build_resnet_generator((64, 64, 3), 8, width=8, max_width=16)
    large = networks.build_resnet_generator((64, 64, 3), 8, width=8, max_width=64)
    assert small.count_params() < large.count_params()
    convs = [
        layer.filters
        for layer in small.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert max(convs) == 16


def test_spectral_norm_on_every_weight_layer_of_the_resnet_critic():
    critic = networks.build_resnet_discriminator((32, 32, 3), width=4)
    weighted = [
        layer
        for layer in critic.layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)
    ]
    wrapped = [
        layer
        for layer in critic.layers
        if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert not weighted and len(wrapped) == 3 * 3 + 1  # 2 convs + skip per stage
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers
    )
    plain = networks.build_resnet_discriminator(
        (32, 32, 3), width=4, spectral_normalization=False
    )
    assert not any(
        isinstance(layer, keras.layers.SpectralNormalization)
        for layer in plain.layers
    )


def test_residual_false_gives_a_plain_stack():
    plain = networks.build_resnet_generator((16, 16, 1), 4, width=4, residual=False)
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    resnet = networks.build_resnet_generator((16, 16, 1), 4, width=4)
    assert sum(isinstance(layer, keras.layers.Add) for layer in resnet.layers) == 2


def test_conditional_resnet_networks_depend_on_the_label():
    generator = networks.build_resnet_generator((8, 8, 1), 4, width=4, num_classes=3)
    critic = networks.build_resnet_discriminator((8, 8, 1), width=4, num_classes=3)
    z = np.zeros((2, 4), "float32")
    labels = np.array([0, 2], "int32")
    fake = generator([z, labels], training=True).numpy()
    assert not np.allclose(fake[0], fake[1])
    same = np.repeat(fake[:1], 2, axis=0)
    logits = critic([same, labels]).numpy()
    assert not np.allclose(logits[0], logits[1])


def test_resnet_critic_round_trips_through_keras_files(tmp_path):
    critic = networks.build_resnet_discriminator((8, 8, 3), width=4, num_classes=2)
    x = np.random.default_rng(0).uniform(size=(3, 8, 8, 3)).astype("float32")
    labels = np.array([0, 1, 1], "int32")
    assert_saved_model_round_trip(
        critic, tmp_path, lambda m: [m([x, labels])], atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width": 0}, "width"),
        ({"width": 8, "max_width": 4}, "max_width"),
        ({"width": 2.0}, "width"),
        ({"normalization": "instance"}, "normalization"),
    ],
)
def test_bad_resnet_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        networks.build_resnet_generator((8, 8, 1), 4, **kwargs)


def test_resnet_builders_need_an_image_shape():
    with pytest.raises(ValueError, match="image_shape.*height, width, channels"):
        networks.build_resnet_discriminator((16,))


def test_resnet_gan_on_two_replicas_equals_one_device(mirrored_strategy):
    x = np.random.default_rng(1).uniform(size=(16, 8, 8, 1)).astype("float32")

    def build():
        keras.utils.set_random_seed(0)
        gan = GAN(
            generator=networks.build_resnet_generator((8, 8, 1), 3, width=4),
            discriminator=networks.build_resnet_discriminator((8, 8, 1), width=4),
            seed=0,
        )
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.05),
            g_optimizer=keras.optimizers.SGD(0.05),
            loss="hinge",
        )
        return gan

    with mirrored_strategy.scope():
        mirrored = build()
    single = build()
    single.set_weights(mirrored.get_weights())
    initial = single.get_weights()
    fit = {"batch_size": 8, "epochs": 1, "shuffle": False, "verbose": 0}
    single.fit(x, **fit)
    mirrored.fit(x, **fit)
    changed = [
        np.abs(a - b).max()
        for a, b in zip(initial, single.get_weights(), strict=True)
    ]
    assert max(changed) > 1e-3
    for a, b in zip(single.get_weights(), mirrored.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
