"""Versioned, atomic SavedModel export for TF Serving, with named signatures."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import pathlib
import re
import shutil
import sys
import uuid

import keras
import numpy as np

from keras_genmodels import __version__
from keras_genmodels.registry import family_of
from keras_genmodels.serving import serving_endpoints

METADATA_FILE = "assets.extra/keras_genmodels.json"
_MAX_VERSION = 2**63 - 1  # TF Serving versions are int64


def list_versions(base_dir: str | os.PathLike) -> dict[int, pathlib.Path]:
    """Returns the version folders of `base_dir` that TF Serving would load.

    A version is a sub-folder whose name is a non-negative integer; everything
    else (temporaries of an unfinished export, READMEs) is ignored, as TF Serving
    ignores it.

    Args:
        base_dir: str or path-like. A model's base folder; may be missing.

    Returns:
        `{version: path}`, sorted by version.

    Example:

    >>> import tempfile
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("2", "10", ".tmp-11-abc", "notes"):
    ...     (base / name).mkdir()
    >>> sorted(list_versions(base))
    [2, 10]
    """
    base = pathlib.Path(base_dir)
    if not base.is_dir():
        return {}
    found = {
        int(child.name): child
        for child in base.iterdir()
        if re.fullmatch(r"[0-9]+", child.name) and child.is_dir()
    }
    return dict(sorted(found.items()))


def export_saved_model(
    model: keras.Model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
) -> pathlib.Path:
    """Writes `model` as the SavedModel `base_dir/<version>/`, atomically.

    The export is written to a hidden sibling `base_dir/.tmp-<version>-<hex>/`,
    flushed to disk, and only then renamed to `base_dir/<version>`, so TF
    Serving (which loads the highest numeric folder as soon as it appears) never
    sees a partial model. On any error the temporary folder is removed and no
    version folder is left behind. The signatures are those of
    `keras_genmodels.serving.serving_endpoints`; the model's class and shapes are
    recorded in `assets.extra/keras_genmodels.json`. Loading needs only
    TensorFlow: `tf.saved_model.load(path).signatures["decode"](z=...)`.

    With `overwrite=True` an existing version is swapped with the new export in
    one step (Linux `renameat2(RENAME_EXCHANGE)`), then deleted; where that is
    unsupported it is renamed aside, the new export renamed in, and the old one
    put back if that fails. TF Serving does not reload a version number it has
    already loaded: to update a running server, publish a new version.

    Args:
        model: a model of a registered family (`VAE`, `GAN`, ...). The model
            to export.
        base_dir: str or path-like. The model's base folder (TF Serving's
            `--model_base_path`); created when missing.
        version: int or None. The version number (>= 1); None takes one more
            than the highest existing version, or 1. Defaults to None.
        overwrite: bool. Whether to replace an existing version. Defaults to
            False.

    Returns:
        The `pathlib.Path` of the version folder written.

    Raises:
        TypeError: `model` belongs to no registered family, or `version` is
            not an integer.
        ValueError: `version` < 1, or a weight of the model is NaN or infinite.
        FileExistsError: the version exists and `overwrite` is False.
        NotADirectoryError: `base_dir` (or a parent) is a file.
        PermissionError: `base_dir` cannot be created or written.

    Example:

    >>> import tempfile
    >>> import tensorflow as tf
    >>> from keras_genmodels import VAE
    >>> base = pathlib.Path(tempfile.mkdtemp()) / "vae"
    >>> vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    >>> export_saved_model(vae, base).name, export_saved_model(vae, base).name
    ('1', '2')
    >>> loaded = tf.saved_model.load(str(base / "2"))
    >>> images = loaded.signatures["sample"](num_samples=tf.constant(3),
    ...                                      seed=tf.constant(0, tf.int64))
    >>> tuple(images["images"].shape)
    (3, 8, 8, 1)
    """
    endpoints = serving_endpoints(model)  # validates `model`
    version = _check_version(version)
    base = pathlib.Path(base_dir)
    created = _make_base_dir(base)
    existing = list_versions(base)
    if version is None:
        version = max(existing, default=0) + 1
    final = existing.get(version, base / str(version))
    if version in existing and not overwrite:
        raise FileExistsError(
            errno.EEXIST,
            f"Version {version} already exists; pass overwrite=True to replace it "
            "(or choose another version)",
            str(final),
        )
    tmp = base / f".tmp-{version}-{uuid.uuid4().hex[:12]}"
    try:
        try:
            tmp.mkdir()
        except OSError as err:
            raise type(err)(
                err.errno, f"cannot write to base_dir {str(base)!r}: {err.strerror}"
            ) from err
        # No `archive.track(model)`: it would save every weight twice (as Keras
        # variables and as the TF variables the endpoints capture). Endpoints
        # track what they use, which is all a server needs.
        archive = keras.export.ExportArchive()
        for name, (function, signature) in endpoints.items():
            archive.add_endpoint(name, function, input_signature=signature)
        archive.write_out(str(tmp), verbose=False)
        metadata = tmp / METADATA_FILE
        metadata.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_metadata(model, list(endpoints)), indent=2) + "\n"
        metadata.write_text(text)
        _fsync_tree(tmp)
        _publish(tmp, final, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):  # only the folders this call made
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    _fsync(base)
    return final


def _metadata(model: keras.Model, signatures: list[str]) -> dict:
    """What a client needs besides the signatures: family, class, shapes, versions.

    The family adds its own fields (e.g. `latent_dim`, `num_classes`).
    """
    family = family_of(model)
    return {
        "family": family.name,
        "model_class": type(model).__name__,
        "data_shape": [int(d) for d in model.data_shape],
        "num_classes": None,
        **family.metadata(model),
        "signatures": signatures,
        "keras_genmodels_version": __version__,
        "keras_version": keras.__version__,
    }


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int | np.integer):
        raise TypeError(
            f"`version` must be a positive integer or None; got {version!r} "
            f"of type {type(version).__name__}."
        )
    if not 1 <= version <= _MAX_VERSION:
        raise ValueError(
            f"`version` must be an integer in [1, 2**63 - 1]; got {version}."
        )
    return int(version)


def _make_base_dir(base: pathlib.Path) -> list[pathlib.Path]:
    """Creates `base` and missing parents; returns the folders it created."""
    missing = [p for p in (base, *base.parents) if not p.exists()][::-1]
    for folder in (base, *base.parents):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(
                f"base_dir {str(base)!r} cannot be used: {str(folder)!r} exists "
                "and is not a directory."
            )
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise type(err)(
            err.errno, f"cannot create base_dir {str(base)!r}: {err.strerror}"
        ) from err
    return missing


def _exchange(a: pathlib.Path, b: pathlib.Path) -> bool:
    """Swaps two paths in one step (Linux `renameat2`); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # no libc symbol (old glibc, musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p] * 2 + [ctypes.c_uint]
    cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    if renameat2(cwd, os.fsencode(a), cwd, os.fsencode(b), exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # the kernel or filesystem cannot exchange
    raise OSError(code, os.strerror(code), str(b))


def _publish(tmp: pathlib.Path, final: pathlib.Path, overwrite: bool) -> None:
    """Renames the finished export `tmp` to `final` (atomic within a filesystem).

    An existing `final` (only with `overwrite`) is swapped with `tmp` atomically
    where the OS can; elsewhere it is renamed aside first, which leaves a
    moment with no `final`, and put back if the second rename fails.
    """
    aside = None
    if overwrite and final.exists():
        if _exchange(tmp, final):  # `tmp` now holds the old version
            shutil.rmtree(tmp, ignore_errors=True)
            return
        aside = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:12]}")
        os.rename(final, aside)
    try:
        os.rename(tmp, final)  # fails if a non-empty `final` appeared meanwhile
    except BaseException as err:
        if aside is not None:
            os.rename(aside, final)
        if isinstance(err, OSError) and err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(
                errno.EEXIST,
                "Version folder appeared during the export (another export?)",
                str(final),
            ) from err
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _fsync(path: pathlib.Path) -> None:
    """Flushes a file; a folder too where the OS allows it (POSIX does)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        if path.is_dir():  # e.g. Windows cannot open folders
            return
        raise
    try:
        os.fsync(descriptor)
    except OSError:
        if not path.is_dir():  # some filesystems refuse fsync on folders
            raise
    finally:
        os.close(descriptor)


def _fsync_tree(root: pathlib.Path) -> None:
    """Flushes every file and folder under `root`, so a rename publishes data."""
    for folder, _, files in os.walk(root):
        for name in files:
            _fsync(pathlib.Path(folder, name))
        _fsync(pathlib.Path(folder))
