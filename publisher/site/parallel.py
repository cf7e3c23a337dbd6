"""Spreading independent work over the machine's cores.

The parts go to processes forked from this one, which inherit the function and everything it
needs: nothing but each part's result crosses between processes. A pool of the standard
library's (concurrent.futures) pickles the function with every part, answers each result
through a thread of its own, and took a tenth of a cold build to start, hand out and wind up.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from publisher.site.files import write_all

T = TypeVar("T")
R = TypeVar("R")
# Shows progress over long work: given the items, a label and how many there are.
Track = Callable[[Iterable[T], str, int], Iterator[T]]

# Below this much work a second process costs more than it saves.
MIN_PARALLEL = 200
# The parts' numbers wait in a pipe, written whole before the workers start; a write of up to
# PIPE_BUF bytes is never split.
MAX_PARTS = select.PIPE_BUF // 4
_HEADER = 12  # a result's part number (4 bytes) and its length (8)


class WorkerDied(RuntimeError):
    """A worker process ended (killed, out of memory) before it answered for its part: the run
    cannot finish, and stops before it writes what the results were for."""


def split(items: Sequence[T], weight: int, parts: int = 16) -> list[list[T]]:
    """Cut `items` into `parts` round-robin slices, or one slice when `weight` is small."""
    if not _worth_more_cores(weight):
        return [list(items)]
    return [slice_ for i in range(parts) if (slice_ := list(items[i::parts]))]


def split_by(
    items: Sequence[T], weight: int, key: Callable[[T], int], parts: int = 32
) -> list[list[T]]:
    """Cut `items` into `parts` slices by `key(item) % parts`, so that items of one key share a
    slice, or one slice when `weight` is small."""
    if not _worth_more_cores(weight):
        return [list(items)]
    slices: list[list[T]] = [[] for _ in range(parts)]
    for item in items:
        slices[key(item) % parts].append(item)
    return [slice_ for slice_ in slices if slice_]


def _worth_more_cores(weight: int) -> bool:
    return weight >= MIN_PARALLEL and (os.cpu_count() or 1) >= 2


def map_parts(function: Callable[[T], R], parts: Sequence[T]) -> Iterator[R]:
    """`function` applied to each part, on every core, results in the order of `parts`; in
    this process when there is one part or none, or no fork (Windows).

    A worker takes the next part as soon as it is done with one. An exception raised by
    `function` is raised here, once the results before it are given."""
    if len(parts) <= 1 or not hasattr(os, "fork"):
        yield from map(function, parts)
        return
    if len(parts) > MAX_PARTS:
        raise ValueError(f"at most {MAX_PARTS} parts, not {len(parts)}")
    todo, todo_in = os.pipe()
    os.write(todo_in, b"".join(number.to_bytes(4, "little") for number in range(len(parts))))
    os.close(todo_in)
    workers: dict[int, int] = {}  # each worker's pipe of results, and its process
    try:
        for _ in range(min(os.cpu_count() or 1, len(parts))):
            results, results_in = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # no process left: the workers started so far do it all
                os.close(results)
                os.close(results_in)
                break
            if pid == 0:
                os.close(results)
                _work(function, parts, todo, results_in)
            os.close(results_in)
            workers[results] = pid
        if workers:
            try:
                yield from _in_order(_answers(list(workers)), len(parts))
            except WorkerDied as exc:
                causes = [_how_it_ended(status) for status in _wind_up(workers)]
                raise WorkerDied(" ".join([str(exc), *filter(None, causes)])) from None
        else:
            yield from map(function, parts)
    finally:
        os.close(todo)
        _wind_up(workers)


def _work(function: Callable[[T], R], parts: Sequence[T], todo: int, results: int) -> None:
    """A worker's life: take parts until none is left, answer for each, and end without
    running anything of the parent's (its exit handlers, its buffered output)."""
    code = 0
    try:
        while number := os.read(todo, 4):
            index = int.from_bytes(number, "little")
            try:
                answer = pickle.dumps((True, function(parts[index])), pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:
                answer = pickle.dumps((False, _picklable(exc)), pickle.HIGHEST_PROTOCOL)
                code = 1
            write_all(results, index.to_bytes(4, "little") + len(answer).to_bytes(8, "little"))
            write_all(results, answer)
            if code:
                break
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _picklable(exc: BaseException) -> BaseException:
    """The exception with the worker's traceback as a note; as a RuntimeError with its text
    when it cannot be pickled."""
    text = "".join(traceback.format_exception(exc))
    try:
        exc.add_note(f"In a worker process:\n{text}")
        pickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"In a worker process:\n{text}")


def _answers(pipes: list[int]) -> Iterator[tuple[int, bytes]]:
    """Each answer as it arrives, from whichever worker sent it, until every pipe is closed."""
    poller = select.poll()
    buffers = {}
    for fd in pipes:
        poller.register(fd, select.POLLIN)
        buffers[fd] = bytearray()
    while buffers:
        for fd, _ in poller.poll():
            chunk = os.read(fd, 1 << 20)
            buffer = buffers[fd]
            if not chunk:
                poller.unregister(fd)
                del buffers[fd]
                continue
            buffer += chunk
            while len(buffer) >= _HEADER:
                length = int.from_bytes(buffer[4:_HEADER], "little")
                if len(buffer) < _HEADER + length:
                    break
                index = int.from_bytes(buffer[:4], "little")
                yield index, bytes(buffer[_HEADER : _HEADER + length])
                del buffer[: _HEADER + length]


def _in_order(answers: Iterator[tuple[int, bytes]], count: int) -> Iterator:
    """The results by part number, each given as soon as those before it are."""
    waiting: dict[int, bytes] = {}
    following = 0
    for index, answer in answers:
        waiting[index] = answer
        while following in waiting:
            ok, result = pickle.loads(waiting.pop(following))
            if not ok:
                raise result
            yield result
            following += 1
    if following < count:
        raise WorkerDied(f"a worker process ended before answering for part {following + 1}")


def _wind_up(workers: dict[int, int]) -> list[int]:
    """Close the pipes and reap the workers; those still working (the results were not all
    wanted, or one failed) are stopped first. The wait statuses of those that had ended."""
    ended = []
    for fd, pid in workers.items():
        os.close(fd)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended.append(status)
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    workers.clear()
    return ended


def _how_it_ended(status: int) -> str:
    """What ended a worker early, for the error; "" for one that ended as it should."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:  # a real-time signal, which has no name
            name = f"signal {number}"
        return f"(it was killed by {name}: out of memory, or stopped from outside)"
    code = os.waitstatus_to_exitcode(status)
    return f"(it exited with code {code})" if code else ""


def no_progress(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    yield from items
