"""Spreading independent work over the machine's cores."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Shows progress over long work: given the items, a label and how many there are.
Track = Callable[[Iterable[T], str, int], Iterator[T]]

# Below this much work a second process costs more than it saves.
MIN_PARALLEL = 200


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


def map_parts(function: Callable[[list[T]], R], parts: list[list[T]]) -> Iterator[R]:
    """`function` applied to each part, on every core, results in the order of `parts`; in
    this process when there is one part or none."""
    if len(parts) <= 1:
        yield from map(function, parts)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        yield from pool.map(function, parts)


def no_progress(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    yield from items
