"""File stamps (size and mtime), which tell a run whether what the last one read changed.

It imports nothing but os, hashlib, array, collections.abc and datetime: `publisher build`
with nothing to do uses it before the rest of publisher loads (see publisher/shortcut.py).
"""

from __future__ import annotations

import hashlib
import os
from array import array
from datetime import datetime

CACHE_DIR = os.path.join(".publisher", "cache")
# The length of an inputs key (a SHA-256 in hex).
KEY_LENGTH = 64
# A folder to scan for input files, relative to the site, and the endings of the names it
# reads (None: every file).
Scan = tuple[str, tuple[str, ...] | None]


def stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns]


# A file's size and mtime, as a build keeps them for every input file.
Stamp = tuple[int, int]


def stamp_of(path: str | os.PathLike[str]) -> list[int] | None:
    """The stamp of a file or folder, None when there is none."""
    try:
        return stamp(os.stat(path))
    except OSError:
        return None


# Scans that publisher/shortcut.py made before handing over to the full build in the same
# process: that build takes each once instead of stat-ing every file again.
handed_over: dict[tuple[str, tuple[Scan, ...]], dict[str, Stamp]] = {}


def scan_key(root: str | os.PathLike[str], scans: list[Scan]) -> tuple[str, tuple[Scan, ...]]:
    return os.path.realpath(root), tuple(scans)


def scan(root: str | os.PathLike[str], scans: list[Scan]) -> dict[str, Stamp]:
    """Every file under the scanned folders, by site-relative name (in name order), with its
    stamp; names starting with a dot are skipped, and so are folders that are not there."""
    kept = handed_over.pop(scan_key(root, scans), None)
    if kept is not None:
        return kept
    found: dict[str, Stamp] = {}
    for folder, extensions in scans:
        path = os.path.join(root, folder)
        if os.path.isdir(path):
            _scan(path, folder, extensions, found)
    return {name: found[name] for name in sorted(found)}


class Scanning:
    """Scans made in a child process, so that this one can do something else meanwhile: the
    child sends their inputs key first, and then the files, which are read only if asked for.
    Without fork (Windows), they are made here when asked for."""

    def __init__(self, root: str, scans: list[list[Scan]], options: str) -> None:
        self._scans, self._pipe, self._child = scans, None, None
        if not hasattr(os, "fork"):
            self._found = [scan(root, one) for one in scans]
            return
        reading, writing = os.pipe()
        self._child = os.fork()
        if self._child == 0:
            try:
                os.close(reading)
                with open(writing, "wb") as pipe:
                    found = [scan(root, one) for one in scans]
                    pipe.write(inputs_key(merged(found), options).encode())
                    pipe.flush()
                    pipe.write(b"".join(_packed(files) for files in found))
            finally:
                os._exit(0)
        os.close(writing)
        self._pipe = open(reading, "rb")  # noqa: SIM115 (closed by files())
        self._options = options

    def key(self) -> str:
        """The inputs key of the files found; empty if the child failed."""
        if self._pipe is None:
            return inputs_key(merged(self._found), self._options)
        return self._pipe.read(KEY_LENGTH).decode("ascii", "replace")

    def files(self) -> list[dict[str, Stamp]] | None:
        """The files each scan found, as `scan` gives them; None if the child failed."""
        if self._pipe is None:
            return self._found
        with self._pipe:
            data = self._pipe.read()
        os.waitpid(self._child, 0)
        try:
            return _unpacked(data, len(self._scans))
        except (ValueError, IndexError):
            return None


def merged(found: list[dict[str, Stamp]]) -> dict[str, Stamp]:
    """Scans' files as one mapping, in the order of the scans: what an inputs key covers."""
    return {name: one for files in found for name, one in files.items()}


def _packed(found: dict[str, Stamp]) -> bytes:
    """A scan as bytes: its count and the length of its names, the names, the numbers."""
    names = "\0".join(found).encode("utf-8", "surrogateescape")
    numbers = array("q", [len(found), len(names)])
    numbers.extend([size for size, _ in found.values()])
    numbers.extend([mtime for _, mtime in found.values()])
    return numbers[:2].tobytes() + names + numbers[2:].tobytes()


def _unpacked(data: bytes, count: int) -> list[dict[str, Stamp]]:
    """The scans `_packed` made, in their order; ValueError if the data is not whole."""
    found, at, width = [], 0, array("q").itemsize
    for _ in range(count):
        files, length = array("q", data[at : at + 2 * width])
        at += 2 * width
        names = data[at : at + length].decode("utf-8", "surrogateescape").split("\0")
        at += length
        numbers = array("q", data[at : at + 2 * files * width])
        at += 2 * files * width
        if len(numbers) != 2 * files:
            raise ValueError("a scan cut short")
        pairs = zip(numbers[:files], numbers[files:], strict=True)
        found.append(dict(zip(names if files else [], pairs, strict=True)))
    if at != len(data):
        raise ValueError("more than the scans")
    return found


def _scan(
    folder: str, prefix: str, extensions: tuple[str, ...] | None, found: dict[str, Stamp]
) -> None:
    files, folders = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if (extensions is None or entry.name.endswith(extensions)) and entry.is_file():
                files.append(entry.name)
            elif entry.is_dir(follow_symlinks=False):
                folders.append(entry)
    # Each file stat-ed by its name in the open folder, not by a path walked again for each
    # of a large site's 10,000 files: the stats are most of a build with nothing to do.
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in files:
            stat = os.stat(name, dir_fd=descriptor)
            found[f"{prefix}/{name}"] = (stat.st_size, stat.st_mtime_ns)
    finally:
        os.close(descriptor)
    for entry in folders:
        _scan(entry.path, f"{prefix}/{entry.name}", extensions, found)


def inputs_key(files: dict[str, Stamp], options: str) -> str:
    """A digest of the options and of every input file's name, size and mtime (in the
    order given); packed, since a large site's no-op build spends its time here."""
    stamps = files.values()
    digest = hashlib.sha256(f"{options}\n".encode())
    digest.update("\0".join(files).encode("utf-8", "surrogateescape"))
    numbers = array("q", [size for size, _ in stamps])
    numbers.extend([mtime for _, mtime in stamps])
    digest.update(numbers.tobytes())
    return digest.hexdigest()


def intact(folder: str | os.PathLike[str], recorded: dict[str, list[int]]) -> bool:
    """Every file recorded under `folder` still has the stamp recorded."""
    return all(stamp_of(os.path.join(folder, path)) == want for path, want in recorded.items())


def code_stamp() -> int:
    """The newest mtime of publisher's own modules: an edited checkout invalidates the cache."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    newest = 0
    for folder, _, names in os.walk(package):
        for name in names:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return newest


def jekyll_environment() -> str:
    """JEKYLL_ENV, which Liquid shows as jekyll.environment, and so the feeds depend on."""
    return os.environ.get("JEKYLL_ENV", "development")


def build_environment() -> str | None:
    """What a build reads of the environment: JEKYLL_ENV. None when a PUBLISHER_ variable
    is set: the configuration reads those, and they may hold credentials, which no cache file
    should keep, even as a digest."""
    if any(name.startswith("PUBLISHER_") for name in os.environ):
        return None
    return jekyll_environment()


def still_chosen(record: dict, now: datetime) -> bool:
    """The build of `record` chose the posts a build at `now` would choose: it was made as
    of `now` or before (not by a `--now` in the future), and nothing it held back as
    scheduled is due."""
    made, due = record.get("built_at"), record.get("valid_until")
    if made and now < datetime.fromisoformat(made):
        return False
    return not due or now < datetime.fromisoformat(due)
