"""`publisher build` with nothing to do, answered before the rest of publisher loads.

Such a run reads and writes nothing, so Python's start-up and publisher's imports are most of
its time. The last plain build without errors left a note in its record (feeds/build.py):
the stamps of the files its configuration came from and of the folders it walked, where its
inputs are, and what it wrote. While all of that is as noted, this prints the warnings and
the line the build would print. The inputs are stat-ed by a child process while a thread
loads the build, which a changed input then finds loaded. A plain build runs without click
or the other commands (console.build_and_report), and every other command goes through
publisher/cli.py.
"""

from __future__ import annotations

import _thread
import gc
import marshal
import os
import sys
import time
from datetime import UTC, datetime

from publisher import __version__
from publisher.site.stamps import (
    CACHE_DIR,
    RECORD,
    Scan,
    Scanning,
    build_environment,
    code_stamp,
    handed_over,
    intact,
    pack_inputs,
    scan,
    scan_key,
    still_chosen,
)
from publisher.summary import build_line


def main() -> None:
    try:
        _run()
    except BrokenPipeError:
        # Whoever read the output stopped reading (`| head`): end without a traceback, as
        # other tools do. What the command did is done; only what it would print is lost.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _run() -> None:
    started = time.perf_counter()
    root = plain_build(sys.argv[1:])
    if root is not None:
        # Off for all of a plain build, imports included, which ends with os._exit: the build
        # turns it off anyway (feeds/build.py), and nothing needs it back.
        gc.disable()
        if (record := noted_build(root)) is not None:
            answer_or_hand_over(root, record, started)
        if os.path.isdir(root):
            # Work to do: the build itself, without click and the other commands.
            from pathlib import Path

            from publisher.console import build_and_report

            code = build_and_report(Path(root).resolve())
            # All is written and every thread the build started has ended. Tearing down the
            # objects of a large site's posts takes longer than a build after an edit does.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    from publisher.cli import main as command_line

    command_line()


def answer_or_hand_over(root: str, record: dict, started: float) -> None:
    """Print the line and end, if the inputs are as noted; else hand their scans over to the
    build. The scan is most of the time, so the build's modules load meanwhile: a child
    process stats the files while a thread here imports."""
    note = record["shortcut"]
    scans = _scans(note)
    scanning = Scanning(root, scans, note["options"])
    # Once the files are stat-ed, this thread wants the interpreter back from the one that
    # imports: within half a millisecond, not the five it would wait.
    switching = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    warmed = _thread.allocate_lock()
    warmed.acquire()
    _thread.start_new_thread(_import_the_build, (warmed,))
    if scanning.inputs() == record["inputs"]:
        _print_warnings(note["warnings"])
        print(_line(record, started), flush=True)
        # Now, not after the thread: whatever it still imports, nothing here needs it.
        os._exit(0)
    found = scanning.files()
    warmed.acquire()
    sys.setswitchinterval(switching)
    for one, files in zip(scans, found or [], strict=False):
        handed_over[scan_key(root, one)] = files


def _import_the_build(warmed: _thread.LockType) -> None:
    """Load what a build with work to do loads (an edit's too); a failure shows when the
    build imports. Neither threading nor contextlib: each would add 3 ms to every answer."""
    try:
        import publisher.console
        import publisher.feeds.build
        import publisher.feeds.edits  # noqa: F401
    except Exception:
        pass
    finally:
        warmed.release()


def plain_build(arguments: list[str]) -> str | None:
    """The site folder of `publisher build` with no option but --site (before or after
    the command), else None."""
    root, rest = ".", list(arguments)
    for index, argument in enumerate(rest):
        if argument.startswith("--site="):
            root = argument.removeprefix("--site=")
            del rest[index]
            break
        if argument == "--site" and index + 1 < len(rest):
            root = rest[index + 1]
            del rest[index : index + 2]
            break
    return root if root and rest == ["build"] else None


def nothing_to_do(root: str, started: float) -> str | None:
    """The line `publisher build` of `root` ends with, when the note of its last build says
    it would do nothing; else None. The same answer as the command's, made in this process
    alone."""
    record = noted_build(root)
    if record is None:
        return None
    note = record["shortcut"]
    found = [scan(root, one) for one in _scans(note)]
    as_noted = pack_inputs(found, note["options"]) == record["inputs"]
    return _line(record, started) if as_noted else None


def noted_build(root: str) -> dict | None:
    """The record of the last build, if it left a note and everything the note names but
    the inputs is as it was: the configuration, the folders walked, the output, the time."""
    try:
        with open(os.path.join(root, CACHE_DIR, RECORD), "rb") as file:
            record = marshal.load(file)["data"]
        note = record.get("shortcut")
        if note and _as_noted(root, record, note):
            _scans(note)  # a note of the wrong shape fails here, not in the child process
            return record
    except (OSError, ValueError, EOFError, LookupError, TypeError, AttributeError):
        pass
    return None


def _line(record: dict, started: float) -> str:
    return build_line(
        "Built",
        record["counts"],
        written=0,
        unchanged=len(record["outputs"]),
        removed=0,
        errors=0,
        warnings=len(record["shortcut"]["warnings"]),
        seconds=time.perf_counter() - started,
    )


def _print_warnings(warnings: list[str]) -> None:
    """The warnings of the last build, as console.print_problems printed them: in yellow on a
    terminal, as click writes it, and plain elsewhere."""
    colored = sys.stderr.isatty()
    for warning in warnings:
        print(f"\x1b[33m{warning}\x1b[0m" if colored else warning, file=sys.stderr)


def _as_noted(root: str, record: dict, note: dict) -> bool:
    """Everything the last build read and wrote but the inputs is as it left it, it was made
    as of now or before, and nothing it held back has fallen due. (A build with errors
    leaves no note.)"""
    return (
        note["version"] == __version__
        and all(isinstance(warning, str) for warning in note["warnings"])
        and note["code"] == code_stamp()
        and note["environment"] == build_environment()
        and intact(root, note["config"])
        and intact(root, note["walked"])
        and still_chosen(record, datetime.now(UTC))
        and intact(os.path.join(root, note["output"]), record["outputs"])
        and isinstance(record["inputs"], bytes)
        and isinstance(note["options"], str)
    )


def _scans(note: dict) -> list[list[Scan]]:
    """The folders the note says the posts and the Liquid files were found in."""
    return [
        [(folder, tuple(endings) if endings is not None else None) for folder, endings in scans]
        for scans in note["scans"]
    ]
