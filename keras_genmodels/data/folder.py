"""Image folders (PNG, JPEG, BMP, GIF) streamed from disk as tf.data pipelines."""

from __future__ import annotations

import collections
import os
import pathlib
from typing import NamedTuple

import tensorflow as tf

from keras_genmodels.data import pipeline, pixels

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _images_under(root: pathlib.Path) -> list[pathlib.Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [
            pathlib.Path(dirpath, f)
            for f in sorted(filenames)
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
        ]
    return found


def list_images(path: str, labels: str | None, min_images_per_class: int):
    """Relative posix paths, integer labels (or None) and class names of a tree."""
    root = pathlib.Path(path)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ValueError(f"dataset 'folder:{path}': the path {what}.")
    files = _images_under(root)
    if not files:
        others = sorted(
            {p.suffix.lower() or p.name for p in root.rglob("*") if p.is_file()}
        )
        raise ValueError(
            f"dataset 'folder:{path}' holds no image files "
            f"({'empty folder' if not others else 'found: ' + ', '.join(others[:10])})"
            f"; valid extensions: {', '.join(IMAGE_EXTENSIONS)}."
        )
    rel = [f.relative_to(root).as_posix() for f in files]
    if labels not in ("inferred", None):
        raise ValueError(f"labels must be 'inferred' or None, got {labels!r}.")
    nested = [r for r in rel if "/" in r]
    if labels is None or not nested:
        return rel, None, None
    flat = [r for r in rel if "/" not in r]
    if flat:
        raise ValueError(
            f"dataset 'folder:{path}' has images both in class subfolders and at its "
            f"top level (e.g. {flat[0]!r}); move them into class subfolders, or pass "
            "labels=None to read the whole tree unlabelled."
        )
    class_names = tuple(sorted({r.split("/", 1)[0] for r in rel}))
    index = {name: i for i, name in enumerate(class_names)}
    ids = [index[r.split("/", 1)[0]] for r in rel]
    counts = collections.Counter(ids)
    small = [
        f"{class_names[i]!r} ({counts[i]})"
        for i in range(len(class_names))
        if counts[i] < min_images_per_class
    ]
    if small:
        raise ValueError(
            f"dataset 'folder:{path}': class folders with fewer than "
            f"min_images_per_class={min_images_per_class} images: {', '.join(small)}; "
            "add images, remove the folder, or lower min_images_per_class."
        )
    return rel, ids, class_names


class Header(NamedTuple):
    """What a file's header says: upright size, colour, transparency, orientation."""

    height: int
    width: int
    colour: bool
    transparent: bool
    orientation: int
    transparency_ignored: bool


def header_of(image) -> Header:
    """The `Header` of an open PIL image (its upright size after EXIF rotation)."""
    orientation = pixels.exif_orientation(image)
    height, width = image.height, image.width
    if orientation >= 5:  # a quarter turn swaps the sides
        height, width = width, height
    transparency = pixels.has_transparency(image)
    # TensorFlow's decoders read PNG alpha channels and palette transparency, but
    # not a GIF's transparent index nor a grey/RGB PNG's transparent colour key.
    read = image.format == "PNG" and image.mode in ("RGBA", "LA", "PA", "P")
    return Header(
        height,
        width,
        image.mode not in _GREY_MODES,
        transparency and read,
        orientation,
        transparency and not read,
    )


def read_headers(paths: list[str]):
    """The `Header` of every file, or an error text for a file that cannot open."""
    from PIL import Image

    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                out.append(header_of(im))
        except Exception as err:  # unreadable, not an image, truncated header
            out.append(f"{type(err).__name__}: {err}")
    return out


def decode_errors(paths: list[str], channels: int, background) -> dict[int, str]:
    """Decodes every file once with TensorFlow; index -> error text of the failures."""
    paths_t = tf.constant(paths)

    def check(i):
        x = pipeline.decode(tf.io.read_file(paths_t[i]), channels, background)
        return i, tf.shape(x)[0]

    ok = (
        tf.data.Dataset.range(len(paths))
        .map(check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        .ignore_errors()
    )
    good = {int(i) for batch, _ in ok.batch(4096) for i in batch.numpy()}
    errors = {}
    for i in sorted(set(range(len(paths))) - good):
        try:
            pipeline.decode(tf.io.read_file(paths[i]), channels, background)
            errors[i] = "failed to decode"
        except Exception as err:
            errors[i] = str(err).split("}}")[-1].strip().split(" [Op:")[0]
    return errors


def _invalid_error(path: str, bad: list[tuple[str, str]]) -> ValueError:
    shown = "; ".join(f"{p}: {why}" for p, why in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return ValueError(
        f"dataset 'folder:{path}': {len(bad)} invalid image file(s): {shown}{more}. "
        "Fix or remove them, or pass skip_invalid=True to skip them."
    )


def load_folder(
    path: str,
    *,
    image_size,
    channels,
    background,
    crop,
    cache,
    test_fraction,
    skip_invalid,
    validate,
    labels,
    min_images_per_class,
    **build,
):
    """The `load_dataset("folder:PATH", ...)` implementation."""
    name = f"folder:{path}"
    rel, ids, class_names = list_images(path, labels, min_images_per_class)
    full = [os.path.join(path, r) for r in rel]
    headers = read_headers(full)
    bad = [(full[i], h) for i, h in enumerate(headers) if isinstance(h, str)]
    good = [h for h in headers if not isinstance(h, str)]
    if channels is None:
        channels = 3 if any(h.colour for h in good) else 1
    rgb = pixels.parse_background(background)
    if validate == "full":
        keep = [i for i, h in enumerate(headers) if not isinstance(h, str)]
        errors = decode_errors([full[i] for i in keep], channels, rgb)
        bad += [(full[keep[j]], why) for j, why in errors.items()]
    if bad and not skip_invalid:
        raise _invalid_error(path, sorted(bad))
    skipped = {p for p, _ in bad}
    keep = [i for i in range(len(rel)) if full[i] not in skipped]
    if not keep:
        raise ValueError(f"dataset {name!r}: every image file is invalid.")
    if image_size is None:
        sizes = {headers[i][:2] for i in keep}
        if len(sizes) > 1:
            raise ValueError(
                f"dataset {name!r} has images of {len(sizes)} different sizes (e.g. "
                f"{sorted(sizes)[:3]}); pass image_size=(height, width)."
            )
        image_size = sizes.pop()
    keys = [pipeline.path_key(rel[i]) for i in keep]
    test = [pipeline.in_test_split(k, test_fraction) for k in keys]
    if test_fraction > 0 and not any(test) or all(test):
        raise ValueError(
            f"dataset {name!r}: test_fraction={test_fraction} puts "
            f"{sum(test)} of {len(keep)} images in the test split; use more images "
            "or another test_fraction (0 for no test split)."
        )

    orientations = {full[i]: headers[i].orientation for i in keep}
    turned = {p: o for p, o in orientations.items() if o != 1}
    table = None
    if turned:
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(turned)), tf.constant(list(turned.values()), tf.int64)
            ),
            default_value=1,
        )

    def load(source):
        orientation = 1 if table is None else table.lookup(source)
        x = pipeline.decode(tf.io.read_file(source), channels, rgb, orientation)
        return pipeline.resize(x, image_size, crop)

    def split(held_out: bool):
        chosen = [j for j, t in enumerate(test) if t == held_out]
        elements = pipeline.element_dataset(
            [full[keep[j]] for j in chosen],
            None if ids is None else [ids[keep[j]] for j in chosen],
            [keys[j] for j in chosen],
        )
        ds = pipeline.build(
            elements,
            load,
            labelled=ids is not None,
            train=not held_out,
            num_elements=len(chosen),
            cache=cache,
            cache_suffix="test" if held_out else "train",
            skip_invalid=skip_invalid and validate == "header",
            **build,
        )
        ds._keras_genmodels_table = table  # the lookup table lives with the dataset
        return chosen, ds

    train_idx, train_ds = split(False)
    test_idx, test_ds = split(True) if test_fraction > 0 else ([], None)
    info = pipeline.DatasetInfo(
        name=name,
        image_shape=(*image_size, channels),
        num_train=len(train_idx),
        num_test=len(test_idx),
        labelled=ids is not None,
        class_names=class_names,
        num_classes=None if class_names is None else len(class_names),
        skipped=tuple(sorted(skipped)),
        background=None if channels == 4 else background_name(background),
        transparent=sum(headers[i].transparent for i in keep),
        rotated=len(turned),
        resized=sum(headers[i][:2] != tuple(image_size) for i in keep),
        transparency_ignored=sum(headers[i].transparency_ignored for i in keep),
    )
    return pipeline.Datasets(train_ds, test_ds, info)


def background_name(background) -> str:
    """The background as given when it is a string, else its hex code."""
    if isinstance(background, str):
        return background
    from matplotlib import colors

    return colors.to_hex(pixels.parse_background(background))
