"""File stamps (size and mtime), which tell a run whether what the last one read changed.

It imports nothing but os, array and datetime (and mmap, to hand a child's scan over):
`publisher build` with nothing to do uses it before the rest of publisher loads (see
publisher/shortcut.py).
"""

from __future__ import annotations

import os
from array import array
from datetime import datetime

CACHE_DIR = os.path.join(".publisher", "cache")
# The most that `Scanning` can hand over (64 MiB: a million files); more, and the build
# scans again.
SHARED_SIZE = 1 << 26
# The last build's record, in the cache (see site/cache.py).
RECORD = "build.marshal"
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
    names, sizes, mtimes = _scanned(root, scans)
    return dict(zip(names, zip(sizes, mtimes, strict=True), strict=True))


def _scanned(
    root: str | os.PathLike[str], scans: list[Scan]
) -> tuple[list[str], list[int], list[int]]:
    """What `scan` finds, as the files' names (in name order), sizes and mtimes: packed from
    these as they are, a scan takes a sixth less time than with a mapping made first."""
    files: tuple[list[str], list[int], list[int]] = ([], [], [])
    for folder, extensions in scans:
        path = os.path.join(root, folder)
        if os.path.isdir(path):
            _scan(path, folder, extensions, files)
    names, sizes, mtimes = files
    if (ordered := sorted(names)) != names:  # files of several folders
        at = {name: index for index, name in enumerate(names)}
        order = [at[name] for name in ordered]
        return ordered, [sizes[i] for i in order], [mtimes[i] for i in order]
    return files


class Scanning:
    """Scans made in a child process, so that this one can do something else meanwhile; made
    here where no child can be started."""

    def __init__(self, root: str, scans: list[list[Scan]], options: str) -> None:
        self._child: int | None = None
        try:
            if hasattr(os, "fork"):  # not on Windows
                self._start(root, scans, options)
                return
        except OSError:  # no process or memory left for a child
            self._child = None
        try:
            self._inputs = scan_inputs(root, scans, options)
        except OSError:  # as in the child: the build scans again, and says what failed
            self._inputs = b""

    def _start(self, root: str, scans: list[list[Scan]], options: str) -> None:
        # The child leaves what it found in memory it shares, and this process waits for it
        # to end: one wait, where reading a pipe would wake this process (and ask for the
        # interpreter's lock back from a thread) for every 64 KB.
        import mmap

        self._shared = mmap.mmap(-1, SHARED_SIZE)
        try:
            self._child = os.fork()
        except OSError:
            self._shared.close()
            raise
        if self._child == 0:
            try:
                inputs = scan_inputs(root, scans, options)
                if len(inputs) <= SHARED_SIZE - 8:
                    self._shared[8 : 8 + len(inputs)] = inputs
                    self._shared[:8] = len(inputs).to_bytes(8, "little")  # last: all is there
            finally:
                os._exit(0)

    def inputs(self) -> bytes:
        """The scans and the options, as `pack_inputs` packs them; empty if the child failed."""
        if self._child is not None:
            os.waitpid(self._child, 0)
            self._child = None
            size = int.from_bytes(self._shared[:8], "little")
            self._inputs = self._shared[8 : 8 + size]
            self._shared.close()
        return self._inputs

    def files(self) -> list[dict[str, Stamp]] | None:
        """The files each scan found, as `scan` gives them; None if the child failed."""
        try:
            return unpack_inputs(self.inputs())
        except ValueError:
            return None


def pack_inputs(found: list[dict[str, Stamp]], options: str) -> bytes:
    """What a build read, as bytes a later run compares with what it finds: the options, and
    each scan's files with their stamps. Compared whole, not as a digest: no hash to import,
    and no two different inputs can look the same."""
    return _packed([(list(files), *_numbers(files)) for files in found], options)


def _numbers(files: dict[str, Stamp]) -> tuple[list[int], list[int]]:
    return [size for size, _ in files.values()], [mtime for _, mtime in files.values()]


def scan_inputs(root: str, scans: list[list[Scan]], options: str) -> bytes:
    """`pack_inputs` of the scans, made without their mappings."""
    return _packed([_scanned(root, one) for one in scans], options)


def _packed(found: list[tuple[list[str], list[int], list[int]]], options: str) -> bytes:
    texts = [options, *("\0".join(names) for names, _, _ in found)]
    encoded = [text.encode("utf-8", "surrogateescape") for text in texts]
    numbers = array("q", [len(found), *(len(names) for names, _, _ in found)])
    numbers.extend(len(text) for text in encoded)
    for _, sizes, mtimes in found:
        numbers.extend(sizes)
        numbers.extend(mtimes)
    return numbers.tobytes() + b"".join(encoded)


def unpack_inputs(data: bytes) -> list[dict[str, Stamp]]:
    """The scans `pack_inputs` packed, in their order; ValueError unless the data is whole."""
    width = array("q").itemsize
    scans = array("q", data[:width])[0] if len(data) >= width else -1
    if not 0 <= scans <= len(data) // width:
        raise ValueError("no inputs")
    header = array("q", data[width : width * (2 + 2 * scans)])
    counts, lengths = header[:scans], header[scans:]
    at = width * (2 + 2 * scans)
    numbers = array("q", data[at : at + 2 * sum(counts) * width])
    at += 2 * sum(counts) * width
    texts = []
    for length in lengths:
        texts.append(data[at : at + length].decode("utf-8", "surrogateescape"))
        at += length
    if at != len(data) or len(numbers) != 2 * sum(counts):
        raise ValueError("inputs cut short")
    found, first = [], 0
    for count, names in zip(counts, texts[1:], strict=True):
        sizes = numbers[first : first + count]
        mtimes = numbers[first + count : first + 2 * count]
        first += 2 * count
        stamps = zip(sizes, mtimes, strict=True)
        found.append(dict(zip(names.split("\0") if count else [], stamps, strict=True)))
    return found


def _scan(
    folder: str,
    prefix: str,
    extensions: tuple[str, ...] | None,
    found: tuple[list[str], list[int], list[int]],
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
    files.sort()
    names, sizes, mtimes = found
    # Each file stat-ed by its name in the open folder, not by a path walked again for each
    # of a large site's 10,000 files: the stats are most of a build with nothing to do.
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in files:
            stat = os.stat(name, dir_fd=descriptor)
            sizes.append(stat.st_size)
            mtimes.append(stat.st_mtime_ns)
    finally:
        os.close(descriptor)
    names.extend([f"{prefix}/{name}" for name in files])
    for entry in folders:
        _scan(entry.path, f"{prefix}/{entry.name}", extensions, found)


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
