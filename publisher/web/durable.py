"""Answers that wait for the disk together: one flush of the state covers every request
waiting when it starts, so a burst of unsubscribes costs a few flushes, not one each."""

from __future__ import annotations

import asyncio

from publisher.mail.store import Flushed


class GroupFlush:
    """Awaited by a request after its change: returns once that change is on disk.

    A flush runs on a thread while the event loop goes on; requests that arrive meanwhile
    wait for the next one, which covers them all. Raises the flush's OSError."""

    def __init__(self, flusher: Flushed) -> None:
        self.flusher = flusher
        self.next: asyncio.Future[None] | None = None
        self.running: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        if self.next is None:
            self.next = asyncio.get_running_loop().create_future()
        waiting = self.next
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._flush())
        await asyncio.shield(waiting)

    async def _flush(self) -> None:
        while self.next is not None:
            covered, self.next = self.next, None
            try:
                await asyncio.to_thread(self.flusher.wait, self.flusher.ask())
            except OSError as exc:
                covered.set_exception(exc)
                covered.exception()  # retrieved: those who left do not warn
            else:
                covered.set_result(None)
