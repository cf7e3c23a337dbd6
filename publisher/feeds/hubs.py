"""WebSub publish pings: each hub is told once, with every feed that changed, all hubs at
once, within a bounded time; a hub that fails or hangs is only reported."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ATTEMPTS = 3
# Seconds to connect and to wait for a reply, per attempt; a whole ping never takes longer
# than DEADLINE, however many hubs and feeds.
TIMEOUT = (3.05, 10.0)
DEADLINE = 30.0


@dataclass(frozen=True)
class Ping:
    """One hub's answer to one notification of `topics`; `error` is empty on success."""

    hub: str
    topics: tuple[str, ...]
    error: str = ""


def notify(topics_by_hub: dict[str, list[str]]) -> list[Ping]:
    """Notify every hub of its topics (feed URLs), concurrently."""
    wanted = {hub: tuple(topics) for hub, topics in topics_by_hub.items() if topics}
    if not wanted:
        return []
    deadline = time.monotonic() + DEADLINE
    with ThreadPoolExecutor(len(wanted)) as pool:
        return list(pool.map(lambda hub: _ping(hub, wanted[hub], deadline), wanted))


def _ping(hub: str, topics: tuple[str, ...], deadline: float) -> Ping:
    import requests

    form = [("hub.mode", "publish"), *(("hub.url", topic) for topic in topics)]
    error = ""
    for attempt in range(ATTEMPTS):
        left = deadline - time.monotonic()
        if left <= 0:
            return Ping(hub, topics, error or "no time left")
        try:
            reply = requests.post(hub, data=form, timeout=(TIMEOUT[0], min(TIMEOUT[1], left)))
            if reply.ok:
                return Ping(hub, topics)
            error = f"HTTP {reply.status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        time.sleep(min(0.2 * 2**attempt, max(0.0, deadline - time.monotonic())))
    return Ping(hub, topics, error)
