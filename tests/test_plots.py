"""Tests for keras_genmodels.plots: grid arithmetic, PNG writing, input errors."""

import os

import matplotlib.image as mpimg
import numpy as np
import pytest

from keras_genmodels import plots


def _ramp(n, h, w, c):
    """Images whose every pixel of image i equals (i + 1) / (n + 1)."""
    values = (np.arange(n, dtype=np.float32) + 1) / (n + 1)
    return np.broadcast_to(values[:, None, None, None], (n, h, w, c)).copy()


@pytest.mark.parametrize(
    ("n", "hw", "c", "ncols", "padding", "expected"),
    [
        (10, (8, 8), 1, 5, 1, (2 * 8 + 3, 5 * 8 + 6, 1)),
        (10, (8, 8), 1, None, 1, (3 * 8 + 4, 4 * 8 + 5, 1)),  # ncols = ceil(sqrt)
        (7, (4, 6), 3, 3, 0, (3 * 4, 3 * 6, 3)),
        (1, (5, 5), 1, None, 2, (5 + 4, 5 + 4, 1)),
        (3, (2, 2), 1, 8, 1, (2 + 2, 8 * 2 + 9, 1)),  # more columns than images
    ],
)
def test_grid_shape(n, hw, c, ncols, padding, expected):
    grid = plots.image_grid(np.zeros((n, *hw, c)), ncols=ncols, padding=padding)
    assert grid.shape == expected
    assert grid.dtype == np.float32


def test_grid_places_each_image_at_its_offset():
    x = _ramp(5, 3, 4, 1)
    grid = plots.image_grid(x, ncols=3, padding=2, pad_value=-1.0)
    for i in range(5):
        top, left = 2 + (i // 3) * (3 + 2), 2 + (i % 3) * (4 + 2)
        np.testing.assert_array_equal(grid[top : top + 3, left : left + 4], x[i])
    # Everything else is padding: 5 tiles of 12 pixels carry the images.
    assert np.sum(grid != -1.0) == 5 * 3 * 4
    assert np.all(grid[:2] == -1.0) and np.all(grid[:, :2] == -1.0)


def test_grid_keeps_rgb_channels():
    x = np.random.default_rng(0).random((4, 3, 3, 3), dtype=np.float32)
    grid = plots.image_grid(x, ncols=2, padding=0)
    np.testing.assert_array_equal(grid[3:6, 0:3], x[2])
    np.testing.assert_array_equal(grid[0:3, 3:6], x[1])


def test_grid_accepts_square_vectors():
    x = np.arange(4 * 16, dtype=np.float32).reshape(4, 16) / 64
    grid = plots.image_grid(x, ncols=2, padding=1)
    assert grid.shape == (2 * 4 + 3, 2 * 4 + 3, 1)
    np.testing.assert_array_equal(grid[1:5, 6:10, 0], x[1].reshape(4, 4))


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((0, 8, 8, 1)), {}, "empty"),
        (np.zeros((0, 16)), {}, "empty"),
        (np.zeros((4, 15)), {}, "perfect square"),
        (np.zeros((8, 8, 1)), {}, "rank 3"),
        (np.zeros(5), {}, "rank 1"),
        (np.zeros((2, 4, 4, 2)), {}, "channels"),
        (np.zeros((2, 4, 4, 1)), {"ncols": 0}, "ncols"),
        (np.zeros((2, 4, 4, 1)), {"padding": -1}, "padding"),
    ],
)
def test_grid_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.image_grid(images, **kwargs)


def _only_pngs(folder):
    """Asserts `folder` holds only .png files (no leftover temporaries)."""
    names = sorted(os.listdir(folder))
    assert names and all(n.endswith(".png") and not n.startswith(".") for n in names)
    return names


def test_save_image_grid_writes_readable_png(tmp_path):
    path = plots.save_image_grid(
        _ramp(16, 8, 8, 1), tmp_path / "new" / "dir" / "g.png", ncols=4, title="t"
    )
    assert path == tmp_path / "new" / "dir" / "g.png"
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 37 and image.shape[1] >= 37
    assert _only_pngs(path.parent) == ["g.png"]
    # Overwriting replaces the file in place.
    plots.save_image_grid(np.full((4, 9), 0.5), path)
    assert mpimg.imread(path).ndim == 3
    assert _only_pngs(path.parent) == ["g.png"]


