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
