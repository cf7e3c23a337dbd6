"""What a run shows: progress while it works, its problems, and the summary it ends with.

click is imported only where it is used: a plain `publisher build` runs without it (see
`build_and_report`), since Python's start-up and imports are much of a small build's time.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from publisher.site.parallel import WorkerDied
from publisher.site.problems import Problems, SiteError
from publisher.summary import build_line, count

if TYPE_CHECKING:
    from publisher.feeds.build import Report
    from publisher.mail.delivery import SendReport
    from publisher.publish import PublishReport
    from publisher.site.config import Site, SourceOptions
    from publisher.sources.records import KeptEntry, Polled, SourceState

T = TypeVar("T")
# How a run ends: 0 done, 1 invalid input, 3 deliveries left for a later run, 4 stopped,
# 5 done, but a source could not be read until someone fixes it.
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_PENDING = 3
EXIT_STOPPED = 4
EXIT_SOURCE = 5
# How often a send's progress is shown: on a terminal in place, in a log (CI) as a new line.
PROGRESS_ON_TERMINAL = 0.25
PROGRESS_IN_LOG = 15.0


def track(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    """A progress bar on a terminal; on a CI log, nothing but the finished summary."""
    if not sys.stderr.isatty():
        yield from items
        return
    import click

    with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
        yield from bar


def jekyll_notes(site: Site) -> list[str]:
    """What publisher does on a Jekyll site that jekyll-feed does not, for `check`."""
    feeds = site.feeds
    ids = (
        "the ids jekyll-feed gives (the post's URL), so readers see no entry again"
        if feeds.ids == "url"
        else "tag: ids, not jekyll-feed's: readers that followed jekyll-feed see every entry again"
    )
    notes = [
        f"{feeds.atom}: the entries jekyll-feed would write ({feeds.limit or 'all'}), with {ids}",
        f"also {feeds.rss} and {feeds.json}, and feeds of each category ({feeds.categories}/) "
        f"and tag ({feeds.tags}/)",
        "links and images in content are absolute; summaries keep their HTML",
    ]
    if site.jekyll and site.jekyll.has_jekyll_feed:
        notes.append(
            f"run it after `jekyll build`: both write {feeds.atom} into {feeds.output}/, "
            "and publisher's goes last"
        )
    return notes


def build_and_report(
    root: Path, now_text: str | None = None, *, drafts: bool = False, future: bool = False
) -> int:
    """`publisher build`: the build, its problems and its summary line; returns the exit
    code. A plain build (no options) leaves the note publisher/shortcut.py reads."""
    plain = not (drafts or future or now_text)
    try:
        _, report = run_build(root, now_text, drafts=drafts, future=future, shortcut=plain)
    except SiteError as exc:
        print_problems(exc.problems)
        return EXIT_INVALID
    except WorkerDied as exc:
        print_stopped(exc)
        return EXIT_STOPPED
    print_problems(report.problems)
    if report.problems.errors:
        print("Nothing was written: fix the errors above and build again.", file=sys.stderr)
    print(summary_line(report, "Built"))
    return EXIT_INVALID if report.problems.errors else EXIT_OK


def run_build(
    root: Path,
    now_text: str | None,
    *,
    drafts: bool,
    future: bool,
    write: bool = True,
    shortcut: bool = False,
) -> tuple[Site, Report]:
    """The site, and the report of a build of it (that writes nothing, without `write`).
    With `shortcut`, a build without problems leaves the note publisher/shortcut.py reads."""
    from publisher.feeds.build import build
    from publisher.site.config import load_site, moment

    site, problems = load_site(root)
    now = moment(site, now_text)
    report = build(
        site,
        problems,
        now,
        drafts=drafts,
        future=future,
        write=write,
        shortcut=shortcut,
        track=track,
    )
    return site, report


def print_problems(problems: Problems) -> None:
    if not problems.items:
        return
    import click

    for problem in problems.sorted():
        color = "red" if problem.level == "error" else "yellow"
        click.secho(str(problem), fg=color, err=True)


def print_stopped(exc: WorkerDied) -> None:
    """A run that lost a worker process: what happened, and that no feed was written."""
    print(f"error: {exc}", file=sys.stderr)
    print("Stopped before writing the feeds: run it again.", file=sys.stderr)


def summary_line(report: Report, verb: str) -> str:
    """One line a CI log can be read by: what was read, what was written, how long it took."""
    return build_line(
        verb,
        vars(report.counts) if report.counts else None,
        written=len(report.written),
        unchanged=len(report.unchanged),
        removed=len(report.removed),
        errors=len(report.problems.errors),
        warnings=len(report.problems.warnings),
        seconds=report.seconds,
    )


def archive_line(written: list[str], folder: str) -> str:
    return f"Web archive: {count(len(written), 'file')} written in {folder}/"


def show_progress():
    """Count and rate: a few times a second on a terminal; every few seconds in a CI log,
    so a long send shows it is alive."""
    import click

    terminal = sys.stderr.isatty()
    every = PROGRESS_ON_TERMINAL if terminal else PROGRESS_IN_LOG
    started = time.monotonic()
    last_shown = [started]

    def show(report: SendReport) -> None:
        moment = time.monotonic()
        if moment - last_shown[0] >= every:
            last_shown[0] = moment
            rate = report.sent / max(moment - started, 1e-9)
            line = f"Sent {report.sent} ({rate:.0f}/s), bounced {report.bounced}"
            click.echo(f"\r{line}" if terminal else line, nl=not terminal, err=True)

    return show


def audience_line(subject: str, emails: list[str], recorded: bool) -> str:
    """Who a dry run would mail; when nobody, why."""
    more = f" and {len(emails) - 10} more" if len(emails) > 10 else ""
    if not emails:
        why = (
            "all its audience (recorded when it was first sent) has it"
            if recorded
            else ("the list has no active subscriber")
        )
        return f'Would send "{subject}" to nobody: {why}'
    shown = ", ".join(emails[:10])
    return f'Would send "{subject}" to {count(len(emails), "subscriber")}: {shown}{more}'


def send_summary(report: SendReport) -> str:
    """One line of counts, then why the send stopped or left mail pending, if it did."""
    if report.abandoned:
        return f'Abandoned "{report.subject}", recorded by an earlier run: {report.abandoned}'
    rate = report.sent / report.seconds if report.seconds else 0
    parts = [
        f"sent {report.sent}",
        f"pending retry {report.pending}",
        f"bounced {report.bounced}",
        f"unknown {report.unknown}",
        f"skipped {report.skipped}",
    ]
    if report.already_sent:
        parts.append(f"sent by other runs {report.already_sent}")
    lines = [
        f'Sent "{report.subject}": '
        + ", ".join(parts)
        + f" of {report.audience} in {report.seconds:.2f} s ({rate:.0f}/s)"
        + (f", to {report.destination}" if report.destination else "")
    ]
    if report.waited >= 1:
        lines.append(f"  {report.waited:.0f} s spent waiting for the mail server")
    if report.stopped:
        lines.append(f"Stopped: {report.stopped}")
    elif (report.pending or report.unknown) and report.last_error:
        lines.append(f"  last error: {report.last_error}")
    return "\n".join(lines)


def publish_summary(report: PublishReport, *, dry_run: bool) -> str:
    lines = [summary_line(report.build, "Checked" if dry_run else "Built")]
    if report.pinged or report.ping_failures:
        lines.append(f"Hubs: {len(report.pinged)} notified, {len(report.ping_failures)} failed")
        lines.extend(f"  warning: hub not notified: {failure}" for failure in report.ping_failures)
    if report.baseline:
        posts = count(report.baseline, "published post")
        lines.append(
            f"First run: {posts} recorded as published before the newsletter started (not mailed)"
        )
    lines.extend(source_line(polled) for polled in report.polled)
    if dry_run:
        lines.append(f"Due for the newsletter: {', '.join(report.due) or 'nothing'}")
    if report.archived:
        lines.append(archive_line(report.archived, report.archive_folder))
    lines.extend(send_summary(send) for send in report.sends)
    if not report.sends and not dry_run:
        lines.append("Newsletter: nothing due")
    return "\n".join(lines)


def source_line(polled: Polled) -> str:
    """A source's fetch and its new entries, by what happens to them."""
    verdicts = Counter(decided.verdict for decided in polled.decided)
    words = {
        "mail": "for the newsletter",
        "baseline": "recorded as already out (first fetch)",
        "republished": "older, recorded and not mailed",
        "renamed": "known under a new id",
    }
    new = [f"{verdicts[v]} {word}" for v, word in words.items() if verdicts[v]]
    return f"Source {polled.label}: {polled.outcome}" + (f" ({', '.join(new)})" if new else "")


