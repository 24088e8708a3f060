import matplotlib.image as mpimg
import numpy as np
import pytest

from keras_genmodels import VAE, plots
from keras_genmodels.vae.latent_plots import latent_manifold, save_latent_scatter


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
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    images = latent_manifold(vae, grid_size=3, span=1.0)
    expected_codes = np.array(
        [(x, y) for y in (1.0, 0.0, -1.0) for x in (-1.0, 0.0, 1.0)], "float32"
    )
    np.testing.assert_allclose(images, vae.decode(expected_codes), atol=1e-6)
    assert plots.image_grid(images, ncols=3).shape[:2] == (28, 28)
    with pytest.raises(ValueError, match="latent_dim=2; got 4"):
        latent_manifold(VAE(data_shape=(4,), latent_dim=4))


def test_scatter_of_a_wide_latent_is_its_pca_projection():
    from keras_genmodels.vae.latent_plots import _project_2d

    rng = np.random.default_rng(1)
    # 16-D codes whose class structure lies along two directions other than z[0], z[1]
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    scores = rng.normal(size=(400, 16)) * np.r_[5.0, 3.0, np.full(14, 0.1)]
    z = scores @ basis.T + 2.0
    xy, (xlabel, ylabel) = _project_2d(z)
    # numpy reference: eigenvectors of the covariance, sign-free comparison
    values, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    reference = (z - z.mean(0)) @ vectors[:, ::-1][:, :2]
    for k in range(2):
        assert abs(np.corrcoef(xy[:, k], reference[:, k])[0, 1]) > 1 - 1e-9
    share = values[::-1][0] / values.sum()
    assert xlabel == f"PC 1 of the 16-D codes ({100 * share:.0f}% of variance)"
    assert ylabel.startswith("PC 2 of the 16-D codes")
    same, labels = _project_2d(z[:, :2])
    assert same is not None and labels == ("z[0]", "z[1]")
    np.testing.assert_array_equal(same, z[:, :2])


def test_scatter_keeps_its_axis_labels_inside_the_picture(tmp_path):
    rng = np.random.default_rng(0)
    path = save_latent_scatter(
        rng.normal(size=(200, 16)), rng.integers(0, 10, 200), tmp_path / "s.png"
    )
    image = mpimg.imread(path)[..., :3]
    dark = image.mean(axis=-1) < 0.5
    columns = np.flatnonzero(dark.any(axis=0))
    assert columns.min() > 0  # the y-label is drawn, not clipped at the left edge


def test_manifold_png_has_title_and_axes(tmp_path):
    from keras_genmodels.vae.latent_plots import save_latent_manifold

    vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    bare = plots.save_image_grid(latent_manifold(vae, 3), tmp_path / "b.png", 3)
    path = save_latent_manifold(vae, tmp_path / "m.png", grid_size=3, title="grid")
    image, plain = mpimg.imread(path), mpimg.imread(bare)
    # the image sits inside axes: white margins with ticks, labels and a title
    assert image.shape[0] > 300 and image.shape != plain.shape
    dark = image[..., :3].mean(axis=-1) < 0.5
    assert dark[:, : image.shape[1] // 10].any()  # the z[1] axis label and ticks
    with pytest.raises(ValueError, match="latent_dim=2"):
        save_latent_manifold(VAE(data_shape=(4,), latent_dim=3), tmp_path / "x.png")
