"""Every source of the site fetched and read, and what each fetch decided; nothing here
writes the state, so a run that stops before recording it changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from publisher import __version__
from publisher.site.config import CONFIG_FILE, Site, SourceOptions
from publisher.site.problems import Problems
from publisher.sources.decide import decide
from publisher.sources.fetch import Fetched, fetch
from publisher.sources.parse import FeedError, parse
from publisher.sources.records import Memory, Polled, SourceState


def poll(
    site: Site,
    states: dict[str, SourceState],
    memory: dict[str, Memory],
    now: datetime,
    problems: Problems,
) -> list[Polled]:
    """Fetch each source that is due and decide on its new entries. What went wrong goes
    into `problems`: a warning for what may pass, an error for what someone must fix."""
    polled = []
    for source in site.sources:
        state = states.get(source.feed) or SourceState(source.feed, source.feed)
        polled.append(_poll(site, source, state, memory.get(state.feed, Memory()), now, problems))
    return polled


def _poll(
    site: Site,
    source: SourceOptions,
    state: SourceState,
    memory: Memory,
    now: datetime,
    problems: Problems,
) -> Polled:
    polled = Polled(state.feed, source.label, state)
    if state.gone:
        _report(
            problems,
            source,
            "error",
            f"was gone when last fetched ({state.error})",
            "remove it from publisher.toml, or give the feed's new address",
        )
        polled.outcome = "gone"
        return polled
    if state.retry_after and now < state.retry_after:
        polled.outcome = f"not due before {state.retry_after:%Y-%m-%d %H:%M} UTC"
        return polled
    fetched = fetch(
        state.url,
        etag=state.etag,
        last_modified=state.last_modified,
        timeout=source.timeout,
        user_agent=f"publisher/{__version__} (+{site.url}/)",
        now=now,
    )
    checked = replace(state, checked_at=now, status=fetched.status, error=fetched.error)
    polled.changed = True
    if fetched.moved_to:
        polled.moved_to = fetched.moved_to
        checked = replace(checked, url=fetched.moved_to)
        _report(
            problems,
            source,
            "warning",
            f"moved permanently to {fetched.moved_to}",
            "write the new address in publisher.toml; publisher fetches it from now on",
        )
    if fetched.status != "ok":
        polled.state = _after_failure(checked, fetched)
        polled.outcome = (
            fetched.status if not fetched.error else f"{fetched.status}: {fetched.error}"
        )
        if fetched.status == "gone":
            _report(
                problems,
                source,
                "error",
                f"{fetched.error}: it is not fetched again",
                "remove it from publisher.toml, or give the feed's new address",
            )
        elif fetched.status in ("failed", "deferred"):
            level = "error" if fetched.lasting else "warning"
            what = (
                f"asked to wait until {fetched.retry_after:%Y-%m-%d %H:%M} UTC ({fetched.error})"
                if fetched.status == "deferred"
                else f"could not be fetched: {fetched.error}"
            )
            _report(
                problems,
                source,
                level,
                f"{what}; nothing changed",
                "check the address" if fetched.lasting else "it is fetched again next run",
            )
        return polled
    try:
        entries = parse(fetched.body, fetched.url, fetched.content_type)
    except FeedError as exc:
        polled.state = replace(checked, status="failed", error=str(exc))
        polled.outcome = f"failed: {exc}"
        _report(
            problems,
            source,
            "error",
            f"{exc}; nothing changed",
            "it is read again next run; tell the feed's owner if it stays broken",
        )
        return polled
    polled.state = replace(
        checked,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        retry_after=None,
        baseline_at=state.baseline_at or now,
    )
    polled.decided = decide(
        state.feed,
        entries,
        memory,
        first=state.baseline_at is None,
        now=now,
        margin=timedelta(days=source.republished_days),
    )
    polled.outcome = f"{len(entries)} entries"
    for decided in polled.decided:
        if decided.verdict == "republished":
            date = f"{decided.entry.date:%Y-%m-%d}" if decided.entry.date else "undated"
            _report(
                problems,
                source,
                "warning",
                f"{decided.entry.title!r} ({date}) is new to publisher but older than "
                "what the feed had: taken as republished, recorded and not mailed",
                "mail it on purpose with publisher send, if it is new",
            )
    return polled


def _after_failure(state: SourceState, fetched: Fetched) -> SourceState:
    """A fetch that brought no feed changes only the record of the fetch itself."""
    if fetched.status == "gone":
        return replace(state, gone=True)
    if fetched.status == "deferred":
        return replace(state, retry_after=fetched.retry_after)
    return state


def _report(problems: Problems, source: SourceOptions, level: str, message: str, hint: str) -> None:
    text = f"source {source.label} ({source.feed}) {message}"
    add = problems.error if level == "error" else problems.warning
    add(CONFIG_FILE, text, source.line or None, hint)
