"""Parts of a build spread over forked worker processes (publisher/site/parallel.py)."""

from __future__ import annotations

import os
import signal

import pytest

from publisher.console import EXIT_STOPPED, build_and_report
from publisher.site import catalog, parallel
from publisher.site.parallel import WorkerDied, map_parts


def where_and_what(part: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [number * 2 for number in part]


def fails_on_three(part: list[int]) -> list[int]:
    if 3 in part:
        raise ValueError("three is not allowed")
    return part


def dies_on_three(part: list[int]) -> list[int]:
    if 3 in part:
        os.kill(os.getpid(), signal.SIGKILL)
    return part


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not this one")


def raises_unpicklable(part: list[int]) -> list[int]:
    raise Unpicklable("held a socket")


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


PARTS = [[number] for number in range(12)]


def test_parts_are_worked_in_other_processes_and_answered_in_order():
    results = list(map_parts(where_and_what, PARTS))

    assert [doubled for _, doubled in results] == [[number * 2] for number in range(12)]
    assert os.getpid() not in {pid for pid, _ in results}
    assert no_children_left()


def test_one_part_is_worked_here():
    assert list(map_parts(where_and_what, [[1, 2]])) == [(os.getpid(), [2, 4])]


def test_a_workers_exception_is_raised_after_the_results_before_it():
    given = []
    with pytest.raises(ValueError, match="three is not allowed") as raised:
        given.extend(map_parts(fails_on_three, PARTS))

    assert given == [[0], [1], [2]]
    assert any("In a worker process" in note for note in raised.value.__notes__)
    assert any("fails_on_three" in note for note in raised.value.__notes__)
    assert no_children_left()


def test_an_exception_that_cannot_be_pickled_arrives_as_its_text():
    with pytest.raises(RuntimeError, match="Unpicklable: held a socket"):
        list(map_parts(raises_unpicklable, PARTS))
    assert no_children_left()


def test_a_killed_worker_is_an_error_not_a_short_answer():
    with pytest.raises(WorkerDied, match=r"part 4 \(it was killed by SIGKILL"):
        list(map_parts(dies_on_three, PARTS))
    assert no_children_left()


@pytest.fixture
def worker_killed_reading(site, monkeypatch):
    """A site of several posts, read by workers, one of which is killed reading the third."""
    for day in range(1, 5):
        site.post(f"2024-01-0{day}-post.md", f"title: Post {day}")
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parent, read_post = os.getpid(), catalog.read_post

    def killed_on_the_third(site_, path):
        if path.name.startswith("2024-01-03") and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return read_post(site_, path)

    monkeypatch.setattr(catalog, "read_post", killed_on_the_third)
    return site


def test_a_build_that_loses_a_worker_stops_with_the_reason_and_writes_nothing(
    worker_killed_reading,
):
    result = worker_killed_reading.run("build")

    assert result.exit_code == EXIT_STOPPED
    assert "killed by SIGKILL: out of memory, or stopped from outside" in result.output
    assert "Stopped before writing the feeds: run it again." in result.output
    assert "Traceback" not in result.output
    assert not worker_killed_reading.output("feed.xml").exists()


def test_a_plain_build_that_loses_a_worker_says_so_without_a_traceback(
    worker_killed_reading, capsys
):
    assert build_and_report(worker_killed_reading.root) == EXIT_STOPPED

    error = capsys.readouterr().err
    assert error.startswith("error: a worker process ended before answering for part")
    assert not worker_killed_reading.output("feed.xml").exists()


def test_results_not_all_wanted_stop_the_workers():
    results = map_parts(where_and_what, PARTS)
    next(results)
    results.close()

    assert no_children_left()


def test_a_large_result_arrives_whole():
    big = [[bytes([number]) * 3_000_000] for number in range(4)]
    assert list(map_parts(lambda part: part[0], big)) == [part[0] for part in big]


def test_without_fork_the_parts_are_worked_here(monkeypatch):
    monkeypatch.delattr(os, "fork")
    results = list(map_parts(where_and_what, PARTS))
    assert {pid for pid, _ in results} == {os.getpid()}


def test_when_no_process_can_be_forked_the_parts_are_worked_here(monkeypatch):
    def refuse():
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    results = list(map_parts(where_and_what, PARTS))
    assert [doubled for _, doubled in results] == [[number * 2] for number in range(12)]
    assert {pid for pid, _ in results} == {os.getpid()}


def test_more_parts_than_the_pipe_holds_are_refused():
    with pytest.raises(ValueError, match="at most"):
        list(map_parts(where_and_what, [[1]] * (parallel.MAX_PARTS + 1)))
