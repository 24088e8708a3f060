import matplotlib.image as mpimg
import numpy as np
import pytest

from keras_genmodels import VAE, plots
from keras_genmodels.latent_plots import latent_manifold, save_latent_scatter


def test_latent_scatter_is_written_and_checks_its_inputs(tmp_path):
    rng = np.random.default_rng(0)
    path = save_latent_scatter(
        rng.normal(size=(50, 3)),
        rng.integers(0, 10, 50),
        tmp_path / "scatter.png",
        title="codes",
    )
    assert mpimg.imread(path).ndim == 3
    with pytest.raises(ValueError, match=r"`z` must have shape \(N, D >= 2\)"):
        save_latent_scatter(np.zeros((5, 1)), np.zeros(5), tmp_path / "x.png")
    with pytest.raises(ValueError, match="one label per code"):
        save_latent_scatter(np.zeros((5, 2)), np.zeros(4), tmp_path / "x.png")


def test_manifold_decodes_the_grid_in_reading_order():
    vae = VAE(input_shape=(8, 8, 1), latent_dim=2, seed=0)
    images = latent_manifold(vae, grid_size=3, span=1.0)
    expected_codes = np.array(
        [(x, y) for y in (1.0, 0.0, -1.0) for x in (-1.0, 0.0, 1.0)], "float32"
    )
    np.testing.assert_allclose(images, vae.decode(expected_codes), atol=1e-6)
    assert plots.image_grid(images, ncols=3).shape[:2] == (28, 28)
    with pytest.raises(ValueError, match="latent_dim=2; got 4"):
        latent_manifold(VAE(input_shape=(4,), latent_dim=4))
