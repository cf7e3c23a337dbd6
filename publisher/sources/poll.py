"""Every source of the site fetched and read, and what each fetch decided; nothing here
writes the state, so a run that stops before recording it changes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from publisher import __version__
from publisher.site.config import CONFIG_FILE, Site, SourceOptions
from publisher.site.parallel import Track, no_progress
from publisher.site.problems import Problems
from publisher.sources.decide import decide
from publisher.sources.fetch import Fetched, fetch
from publisher.sources.parse import FeedError, parse
from publisher.sources.records import Memory, Polled, RemoteEntry, SourceState

# Sources fetched at once: a slow server holds up only its own.
AT_ONCE = 8
GONE_HINT = "remove it from publisher.toml, or give the feed's new address"


def poll(
    site: Site,
    states: dict[str, SourceState],
    memory: dict[str, Memory],
    now: datetime,
    problems: Problems,
    *,
    track: Track = no_progress,
) -> list[Polled]:
    """Fetch each source that is due, several at once, and decide on its new entries. What
    went wrong goes into `problems`, in the sources' order: a warning for what may pass, an
    error for what someone must fix."""

    def one(source: SourceOptions) -> tuple[Polled, Problems]:
        found = Problems()
        state = states.get(source.feed) or SourceState(source.feed, source.feed)
        return _poll(site, source, state, memory.get(state.feed, Memory()), now, found), found

    polled = []
    with ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="fetch") as pool:
        fetches = pool.map(one, site.sources)
        for done, found in track(fetches, "Fetching sources", len(site.sources)):
            polled.append(done)
            problems.extend(found.items)
    return polled


def _poll(
    site: Site,
    source: SourceOptions,
    state: SourceState,
    memory: Memory,
    now: datetime,
    problems: Problems,
) -> Polled:
    """One source: skipped while gone or asked to wait, else fetched and read."""
    polled = Polled(state.feed, source.label, state)
    report = Reporter(source, problems)
    if state.gone:
        report.error(f"was gone when last fetched ({state.error})", GONE_HINT)
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
    polled.changed = True
    polled.state = replace(
        state,
        url=fetched.moved_to or state.url,
        checked_at=now,
        status=fetched.status,
        error=fetched.error,
    )
    if fetched.moved_to:
        polled.moved_to = fetched.moved_to
        report.warning(
            f"moved permanently to {fetched.moved_to}",
            "write the new address in publisher.toml; publisher fetches it from now on",
        )
    if fetched.status != "ok":
        _not_fetched(polled, fetched, report)
        return polled
    try:
        entries = parse(fetched.body, fetched.url, fetched.content_type)
    except FeedError as exc:
        polled.state = replace(polled.state, status="failed", error=str(exc))
        polled.outcome = f"failed: {exc}"
        report.error(
            f"{exc}; nothing changed",
            "it is read again next run; tell the feed's owner if it stays broken",
        )
        return polled
    _read(polled, source, fetched, entries, memory, now, report)
    return polled


def _not_fetched(polled: Polled, fetched: Fetched, report: Reporter) -> None:
    """A fetch that brought no feed changes only the record of the fetch itself."""
    polled.outcome = f"{fetched.status}: {fetched.error}" if fetched.error else fetched.status
    if fetched.status == "gone":
        polled.state = replace(polled.state, gone=True)
        report.error(f"{fetched.error}: it is not fetched again", GONE_HINT)
    elif fetched.status == "deferred":
        polled.state = replace(polled.state, retry_after=fetched.retry_after)
        report.warning(
            f"asked to wait until {fetched.retry_after:%Y-%m-%d %H:%M} UTC ({fetched.error}); "
            "nothing changed",
            "it is fetched again after that",
        )
    elif fetched.status == "failed":
        message = f"could not be fetched: {fetched.error}; nothing changed"
        if fetched.lasting:
            report.error(message, "check the address")
        else:
            report.warning(message, "it is fetched again next run")


def _read(
    polled: Polled,
    source: SourceOptions,
    fetched: Fetched,
    entries: list[RemoteEntry],
    memory: Memory,
    now: datetime,
    report: Reporter,
) -> None:
    """A good fetch: its validators kept, and a verdict for each entry not seen before."""
    first = polled.state.baseline_at is None
    polled.state = replace(
        polled.state,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        retry_after=None,
        baseline_at=polled.state.baseline_at or now,
    )
    margin = timedelta(days=source.republished_days)
    polled.decided = decide(polled.feed, entries, memory, first=first, now=now, margin=margin)
    polled.outcome = f"{len(entries)} entries"
    for decided in polled.decided:
        if decided.verdict == "republished":
            date = f"{decided.entry.date:%Y-%m-%d}" if decided.entry.date else "undated"
            report.warning(
                f"{decided.entry.title!r} ({date}) is new to publisher but older than what "
                "the feed had: taken as republished, recorded and not mailed",
                "mail it on purpose with publisher send, if it is new",
            )


@dataclass(frozen=True)
class Reporter:
    """A source's problems, each naming the source and its line in publisher.toml."""

    source: SourceOptions
    problems: Problems

    def error(self, message: str, hint: str) -> None:
        self.problems.error(CONFIG_FILE, self._text(message), self.source.line or None, hint)

    def warning(self, message: str, hint: str) -> None:
        self.problems.warning(CONFIG_FILE, self._text(message), self.source.line or None, hint)

    def _text(self, message: str) -> str:
        return f"source {self.source.label} ({self.source.feed}) {message}"
