"""Tests for pixel formats: alpha over a background, RGBA, EXIF orientation, summary."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from keras_genmodels.data import load_arrays, load_dataset, pixels
from tests.test_data_tfrecord import write_records


def rgba_with_holes(shape=(6, 5), seed=0) -> np.ndarray:
    """RGBA uint8: random colour everywhere, alpha 0, 255 or partial per pixel."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    x[..., 3] = rng.choice([0, 255, 77, 200], size=shape)
    return x


def _decoder_levels() -> np.ndarray:
    """The float32 value TensorFlow's PNG decoder gives each 8-bit level k."""
    buffer = io.BytesIO()
    Image.fromarray(np.arange(256, dtype=np.uint8)[None]).save(buffer, "PNG")
    table = tf.io.decode_png(buffer.getvalue(), dtype=tf.uint16).numpy()
    return tf.image.convert_image_dtype(table, tf.float32).numpy().ravel()


LEVELS = _decoder_levels()


def levels(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 as the decoders give it (k / 255 to float32 rounding)."""
    return LEVELS[x]


def test_decoder_levels_are_k_over_255():
    np.testing.assert_allclose(LEVELS, np.arange(256) / 255.0, rtol=2e-7, atol=0)


def reference_over(rgba: np.ndarray, background) -> np.ndarray:
    """numpy: a * colour + (1 - a) * background, colour and a in k / 255."""
    x = levels(rgba)
    a = x[..., 3:]
    return x[..., :3] * a + np.asarray(background, np.float32) * (1.0 - a)


def smooth(height, width) -> np.ndarray:
    """An RGB uint8 image of gradients (JPEG keeps it nearly exact) and no symmetry."""
    rows, cols = np.mgrid[0:height, 0:width]
    channels = [rows * 200 / height, cols * 200 / width, (rows + 2 * cols) * 60 / width]
    return np.stack(channels, axis=-1).astype(np.uint8)


def nearest_turn(got: np.ndarray, x: np.ndarray) -> tuple[int, float]:
    """Which of the 8 flips/turns of uint8 `x` lossy `got` is, and its mean error."""
    turns = [np.rot90(x, k) for k in range(4)]
    turns += [t[:, ::-1] for t in turns]
    errors = [
        np.abs(got - t / 255.0).mean() if t.shape == got.shape else np.inf
        for t in turns
    ]
    return int(np.argmin(errors)), float(np.min(errors))


def one(path, **options) -> np.ndarray:
    return load_arrays(f"folder:{path}", test_fraction=0, **options).x_train[0]


def test_transparent_pixels_become_the_background_exactly(tmp_path):
    rgba = rgba_with_holes()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "icon.png")
    for background, rgb in (("white", (1, 1, 1)), ("#102030", (16, 32, 48))):
        rgb = np.asarray(rgb, np.float32) / (1 if background == "white" else 255)
        got = one(tmp_path, background=background)
        clear, opaque = rgba[..., 3] == 0, rgba[..., 3] == 255
        assert np.array_equal(got[clear], np.broadcast_to(rgb, got[clear].shape))
        assert np.array_equal(got[opaque], levels(rgba[opaque][:, :3]))
        np.testing.assert_allclose(got, reference_over(rgba, rgb), atol=1e-6)
    # The colour stored under transparent pixels no longer reaches the data.
    other = rgba.copy()
    other[other[..., 3] == 0, :3] = 255 - other[other[..., 3] == 0, :3]
    Image.fromarray(other, "RGBA").save(tmp_path / "icon.png")
    np.testing.assert_array_equal(
        one(tmp_path, background="black")[rgba[..., 3] == 0], 0
    )


def test_grey_alpha_and_palette_transparency(tmp_path):
    rgba = rgba_with_holes(seed=1)
    la = np.stack([rgba[..., 0], rgba[..., 3]], axis=-1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    grey = la[..., :1].astype(np.float32) / 255.0
    a = la[..., 1:].astype(np.float32) / 255.0
    np.testing.assert_allclose(one(tmp_path, channels=1), grey * a + (1 - a), atol=1e-6)
    rgb = one(tmp_path, channels=3, background="black")
    np.testing.assert_allclose(rgb, np.repeat(grey * a, 3, axis=-1), atol=1e-6)
    (tmp_path / "la.png").unlink()

    palette = Image.new("P", (4, 3))
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putdata([0, 1, 1, 0] * 3)
    palette.save(tmp_path / "p.png", transparency=0)
    got = one(tmp_path, background="#0000ff")
    index = np.asarray(palette)
    assert np.array_equal(
        got[index == 0], np.tile([0.0, 0.0, 1.0], ((index == 0).sum(), 1))
    )
    assert np.array_equal(
        got[index == 1], np.tile([0.0, 1.0, 0.0], ((index == 1).sum(), 1))
    )


def test_channels_4_keeps_premultiplied_alpha_through_resize(tmp_path):
    rgba = rgba_with_holes((8, 8), seed=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "icon.png")
    got = one(tmp_path, channels=4)
    x = rgba.astype(np.float32) / 255.0
    np.testing.assert_allclose(got[..., :3], x[..., :3] * x[..., 3:], atol=1e-6)
    np.testing.assert_array_equal(got[..., 3], x[..., 3])
    assert np.all(got[rgba[..., 3] == 0] == 0)
    half = one(tmp_path, channels=4, image_size=4)
    # Resized premultiplied: the same antialiased resize of (a * rgb, a).
    expected = tf.image.resize(got, (4, 4), antialias=True).numpy()
    np.testing.assert_allclose(half, np.clip(expected, 0, 1), atol=1e-6)
    over = pixels.composite_array(half[None], (1.0, 1.0, 1.0))[0]
    direct = one(tmp_path, image_size=4)
    np.testing.assert_allclose(
        over, direct, atol=1e-5
    )  # composite commutes with resize


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_undone_like_pil(tmp_path, orientation):
    x = np.random.default_rng(orientation).integers(0, 256, (4, 7, 3), dtype=np.uint8)
    image = Image.fromarray(x)
    exif = Image.Exif()
    exif[pixels.EXIF_ORIENTATION_TAG] = orientation
    image.save(tmp_path / "photo.png", exif=exif)
    with Image.open(tmp_path / "photo.png") as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    result = load_dataset(f"folder:{tmp_path}", test_fraction=0, batch_size=1)
    got = next(iter(result.train)).numpy()[0]
    np.testing.assert_array_equal(got, levels(upright))
    assert result.info.rotated == (orientation != 1)


def test_jpeg_phone_photo_and_other_formats_keep_decoding(tmp_path):
    x = smooth(16, 24)
    exif = Image.Exif()
    exif[pixels.EXIF_ORIENTATION_TAG] = 6
    Image.fromarray(x).save(tmp_path / "phone.jpg", exif=exif, quality=100)
    got = one(tmp_path)
    assert got.shape == (24, 16, 3)
    with Image.open(tmp_path / "phone.jpg") as im:
        upright = np.asarray(ImageOps.exif_transpose(im)) / 255.0
    assert np.abs(got - upright).mean() < 0.02  # two JPEG decoders' rounding
    turn, error = nearest_turn(got, x)
    assert turn == 3 and error < 0.02  # rotated 90 degrees clockwise
    (tmp_path / "phone.jpg").unlink()

    wide = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "deep.png")  # mode I;16
    np.testing.assert_allclose(one(tmp_path)[..., 0], wide / 65535.0, atol=1e-6)
    (tmp_path / "deep.png").unlink()

    cmyk = Image.fromarray(x).convert("CMYK")
    cmyk.save(tmp_path / "print.jpg", quality=100)
    assert np.abs(one(tmp_path) - x / 255.0).max() < 0.1
    (tmp_path / "print.jpg").unlink()

    frames = [Image.fromarray(np.full((5, 5, 3), v, np.uint8)) for v in (40, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    np.testing.assert_allclose(one(tmp_path), 40 / 255.0, atol=1e-6)


def test_mixed_folder_summary(tmp_path):
    rng = np.random.default_rng(4)
    for cls in ("icons", "photos"):
        (tmp_path / cls).mkdir()
    Image.fromarray(rgba_with_holes((8, 8)), "RGBA").save(tmp_path / "icons/a.png")
    Image.fromarray(rgba_with_holes((8, 8), 5), "RGBA").save(tmp_path / "icons/b.png")
    photo = rng.integers(0, 256, (10, 8, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[pixels.EXIF_ORIENTATION_TAG] = 8
    Image.fromarray(photo).save(tmp_path / "photos/c.jpg", exif=exif)
    Image.fromarray(photo).save(tmp_path / "photos/d.gif", transparency=0)
    (tmp_path / "photos/e.png").write_bytes(b"not an image")
    result = load_dataset(
        f"folder:{tmp_path}", image_size=8, test_fraction=0, skip_invalid=True
    )
    info = result.info
    assert (info.transparent, info.rotated, info.resized) == (2, 1, 2)
    assert info.transparency_ignored == 1 and len(info.skipped) == 1
    summary = info.summary()
    for part in (
        "2 with transparency composited over white",
        "1 turned upright",
        "2 resized to (8, 8)",
        "1 skipped",
        "not read",
    ):
        assert part in summary
    assert info.to_dict()["background"] == "white"


def test_tfrecord_alpha_and_orientation(tmp_path):
    rgba = rgba_with_holes(seed=6)
    png = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(png, "PNG")
    x = smooth(5, 6)
    exif = Image.Exif()
    exif[pixels.EXIF_ORIENTATION_TAG] = 3
    jpeg = io.BytesIO()
    Image.fromarray(x).save(jpeg, "JPEG", exif=exif, quality=100)
    write_records(tmp_path / "a.tfrecord", [png.getvalue()])
    write_records(tmp_path / "b.tfrecord", [jpeg.getvalue()])
    options = dict(test_fraction=0, background="black", image_size=(6, 5))
    data = load_arrays(f"tfrecord:{tmp_path}/a.tfrecord", **options)
    np.testing.assert_allclose(
        data.x_train[0], reference_over(rgba, (0, 0, 0)), atol=1e-6
    )
    result = load_dataset(f"tfrecord:{tmp_path}/*.tfrecord", **options)
    assert (result.info.transparent, result.info.rotated) == (1, 1)
    turned = load_arrays(f"tfrecord:{tmp_path}/b.tfrecord", test_fraction=0).x_train[0]
    assert nearest_turn(turned, x)[0] == 2  # rotated 180 degrees


def test_background_and_channels_errors(tmp_path):
    Image.fromarray(rgba_with_holes(), "RGBA").save(tmp_path / "icon.png")
    with pytest.raises(ValueError, match=r"background must be .*'not-a-colour'"):
        load_dataset(f"folder:{tmp_path}", background="not-a-colour")
    with pytest.raises(ValueError, match=r"background must be .*\(2, 0, 0\)"):
        load_dataset(f"folder:{tmp_path}", background=(2, 0, 0))
    with pytest.raises(ValueError, match="channels must be None, 1 .* 4"):
        load_dataset(f"folder:{tmp_path}", channels=2)
    with pytest.raises(ValueError, match="background='black' applies to 'folder"):
        load_dataset("digits", background="black")


def test_pixel_helpers():
    premultiplied = np.array(
        [[[[0.2, 0.1, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0]]]], np.float32
    )
    straight = pixels.straight_rgba(premultiplied)
    np.testing.assert_allclose(straight[0, 0, 0], [0.4, 0.2, 0.0, 0.5])
    np.testing.assert_array_equal(straight[0, 0, 1], 0.0)
    over = pixels.composite_array(premultiplied, (1.0, 0.0, 0.0))
    np.testing.assert_allclose(over[0, 0], [[0.7, 0.1, 0.0], [1.0, 0.0, 0.0]])
    board = pixels.checkerboard(8, 8, square=4)
    assert board.shape == (8, 8, 3) and board[0, 0, 0] != board[0, 4, 0]
    assert pixels.parse_background((0.5, 0.5, 0.5)) == (0.5, 0.5, 0.5)