def source_status(
    source: SourceOptions,
    state: SourceState | None,
    entries: list[KeptEntry],
    known: set[str],
    now: datetime,
) -> str:
    """What `publisher sources` shows of one source: its fetch, its entries and what is due."""
    lines = [f"{source.label}: {source.feed}"]
    if state is None or state.checked_at is None:
        lines.append("  never fetched: the next publish fetches it, and mails nothing of it")
        return "\n".join(lines)
    outcome = state.status + (f" ({state.error})" if state.error else "")
    lines.append(f"  last fetch: {state.checked_at:%Y-%m-%d %H:%M} UTC, {outcome}")
    if state.url != source.feed:
        lines.append(f"  fetched from {state.url} (moved permanently: write it in publisher.toml)")
    verdicts = Counter(entry.verdict for entry in entries)
    waiting = sum(1 for e in entries if e.verdict == "mail" and e.post_key not in known)
    lines.append(
        f"  {count(len(entries), 'entry', 'entries')} seen: "
        f"{verdicts['mail'] - waiting} mailed, {waiting} waiting for the newsletter, "
        f"{verdicts['baseline']} from before the first fetch, "
        f"{verdicts['republished']} republished, {verdicts['renamed']} under new ids"
    )
    if state.gone:
        due = "never (the feed is gone: remove it, or give its new address)"
    elif state.retry_after and state.retry_after > now:
        due = f"not before {state.retry_after:%Y-%m-%d %H:%M} UTC, as the server asked"
    else:
        due = "at the next publish"
    lines.append(f"  next fetch: {due}")
    return "\n".join(lines)


def send_exit_code(reports: list[SendReport]) -> int:
    if any(report.stopped for report in reports):
        return EXIT_STOPPED
    return EXIT_PENDING if any(report.pending for report in reports) else EXIT_OK
