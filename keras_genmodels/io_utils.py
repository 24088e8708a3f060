"""Atomic file writes: readers see the old file or the complete new one, never half."""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Callable
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[pathlib.Path], Any]):
    """Calls `write(tmp)` on a temporary sibling of `path`, then renames it to `path`.

    The temporary name keeps the suffix (Keras insists on `.keras`); `os.replace` is
    atomic within one filesystem, and on any error the temporary file is removed.

    Args:
        path: str or path-like. The destination file; its folder is created.
        write: callable. Writes the complete file to the path it is given.

    Returns:
        The destination as a `pathlib.Path`.

    Example:

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda tmp: tmp.write_text("hi")).read_text()
    'hi'
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
