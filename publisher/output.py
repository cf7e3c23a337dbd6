"""Writing output files so that readers and crashes never see half a file."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from types import TracebackType

_TEMPORARY_NUMBERS = itertools.count()


class UnsafePath(ValueError):
    """A computed output path would land outside the output folder."""


def inside(folder: Path, relative: str) -> Path:
    """The path of `relative` under `folder`, refusing anything that would leave it."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise UnsafePath(f"{relative!r} leaves the output folder {folder}")
    return target


def unchanged(path: Path, pieces: list[bytes]) -> bool:
    """True when the file holds exactly the pieces, in order; read a piece at a time."""
    try:
        if path.stat().st_size != sum(len(piece) for piece in pieces):
            return False
        with open(path, "rb") as handle:
            return all(handle.read(len(piece)) == piece for piece in pieces)
    except FileNotFoundError:
        return False


class Staging:
    """Files written beside their targets, flushed to disk once, then each renamed into place.

    A file whose bytes did not change is left alone, so its mtime stays and web servers keep
    answering conditional GETs with 304. Leaving the block with an error discards every
    temporary file and replaces nothing.
    """

    def __init__(self, durable: bool = True) -> None:
        self.durable = durable
        self.pending: list[tuple[str, Path]] = []

    def write(self, path: Path, data: bytes | list[bytes]) -> bool:
        """Stage `data` (bytes, or pieces in order) for `path`; False when it is already there."""
        pieces = [data] if isinstance(data, bytes) else data
        if unchanged(path, pieces):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}-{next(_TEMPORARY_NUMBERS)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.pending.append((str(temporary), path))
        with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
            handle.writelines(pieces)
        os.chmod(temporary, 0o644)
        return True

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> None:
        if self.pending and self.durable:
            os.sync()
        for temporary, path in self.pending:
            os.replace(temporary, path)
        self.pending.clear()

    def discard(self) -> None:
        for temporary, _ in self.pending:
            Path(temporary).unlink(missing_ok=True)
        self.pending.clear()


def write_if_changed(path: Path, data: bytes, durable: bool = True) -> bool:
    """Atomically replace one file with `data`, unless it already holds exactly those bytes.

    `durable=False` skips the flush to disk, for files a crash may lose without harm.
    """
    with Staging(durable) as staging:
        return staging.write(path, data)