def test_save_reconstructions(tmp_path):
    x = _ramp(20, 6, 6, 3)
    path = plots.save_reconstructions(x, 1 - x, tmp_path / "rec.png", num=12)
    assert mpimg.imread(path).shape[-1] in (3, 4)
    assert _only_pngs(tmp_path) == ["rec.png"]


def test_save_reconstructions_rejects_mismatch(tmp_path):
    with pytest.raises(ValueError, match="same shape"):
        plots.save_reconstructions(
            np.zeros((4, 8, 8, 1)), np.zeros((4, 8, 8, 3)), tmp_path / "r.png"
        )
    with pytest.raises(ValueError, match="num"):
        plots.save_reconstructions(np.zeros((4, 16)), np.zeros((4, 16)), "x.png", 0)
    assert not os.listdir(tmp_path)


def test_save_history(tmp_path):
    history = {
        "loss": [3.0, 2.0, 1.5],
        "kl_loss": [0.5, 1.0, float("nan")],
        "val_loss": [3.2, 2.4, 2.0],
        "val_only": [1.0, 1.0, 1.0],
    }
    path = plots.save_history(history, tmp_path / "history.png")
    assert mpimg.imread(path).ndim == 3
    assert _only_pngs(tmp_path) == ["history.png"]


@pytest.mark.parametrize("history", [{}, {"loss": []}, {"loss": [[1.0, 2.0]]}, None])
def test_save_history_rejects_bad_input(tmp_path, history):
    with pytest.raises(ValueError, match="history"):
        plots.save_history(history, tmp_path / "h.png")
    assert not os.listdir(tmp_path)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(plots.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        plots.save_image_grid(_ramp(4, 4, 4, 1), tmp_path / "g.png")
    assert not os.listdir(tmp_path)


def test_row_labels_and_arrange_by_label(tmp_path):
    from keras_genmodels.plots import arrange_by_label

    rng = np.random.default_rng(0)
    images = rng.uniform(size=(20, 8, 8, 1)).astype("float32")
    labels = np.resize(np.arange(10), 20)
    tiles, ncols, classes = arrange_by_label(images, labels)
    assert (ncols, classes) == (2, list(range(10)))
    np.testing.assert_array_equal(tiles[0], images[0])  # class 0: images 0 and 10
    np.testing.assert_array_equal(tiles[1], images[10])
    np.testing.assert_array_equal(tiles[2], images[1])
    short, ncols, _ = arrange_by_label(images[:3], [4, 4, 9])
    assert ncols == 2 and np.all(short[3] == 1.0)  # class 9's row padded blank
    names = [f"class {c}" for c in classes]
    plain = mpimg.imread(plots.save_image_grid(tiles, tmp_path / "p.png", ncols=2))
    labelled = mpimg.imread(
        plots.save_image_grid(tiles, tmp_path / "l.png", ncols=2, row_labels=names)
    )
    assert labelled.shape[1] > plain.shape[1]
    with pytest.raises(ValueError, match="row_labels has 3 labels for a grid of 10"):
        plots.save_image_grid(tiles, tmp_path / "x.png", ncols=2, row_labels=names[:3])
    with pytest.raises(ValueError, match="one label per image"):
        arrange_by_label(images, labels[:5])


def test_rgba_grid_is_drawn_over_a_checkerboard_and_saved_transparent(tmp_path):
    from PIL import Image

    from keras_genmodels.data.pixels import checkerboard

    x = np.zeros((2, 8, 8, 4), np.float32)
    x[0, :4] = [0.5, 0.0, 0.0, 0.5]  # half-transparent red in the top half
    grid = plots.image_grid(x, ncols=2, padding=0)
    board = checkerboard(8, 8, square=2)
    np.testing.assert_allclose(grid[4:, :8], board[4:])  # clear: the board shows
    np.testing.assert_allclose(grid[:4, :8], [0.5, 0, 0] + 0.5 * board[:4])
    plots.save_image_grid(x, tmp_path / "samples.png", ncols=2)
    with Image.open(tmp_path / "samples_rgba.png") as im:
        assert im.mode == "RGBA"
        rgba = np.asarray(im)
    np.testing.assert_array_equal(rgba[1, 1], [255, 0, 0, 128])  # straight colour
    np.testing.assert_array_equal(rgba[0, 0], [0, 0, 0, 0])  # transparent padding
    _only_pngs(tmp_path)
