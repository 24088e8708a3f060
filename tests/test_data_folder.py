"""Tests for image folders: labels, values against PIL, split, cache and errors."""

import hashlib
import pathlib

import numpy as np
import pytest
from PIL import Image

from keras_genmodels.data import load_arrays, load_dataset


def digit_images(count: int, size=(12, 10), seed=0) -> list[np.ndarray]:
    """Distinct uint8 RGB images: sklearn digits upscaled and colourised."""
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits().images[:count] / 16.0
    out = []
    for d in digits:
        grey = (
            np.asarray(Image.fromarray((d * 255).astype(np.uint8)).resize(size[::-1]))
            / 255.0
        )
        tint = rng.uniform(0.3, 1.0, size=3)
        out.append((grey[..., None] * tint * 255).astype(np.uint8))
    return out


def write_classes(root: pathlib.Path, per_class=4, classes=("cat", "dog", "owl")):
    """Class folders of RGB PNGs, plus one grey JPEG, BMP and GIF."""
    images = digit_images(per_class * len(classes))
    paths = []
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = root / name / f"{i}.png"
            Image.fromarray(images[c * per_class + i]).save(path)
            paths.append((path, c))
    return paths


def reference(path, size, channels, crop="center") -> np.ndarray:
    """PIL decode + antialiased bilinear resize + centre crop / pad."""
    im = Image.open(path).convert("RGB" if channels == 3 else "L")
    height, width = size
    scale = (max if crop == "center" else min)(height / im.height, width / im.width)
    new_h, new_w = round(im.height * scale), round(im.width * scale)
    x = np.asarray(im.resize((new_w, new_h), Image.BILINEAR), np.float32) / 255.0
    x = x.reshape(new_h, new_w, channels)
    if crop == "center":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return x[top : top + height, left : left + width]
    out = np.zeros((height, width, channels), np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = x
    return out


def collect(ds):
    xs, ys = [], []
    for element in ds:
        x, y = element if isinstance(element, tuple) else (element, None)
        xs.append(x.numpy())
        ys.append(None if y is None else y.numpy())
    return np.concatenate(xs), None if ys[0] is None else np.concatenate(ys)


def match(loaded: np.ndarray, refs: np.ndarray, atol: float) -> np.ndarray:
    """Index of the reference each loaded image is; asserts a close bijection."""
    dist = np.abs(loaded[:, None] - refs[None]).reshape(len(loaded), len(refs), -1)
    nearest = dist.mean(-1).argmin(1)
    assert len(set(nearest.tolist())) == len(loaded)
    worst = dist[np.arange(len(loaded)), nearest]
    assert worst.mean() < atol / 4 and worst.max() < atol, worst.max()
    return nearest


@pytest.mark.parametrize("crop", ["center", "pad"])
def test_labelled_folder_matches_pil(tmp_path, crop):
    files = write_classes(tmp_path)
    result = load_dataset(
        f"folder:{tmp_path}",
        image_size=(8, 6),
        batch_size=5,
        test_fraction=0.0,
        crop=crop,
    )
    train_ds, test_ds = result
    info = result.info
    assert test_ds is None and info.class_names == ("cat", "dog", "owl")
    assert info.image_shape == (8, 6, 3) and info.num_train == 12 and info.labelled
    x, y = collect(train_ds)
    assert x.dtype == np.float32 and x.shape == (12, 8, 6, 3) and y.dtype == np.int64
    refs = np.stack([reference(p, (8, 6), 3, crop) for p, _ in files])
    nearest = match(x, refs, atol=0.12)
    np.testing.assert_array_equal(y, [files[i][1] for i in nearest])
    x2, _ = collect(train_ds)
    assert not np.array_equal(x, x2)  # reshuffled every epoch
    assert info.to_dict()["class_names"] == ["cat", "dog", "owl"]


def test_flat_folder_formats_and_channels(tmp_path):
    images = digit_images(8, size=(9, 9))
    formats = ["png", "jpg", "bmp", "gif"]
    for i, im in enumerate(images):
        mode = "L" if i % 2 else "RGB"  # mixed grey and colour
        Image.fromarray(im).convert(mode).save(tmp_path / f"im{i}.{formats[i % 4]}")
    paths = sorted(tmp_path.iterdir())
    for channels, expected in ((None, 3), (1, 1), (3, 3)):
        train_ds, _ = result = load_dataset(
            f"folder:{tmp_path}", channels=channels, test_fraction=0.0, batch_size=3
        )
        assert result.info.image_shape == (9, 9, expected) and not result.info.labelled
        x, y = collect(train_ds)
        assert y is None and x.shape == (8, 9, 9, expected)
        refs = np.stack([reference(p, (9, 9), expected) for p in paths])
        match(x, refs, atol=0.1)  # JPEG and GIF (palette) decoders differ slightly


def test_split_is_stable_when_files_are_added(tmp_path):
    write_classes(tmp_path, per_class=10)

    def held_out(fraction):
        rel = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")]
        key = {r: int(hashlib.sha1(r.encode()).hexdigest(), 16) / 2**160 for r in rel}
        return sorted(r for r in rel if key[r] < fraction)

    def test_images(ds_fraction):
        result = load_dataset(
            f"folder:{tmp_path}", test_fraction=ds_fraction, batch_size=64
        )
        x, _ = collect(result.test)
        assert result.info.num_test == len(x)
        assert result.info.num_train + len(x) == len(list(tmp_path.rglob("*.png")))
        return x

    expected = held_out(0.3)
    x = test_images(0.3)
    refs = np.stack([reference(tmp_path / r, (12, 10), 3) for r in expected])
    match(x, refs, atol=1e-6)  # same size: no resize
    for i, im in enumerate(digit_images(12, seed=1)):
        Image.fromarray(im[::-1]).save(tmp_path / "dog" / f"new{i}.png")
    grown = held_out(0.3)
    assert set(expected) < set(grown)  # old test files stay, new ones may join
    refs = np.stack([reference(tmp_path / r, (12, 10), 3) for r in grown])
    match(test_images(0.3), refs, atol=1e-6)


def test_corrupt_file_named_or_skipped(tmp_path):
    write_classes(tmp_path)
    bad = tmp_path / "dog" / "broken.png"
    good = (tmp_path / "dog" / "0.png").read_bytes()
    bad.write_bytes(good[: len(good) // 2])  # valid header, truncated body
    (tmp_path / "owl" / "text.jpg").write_text("not an image")
    with pytest.raises(ValueError, match=r"2 invalid.*broken\.png.*text\.jpg.*skip_in"):
        load_dataset(f"folder:{tmp_path}")
    result = load_dataset(f"folder:{tmp_path}", skip_invalid=True, test_fraction=0.0)
    assert result.info.skipped == (str(bad), str(tmp_path / "owl" / "text.jpg"))
    assert len(collect(result.train)[0]) == 12 == result.info.num_train
    header_only = load_dataset(
        f"folder:{tmp_path}", skip_invalid=True, test_fraction=0.0, validate="header"
    )
    assert len(collect(header_only.train)[0]) == 12  # skipped in the pipeline


def test_cache_and_binarize(tmp_path):
    write_classes(tmp_path)
    for cache in ("memory", str(tmp_path / "cache")):
        train_ds, _ = load_dataset(
            f"folder:{tmp_path}", cache=cache, batch_size=4, test_fraction=0.0
        )
        (x1, y1), (x2, y2) = collect(train_ds), collect(train_ds)
        order = np.lexsort(x1.reshape(12, -1).T), np.lexsort(x2.reshape(12, -1).T)
        np.testing.assert_array_equal(x1[order[0]], x2[order[1]])
        np.testing.assert_array_equal(y1[order[0]], y2[order[1]])
    assert (tmp_path / "cache.train.index").exists()
    arrays = load_arrays(f"folder:{tmp_path}", binarize="dynamic", test_fraction=0.5)
    assert set(np.unique(arrays.x_test)) <= {0.0, 1.0} and arrays.x_train.max() < 1
    assert len(arrays.x_train) + len(arrays.x_test) == 12
    train_ds, _ = load_dataset(
        f"folder:{tmp_path}", binarize="dynamic", test_fraction=0.0
    )
    assert set(np.unique(collect(train_ds)[0])) == {0.0, 1.0}


def test_folder_errors(tmp_path):
    def raises(match, name=f"folder:{tmp_path}", **kwargs):
        with pytest.raises(ValueError, match=match):
            load_dataset(name, **kwargs)

    raises(r"folder:.*nope': the path does not exist", f"folder:{tmp_path}/nope")
    raises(r"holds no image files \(empty folder\).*\.png, \.jpg")
    (tmp_path / "notes.txt").write_text("x")
    raises(r"no image files \(found: \.txt\)")
    raises(r"not a folder", f"folder:{tmp_path}/notes.txt")
    write_classes(tmp_path)
    Image.fromarray(digit_images(1)[0]).save(tmp_path / "stray.png")
    raises(r"both in class subfolders and at its top level.*stray\.png.*labels=None")
    assert (
        load_dataset(
            f"folder:{tmp_path}", labels=None, test_fraction=0.0
        ).info.num_train
        == 13
    )
    (tmp_path / "stray.png").unlink()
    (tmp_path / "emu").mkdir()
    Image.fromarray(digit_images(1)[0]).save(tmp_path / "emu" / "a.png")
    raises(r"fewer than min_images_per_class=2 images: 'emu' \(1\)")
    info = load_dataset(
        f"folder:{tmp_path}", min_images_per_class=1, test_fraction=0.0
    ).info
    assert info.num_classes == 4 and info.class_names[0] == "cat"
    Image.fromarray(digit_images(1, size=(5, 5))[0]).save(tmp_path / "emu" / "b.png")
    raises(r"2 different sizes.*pass image_size")
    raises(r"test_fraction=0.01 puts 0 of 14 images", test_fraction=0.01, image_size=4)
    for kwargs, match in (
        (dict(image_size=(4, 0)), r"image_size must be.*\(4, 0\)"),
        (dict(image_size="big"), r"image_size must be.*'big'"),
        (dict(channels=2), r"channels must be None, 1 \(grey\), 3 .* 4 .*, got 2"),
        (dict(crop="middle"), r"crop must be 'center', 'pad' or None, got 'middle'"),
        (dict(cache=5), r"cache must be None, 'memory' or a file path.*5"),
        (dict(test_fraction=1.0), r"test_fraction must be in \[0, 1\), got 1.0"),
        (dict(validate="some"), r"validate must be 'full' or 'header'"),
        (dict(labels="dirs"), r"labels must be 'inferred' or None, got 'dirs'"),
        (dict(min_images_per_class=0), r"min_images_per_class must be a positive"),
        (dict(batch_size=0), r"batch_size must be a positive integer, got 0"),
    ):
        raises(match, image_size=kwargs.pop("image_size", 4), **kwargs)
    with pytest.raises(ValueError, match=r"image_size=8 applies to 'folder:PATH'"):
        load_dataset("digits", image_size=8)
    with pytest.raises(ValueError, match=r"options \['channels'\] apply to"):
        load_arrays("digits", channels=1)
