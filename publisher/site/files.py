"""Writing output files so that readers and crashes never see half a file."""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# How many pieces one writev() call takes (POSIX guarantees at least 16; Linux allows 1024).
_IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 16


@dataclass(frozen=True)
class Span:
    """A stretch of a file held open: written into another file by the kernel's copy
    (copy_file_range), never read into memory, so that a feed of every post can be made
    again from the entries kept on disk at the cost of the copy alone."""

    fd: int
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length

    def read(self) -> bytes:
        return os.pread(self.fd, self.length, self.offset)


# What a file is written from: bytes, and stretches of other files.
Piece = bytes | Span


class UnsafePath(ValueError):
    """A computed output path would land outside the output folder."""


def inside(folder: Path, relative: str) -> Path:
    """The path of `relative` under `folder` (resolved already), refusing anything that would
    leave it. The folders on the way are resolved, as a symlinked one could lead out; the file
    itself is not: it is only ever replaced, never written through."""
    target = folder / relative
    parent = target.parent.resolve()
    if target.name in ("", "..") or not parent.is_relative_to(folder):
        raise UnsafePath(f"{relative!r} leaves the output folder {folder}")
    return parent / target.name


def _holds(path: Path, size: int, pieces: list[Piece]) -> bool:
    """True when the file, of `size` bytes, holds exactly the pieces, in order; read a piece at
    a time."""
    if size != sum(len(piece) for piece in pieces):
        return False
    try:
        with open(path, "rb") as handle:
            return all(handle.read(len(piece)) == _bytes(piece) for piece in pieces)
    except FileNotFoundError:
        return False


def _bytes(piece: Piece) -> bytes:
    return piece.read() if isinstance(piece, Span) else piece


class Staging:
    """Files written beside their targets, then each renamed into place.

    A file that replaces one readers already have is flushed to disk before any rename, so a
    power cut cannot swap it for a hole. A new file is not: a power cut can at worst leave it
    empty where there was nothing, and the next run, finding it not as recorded, writes it
    again. A file whose bytes did not change is left alone, so its mtime stays and web
    servers keep answering conditional GETs with 304. Leaving the block with an error discards
    every temporary file and replaces nothing.
    """

    def __init__(self, *, durable: bool = True) -> None:
        self.durable = durable
        self.pending: list[tuple[str, Path]] = []
        self.flusher: FileFlusher | None = None
        self._starting = threading.Lock()

    def write(self, path: Path, data: bytes | list[Piece]) -> bool:
        """Stage `data` (bytes, or pieces in order) for `path`; False when it is already there.

        Safe to call from several threads: writing is mostly the kernel's copying, done without
        the GIL, so threads writing different files use every core."""
        pieces = [data] if isinstance(data, bytes) else data
        try:
            replacing = path.stat().st_size
        except FileNotFoundError:
            replacing = None
        if replacing is not None and _holds(path, replacing, pieces):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_name(path)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.pending.append((str(temporary), path))
        try:
            write_pieces(fd, pieces)
            os.fchmod(fd, 0o644)
        except BaseException:
            os.close(fd)
            raise
        if self.durable and replacing is not None:
            with self._starting:
                self.flusher = self.flusher or FileFlusher()
            self.flusher.add(fd)
        else:
            os.close(fd)
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
        try:
            self._wait_for_disk()
        except OSError:
            self.discard()
            raise
        for temporary, path in self.pending:
            os.replace(temporary, path)
        self.pending.clear()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._wait_for_disk()
        for temporary, _ in self.pending:
            Path(temporary).unlink(missing_ok=True)
        self.pending.clear()

    def _wait_for_disk(self) -> None:
        flusher, self.flusher = self.flusher, None
        if flusher:
            flusher.finish()


def temporary_name(path: Path) -> Path:
    """Where `path` is written before it is renamed into place: a random name, so that one a
    killed run left behind is never in the way (and `remove_leftovers` knows it)."""
    return path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")


