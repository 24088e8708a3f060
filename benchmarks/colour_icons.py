"""A real colour folder from Debian's oxygen-icon-theme, and what loading does to it.

Builds a user's folder of the 64x64 icons of Debian's `oxygen-icon-theme`
(5:5.103.0-1, KDE's Oxygen icons: RGBA PNG drawings on transparent backgrounds,
one folder per category), never committed:

    python benchmarks/colour_icons.py build DIR     # apt-get download + dpkg -x
    python benchmarks/colour_icons.py measure DIR

`build` keeps regular files only (the theme links many names to one file),
deduplicates by content (SHA-256 of the bytes) so no image can sit in both splits,
and keeps the 64x64 ones. `measure` reports, over every fully transparent pixel
of the folder:
- the spread of the RGB stored under it (what a loader that drops alpha trains
  on), read with PIL;
- the spread of the pixels `load_dataset` gives there (composited over white:
  exactly the background, std 0), with the loader's one-line summary.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

PACKAGE = "oxygen-icon-theme"
SIZE_FOLDER = "usr/share/icons/oxygen/base/64x64"


def build(out: pathlib.Path) -> None:
    """Downloads the package, extracts it and writes DIR/<category>/<name>.png."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True)
        deb = next(pathlib.Path(tmp).glob("*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), f"{tmp}/root"], check=True)
        seen, kept, skipped = set(), 0, 0
        for path in sorted(pathlib.Path(tmp, "root", SIZE_FOLDER).rglob("*.png")):
            if path.is_symlink():
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            with Image.open(path) as im:
                size = im.size
            if digest in seen or size != (64, 64):
                skipped += 1
                continue
            seen.add(digest)
            category = path.parent.name
            (out / category).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / category / path.name)
            kept += 1
    print(f"{out}: {kept} distinct 64x64 PNGs ({skipped} duplicates or other sizes)")


def measure(folder: pathlib.Path) -> None:
    import tensorflow as tf
    from PIL import Image

    from keras_genmodels.data import load_dataset, pipeline

    files = sorted(folder.rglob("*.png"))
    under, loaded = [], []
    for path in files:
        with Image.open(path) as im:
            rgba = np.asarray(im.convert("RGBA")) / 255.0
        clear = rgba[..., 3] == 0
        under.append(rgba[clear][:, :3])
        x = pipeline.decode(tf.io.read_file(str(path)), 3, (1.0, 1.0, 1.0)).numpy()
        loaded.append(x[clear])
    under, loaded = np.concatenate(under), np.concatenate(loaded)
    print(f"{len(files)} files, {len(under)} fully transparent pixels")
    print(
        f"RGB stored under them (alpha dropped): mean "
        f"{np.round(under.mean(0), 3).tolist()}, std {under.std(0).mean():.3f}"
    )
    print(
        f"as loaded now (over white): mean {np.round(loaded.mean(0), 3).tolist()}, "
        f"std {loaded.std(0).mean():.3f}; not exactly 1: {np.mean(loaded != 1):.2%} "
        f"of values, by at most {np.abs(loaded - 1).max():.1e} (alpha below 1/255 in "
        "16-bit files, which PIL reads as 0)"
    )
    options = dict(image_size=64, channels=3, test_fraction=0.1, skip_invalid=True)
    print(load_dataset(f"folder:{folder}", **options).info.summary())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "measure"))
    parser.add_argument("folder", type=pathlib.Path)
    args = parser.parse_args(argv)
    build(args.folder) if args.command == "build" else measure(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
