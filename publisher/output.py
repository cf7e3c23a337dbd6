"""Writing output files so that readers and crashes never see half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class UnsafePath(ValueError):
    """A computed output path would land outside the output folder."""


def inside(folder: Path, relative: str) -> Path:
    """The path of `relative` under `folder`, refusing anything that would leave it."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise UnsafePath(f"{relative!r} leaves the output folder {folder}")
    return target


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data`, unless it already holds exactly those bytes.

    An unchanged file keeps its mtime, so web servers keep answering conditional GETs with 304.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
