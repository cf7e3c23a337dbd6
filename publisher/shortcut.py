"""`publisher build` with nothing to do, answered before the rest of publisher loads.

Such a run reads and writes nothing, so Python's start-up and publisher's imports are most of
its time. The last plain build without problems left a note in its record (feeds/build.py):
the stamps of the files its configuration came from and of the folders it walked, where its
inputs are, and what it wrote. While all of that is as noted, this prints the line the build
would print. Otherwise a plain build runs without click or the other commands
(console.build_and_report), and every other command goes through publisher/cli.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime

from publisher import __version__
from publisher.site.stamps import (
    CACHE_DIR,
    build_environment,
    code_stamp,
    handed_over,
    inputs_key,
    intact,
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
        line = nothing_to_do(root, started, hand_over=True)
        if line is not None:
            print(line)
            sys.exit(0)
        if os.path.isdir(root):
            # Work to do: the build itself, without click and the other commands.
            from pathlib import Path

            from publisher.console import build_and_report

            sys.exit(build_and_report(Path(root).resolve()))
    from publisher.cli import main as command_line

    command_line()


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


def nothing_to_do(root: str, started: float, *, hand_over: bool = False) -> str | None:
    """The line `publisher build` of `root` ends with, when the note of its last build says
    it would do nothing; else None. With `hand_over`, the files found changed stay scanned
    for the full build that runs next in this process."""
    try:
        with open(os.path.join(root, CACHE_DIR, "build.json"), "rb") as file:
            record = json.load(file)["data"]
        note = record.get("shortcut")
        if not note or not _as_noted(root, record, note, hand_over=hand_over):
            return None
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None
    return build_line(
        "Built",
        record["counts"],
        written=0,
        unchanged=len(record["outputs"]),
        removed=0,
        errors=0,
        warnings=0,
        seconds=time.perf_counter() - started,
    )


def _as_noted(root: str, record: dict, note: dict, *, hand_over: bool) -> bool:
    """Everything the last build read and wrote is as it left it, it was made as of now or
    before, and nothing it held back has fallen due."""
    return (
        note["version"] == __version__
        and not record["problems"]
        and note["code"] == code_stamp()
        and note["environment"] == build_environment()
        and intact(root, note["config"])
        and intact(root, note["walked"])
        and still_chosen(record, datetime.now(UTC))
        and intact(os.path.join(root, note["output"]), record["outputs"])
        and _inputs_key(root, note, hand_over=hand_over) == record["inputs"]
    )


def _inputs_key(root: str, note: dict, *, hand_over: bool) -> str:
    """The inputs key (feeds/build.py) of the files now in the folders the note names."""
    post_scans, liquid_scans = (
        [(folder, tuple(endings) if endings is not None else None) for folder, endings in scans]
        for scans in note["scans"]
    )
    posts, liquid = scan(root, post_scans), scan(root, liquid_scans)
    if hand_over:
        handed_over[scan_key(root, post_scans)] = posts
        handed_over[scan_key(root, liquid_scans)] = liquid
    return inputs_key({**posts, **liquid}, note["options"])