# A temporary file that a killed run left: `.feed.xml.<12 hex digits>.tmp`.
_LEFTOVER = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")
# Older than this, a temporary file belongs to no run still going.
LEFTOVER_AGE = 3600


def remove_leftovers(folders: set[Path], *, any_age: bool = False) -> None:
    """Remove what killed runs left in these folders: in the feeds' folders it would be
    deployed with them, in the cache's it would pile up run after run. Only files older than
    LEFTOVER_AGE, unless `any_age` (no other run can be writing: see `sole_writer`)."""
    stale = time.time() - (0 if any_age else LEFTOVER_AGE)
    for folder in folders:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if _LEFTOVER.fullmatch(entry.name) and entry.stat().st_mtime < stale:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


@contextlib.contextmanager
def sole_writer(lock: Path) -> Iterator[bool]:
    """Hold the lock file `lock` while the block runs, after any other run holding it ends:
    True then, and a temporary file a run left is a killed run's. False when the lock cannot
    be had (a folder that cannot be written), and the block runs all the same.

    A POSIX record lock: the processes a run forks do not hold it, so none that outlives its
    run keeps the next one waiting; the kernel drops it when its run ends, killed or not."""
    try:
        import fcntl  # POSIX only: elsewhere the block runs unlocked

        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except (ImportError, OSError):
        yield False
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError:
            locked = False
        else:
            locked = True
        yield locked
    finally:
        os.close(fd)


def write_pieces(fd: int, pieces: list[Piece]) -> None:
    """Write the pieces in order: runs of bytes as they are, without joining them (one system
    call per batch), and spans copied by the kernel."""
    run: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, Span):
            _write_run(fd, run)
            run = []
            _copy_span(fd, piece)
        else:
            run.append(piece)
    _write_run(fd, run)


def _write_run(fd: int, pieces: list[bytes]) -> None:
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start : start + _IOV_MAX]
        written = os.writev(fd, batch)
        if written < sum(len(piece) for piece in batch):  # a short write: finish it plainly
            write_all(fd, memoryview(b"".join(batch))[written:])


def write_all(fd: int, data: bytes | memoryview) -> None:
    """All of `data`, however many writes the system takes for it."""
    rest = memoryview(data)
    while rest:
        rest = rest[os.write(fd, rest) :]


def _copy_span(fd: int, span: Span) -> None:
    offset, left = span.offset, span.length
    while left:
        try:
            copied = _kernel_copy(span.fd, fd, left, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            copied = _read_and_write(span.fd, fd, left, offset)
        if not copied:
            raise OSError(errno.EIO, f"{span.length - left} of {span.length} bytes kept")
        offset, left = offset + copied, left - copied


def _read_and_write(source: int, fd: int, count: int, offset: int) -> int:
    """The copy, through memory: for a system or file system without copy_file_range."""
    data = os.pread(source, count, offset)
    write_all(fd, data)
    return len(data)


_kernel_copy = getattr(os, "copy_file_range", _read_and_write)


class FileFlusher:
    """Flushes finished files to disk on a thread of its own, while the next are written."""

    # Files written but not yet flushed stay open: at most this many, well under ulimit -n.
    BACKLOG = 64

    def __init__(self) -> None:
        self.files: queue.Queue[int | None] = queue.Queue(maxsize=self.BACKLOG)
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, fd: int) -> None:
        """Flush and close `fd`; waits while the backlog is full."""
        self.files.put(fd)

    def finish(self) -> None:
        """Wait until every file added is on disk; raise the first error, if any."""
        self.files.put(None)
        self.thread.join()
        if self.error:
            raise self.error

    def _run(self) -> None:
        while (fd := self.files.get()) is not None:
            try:
                if self.error is None:
                    os.fsync(fd)
            except OSError as exc:
                self.error = exc
            finally:
                os.close(fd)


def write_if_changed(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Atomically replace one file with `data`, unless it already holds exactly those bytes.

    `durable=False` skips the flush to disk, for files a crash may lose without harm.
    """
    with Staging(durable=durable) as staging:
        return staging.write(path, data)
