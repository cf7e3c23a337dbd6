"""The `publisher` command."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from publisher import __version__
from publisher.feeds.build import Report, build
from publisher.mail import store as state
from publisher.mail import subscribers as subscriber_list
from publisher.site.cache import Cache
from publisher.site.config import Site, load_site
from publisher.site.discovery import discover
from publisher.site.files import write_if_changed
from publisher.site.problems import Problems, SiteError

if TYPE_CHECKING:
    from publisher.mail.delivery import SendReport
    from publisher.mail.newsletter import Newsletter
    from publisher.publish import PublishReport
    from publisher.site.post import Post

# Commands that mail import what they need when they run, so `publisher build` starts fast.

T = TypeVar("T")

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_PENDING = 3
EXIT_STOPPED = 4
DEFAULT_DIGEST = 5


def track(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    """A progress bar on a terminal; on a CI log, nothing but the finished summary."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
        yield from bar


def parse_now(value: str | None, site: Site) -> datetime:
    """The moment a run acts as if it were; without an offset, in the site's timezone, as
    post dates are."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=site.tz)


site_option = click.option(
    "--site",
    "root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="The site's folder, holding publisher.toml (or _config.yml) and posts/.",
)
selection_options = [
    click.option("--drafts", is_flag=True, help="Include drafts."),
    click.option("--future", is_flag=True, help="Include posts dated in the future."),
    click.option("--now", "now_text", metavar="ISO-8601", help="Run as if it were this time."),
]


def with_options(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@click.group()
@click.version_option(__version__, prog_name="publisher")
def main() -> None:
    """Turn a folder of Markdown posts into feeds and newsletters."""


@main.command()
@site_option
@with_options(selection_options)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def check(root: Path, drafts: bool, future: bool, now_text: str | None, strict: bool) -> None:
    """Report every problem in the configuration and the posts, without writing anything."""
    report = run(root, now_text, drafts, future, write=False)
    print_problems(report.problems)
    click.echo(summary_line(report, "Checked"))
    sys.exit(exit_code(report.problems, strict))


@main.command(name="build")
@site_option
@with_options(selection_options)
def build_command(root: Path, drafts: bool, future: bool, now_text: str | None) -> None:
    """Check the posts, then write the Atom, RSS and JSON feeds."""
    report = run(root, now_text, drafts, future, write=True)
    print_problems(report.problems)
    if report.problems.errors:
        click.echo("Nothing was written: fix the errors above and build again.", err=True)
    click.echo(summary_line(report, "Built"))
    sys.exit(exit_code(report.problems, strict=False))


def run(root: Path, now_text: str | None, drafts: bool, future: bool, write: bool) -> Report:
    site, problems = load_site_or_exit(root)
    now = parse_now(now_text, site)
    return build(site, problems, now, drafts=drafts, future=future, write=write, track=track)


def print_problems(problems: Problems) -> None:
    for problem in problems.sorted():
        color = "red" if problem.level == "error" else "yellow"
        click.secho(str(problem), fg=color, err=True)


def exit_code(problems: Problems, strict: bool) -> int:
    failed = problems.errors or (strict and problems.warnings)
    return EXIT_INVALID if failed else EXIT_OK


def summary_line(report: Report, verb: str) -> str:
    """One line a CI log can be read by: what was read, what was written, how long it took."""
    parts = []
    if report.counts:
        counts = report.counts
        parts.append(_count(counts.published, "post"))
        if counts.drafts:
            parts.append(f"{counts.drafts} left out as drafts")
        if counts.future:
            parts.append(f"{counts.future} scheduled for later")
        feeds = 1 + counts.category_feeds + counts.tag_feeds
        parts.append(
            f"{_count(feeds, 'feed')} ({counts.category_feeds} by category, "
            f"{counts.tag_feeds} by tag), {counts.site_entries} entries in the site feed"
        )
        if report.written or report.unchanged:
            files = f"{len(report.written)} files written, {len(report.unchanged)} unchanged"
            if report.removed:
                files += f", {len(report.removed)} stale removed"
            parts.append(files)
    errors, warnings = len(report.problems.errors), len(report.problems.warnings)
    parts.append(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}")
    return f"{verb}: " + "; ".join(parts) + f" in {report.seconds:.2f} s"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


choice_options = [
    click.argument("post", required=False),
    site_option,
    click.option("--digest", is_flag=True, help="A digest of several posts instead of one."),
    click.option("--since", metavar="DATE", help="Digest: posts published on or after DATE."),
    click.option("--last", type=click.IntRange(min=1), help="Digest: the newest N posts."),
]


@main.command()
@with_options(choice_options)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for message.html, message.txt and message.eml.",
)
@click.option("--now", "now_text", metavar="ISO-8601", help="Run as if it were this time.")
def newsletter(
    post: str | None,
    root: Path,
    digest: bool,
    since: str | None,
    last: int | None,
    out: Path,
    now_text: str | None,
) -> None:
    """Render the newsletter for POST (a file under posts/ or a post id), or a --digest.

    Nothing is sent: the files show exactly what a subscriber would get.
    """
    check_choice(post, digest, since, last)
    site, problems = load_site_or_exit(root)
    now = parse_now(now_text, site)
    chosen = choose_newsletter(site, problems, post, since, last, now, root)
    print_problems(problems)
    if chosen is None:
        click.echo("No posts for the digest: nothing was written.")
        return
    letter, _ = chosen
    written = write_preview(site, letter, out.resolve(), now)
    click.echo(f"Subject: {letter.subject}")
    click.echo(", ".join(f"{name} {size / 1024:.1f} KB" for name, size in written) + f" in {out}")


def load_site_or_exit(root: Path) -> tuple[Site, Problems]:
    try:
        return load_site(root.resolve())
    except SiteError as exc:
        print_problems(exc.problems)
        sys.exit(EXIT_INVALID)


def exit_on_errors(problems: Problems) -> None:
    if problems.errors:
        print_problems(problems)
        sys.exit(EXIT_INVALID)


def find_post(posts: list[Post], wanted: str, root: Path) -> Post:
    """A post by its file (as given, or relative to the site) or by its id."""
    candidates = {wanted}
    path = Path(wanted)
    for base in (Path.cwd(), root.resolve()):
        with contextlib.suppress(ValueError):
            candidates.add((base / path).resolve().relative_to(root.resolve()).as_posix())
    for post in posts:
        if post.source in candidates or post.id == wanted:
            return post
    raise click.BadParameter(f"no post {wanted!r} under posts/ or _posts/", param_hint="POST")


def digest_posts(
    site: Site, published: list[Post], since: str | None, last: int | None
) -> list[Post]:
    chosen = published
    if since:
        start = parse_now(since, site)
        chosen = [post for post in chosen if post.date >= start]
    return chosen[: last or (None if since else DEFAULT_DIGEST)]


def write_preview(
    site: Site, letter: Newsletter, out: Path, now: datetime
) -> list[tuple[str, int]]:
    """The newsletter as the placeholder subscriber gets it, in three files."""
    from publisher.mail.mime import MessageTemplate, preview_recipient
    from publisher.mail.newsletter import personalize

    recipient = preview_recipient(site)
    html, text = personalize(letter, recipient)
    try:
        eml = MessageTemplate(site, letter, now).render(recipient)
    except SiteError as exc:
        print_problems(exc.problems)
        sys.exit(EXIT_INVALID)
    files = {"message.html": html.encode(), "message.txt": text.encode(), "message.eml": eml}
    for name, data in files.items():
        write_if_changed(out / name, data)
    return [(name, len(data)) for name, data in files.items()]


def open_state(site: Site) -> sqlite3.Connection:
    return state.connect(site.root / site.mail.state)


@main.group()
def subscribers() -> None:
    """Manage the subscriber list."""


@subscribers.command(name="add")
@click.argument("email")
@click.option("--name", default="", help="How the newsletter greets them.")
@site_option
def subscribers_add(email: str, name: str, root: Path) -> None:
    """Add EMAIL to the list as an active subscriber."""
    site, _ = load_site_or_exit(root)
    try:
        subscriber = subscriber_list.add(open_state(site), email, name)
    except subscriber_list.SubscriberError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {subscriber.email}.")


@subscribers.command(name="remove")
@click.argument("email")
@site_option
def subscribers_remove(email: str, root: Path) -> None:
    """Delete EMAIL and its delivery history from the list."""
    site, _ = load_site_or_exit(root)
    if not subscriber_list.remove(open_state(site), email):
        raise click.ClickException(f"{email} is not on the list")
    click.echo(f"Removed {email}.")


@subscribers.command(name="list")
@click.option("--status", type=click.Choice(subscriber_list.STATUSES))
@site_option
def subscribers_list(status: str | None, root: Path) -> None:
    """Print the subscribers, one a line: address, status, name."""
    site, _ = load_site_or_exit(root)
    for subscriber in subscriber_list.listing(open_state(site), status):
        click.echo(f"{subscriber.email}\t{subscriber.status}\t{subscriber.name}")


@subscribers.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@site_option
def subscribers_import(file: Path, root: Path) -> None:
    """Add the addresses in a CSV file (an email column, optionally a name column)."""
    site, _ = load_site_or_exit(root)
    report = subscriber_list.import_csv(open_state(site), file)
    for line, reason in report.bad_rows:
        click.secho(f"{file}:{line}: error: {reason}", fg="red", err=True)
    click.echo(
        f"Imported {report.added}, skipped {report.duplicates} already on the list, "
        f"{len(report.bad_rows)} bad rows."
    )
    sys.exit(EXIT_INVALID if report.bad_rows else EXIT_OK)


@subscribers.command(name="export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@site_option
def subscribers_export(file: Path | None, root: Path) -> None:
    """Write the list as CSV to FILE, or to standard output."""
    site, _ = load_site_or_exit(root)
    data = subscriber_list.export_csv(open_state(site))
    if file:
        write_if_changed(file, data.encode())
    else:
        click.echo(data, nl=False)


@main.command()
@click.argument("who")
@site_option
def unsubscribe(who: str, root: Path) -> None:
    """Unsubscribe at once, by address or by the token in an unsubscribe link."""
    from publisher.mail.tokens import MissingSecret, TokenError, read_token, secret

    site, _ = load_site_or_exit(root)
    connection = open_state(site)
    if "@" in who:
        subscriber = subscriber_list.find(connection, who)
    else:
        try:
            subscriber = subscriber_list.get(connection, read_token(secret(), who))
        except (TokenError, MissingSecret) as exc:
            raise click.ClickException(str(exc)) from None
    if subscriber is None:
        raise click.ClickException(f"{who} is not on the list")
    subscriber_list.set_status(connection, subscriber.id, "unsubscribed")
    click.echo(f"Unsubscribed {subscriber.email}.")


@main.command()
@with_options(choice_options)
@click.option("--dry-run", is_flag=True, help="Show who would get what; send nothing.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Parallel SMTP connections.")
@click.option("--rate", metavar="N/s", help="At most N messages a second.")
@click.option("--resend-unknown", is_flag=True, help="Resend messages a crash left unknown.")
@click.option("--now", "now_text", metavar="ISO-8601", help="Run as if it were this time.")
def send(
    post: str | None,
    root: Path,
    digest: bool,
    since: str | None,
    last: int | None,
    dry_run: bool,
    concurrency: int | None,
    rate: str | None,
    resend_unknown: bool,
    now_text: str | None,
) -> None:
    """Mail POST's newsletter, or a --digest, to every active subscriber, once."""
    from publisher.mail import delivery
    from publisher.mail.tokens import MissingSecret, secret

    check_choice(post, digest, since, last)
    site, problems = load_site_or_exit(root)
    now = parse_now(now_text, site)
    site = replace(site, mail=replace(site.mail, **mail_overrides(concurrency, rate)))
    chosen = choose_newsletter(site, problems, post, since, last, now, root)
    print_problems(problems)
    if chosen is None:
        click.echo("No posts for the digest: nothing was sent.")
        return
    letter, posts = chosen
    key = delivery.digest_key(posts) if digest else delivery.post_key(posts[0])
    connection = open_state(site)
    if dry_run:
        report = delivery.dry_run(connection, key, letter.subject)
        shown = ", ".join(report.recipients[:10])
        more = f" and {len(report.recipients) - 10} more" if len(report.recipients) > 10 else ""
        click.echo(f"Would send {letter.subject!r} to {report.audience} subscribers: {shown}{more}")
        return
    try:
        signing_secret = secret()
        with delivery.run_lock(site.root / site.mail.state):
            newsletter_id = delivery.record(connection, key, letter, [p.id for p in posts], now)
            mailer = delivery.Mailer(
                site, connection, newsletter_id, signing_secret, now, show_progress()
            )
            report = mailer.run(resend_unknown)
    except (MissingSecret, delivery.Busy) as exc:
        raise click.ClickException(str(exc)) from None
    except SiteError as exc:
        print_problems(exc.problems)
        sys.exit(EXIT_INVALID)
    click.echo(send_summary(report))
    if report.stopped:
        click.secho(f"Stopped: {report.stopped}", fg="red", err=True)
        sys.exit(EXIT_STOPPED)
    sys.exit(EXIT_PENDING if report.pending else EXIT_OK)


def mail_overrides(concurrency: int | None, rate: str | None) -> dict:
    overrides: dict = {}
    if concurrency:
        overrides["concurrency"] = concurrency
    if rate:
        number = rate.removesuffix("/s")
        try:
            overrides["rate"] = float(number)
        except ValueError:
            raise click.BadParameter(
                f"{rate!r} is not a rate like 14/s", param_hint="--rate"
            ) from None
    return overrides


def check_choice(post: str | None, digest: bool, since: str | None, last: int | None) -> None:
    if digest == (post is not None):
        raise click.UsageError("give either a POST or --digest")
    if not digest and (since or last):
        raise click.UsageError("--since and --last go with --digest")


def choose_newsletter(
    site: Site,
    problems: Problems,
    post: str | None,
    since: str | None,
    last: int | None,
    now: datetime,
    root: Path,
) -> tuple[Newsletter, list[Post]] | None:
    """POST's newsletter, or (with no POST) a digest and its posts; None for an empty digest.

    Exits with every problem listed when a post, the configuration or a template is invalid.
    """
    from publisher.mail.newsletter import digest_newsletter, post_newsletter
    from publisher.site.catalog import load_posts, select

    cache = Cache(site)
    posts, _ = load_posts(site, discover(site), cache, problems)
    cache.save()
    exit_on_errors(problems)
    try:
        if post is None:
            chosen = digest_posts(site, select(posts, now, False, False).published, since, last)
            return (digest_newsletter(site, chosen), chosen) if chosen else None
        found = find_post(posts, post, root)
        letter = post_newsletter(site, found, problems)
    except SiteError as exc:
        problems.extend(exc.problems.items)
    exit_on_errors(problems)
    return letter, [found]


# How often a send's progress is shown: on a terminal in place, in a log (CI) as a new line.
PROGRESS_ON_TERMINAL = 0.25
PROGRESS_IN_LOG = 15.0


def show_progress():
    """Count and rate: a few times a second on a terminal; every few seconds in a CI log,
    so a long send shows it is alive."""
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


def send_summary(report: SendReport) -> str:
    rate = report.sent / report.seconds if report.seconds else 0
    parts = [
        f"sent {report.sent}",
        f"pending retry {report.pending}",
        f"bounced {report.bounced}",
        f"unknown {report.unknown}",
        f"skipped {report.skipped}",
    ]
    if report.already_sent:
        parts.append(f"sent before {report.already_sent}")
    return (
        f"Sent {report.subject!r}: "
        + ", ".join(parts)
        + f" of {report.audience} in {report.seconds:.2f} s ({rate:.0f}/s)"
    )


@main.command(name="publish")
@site_option
@click.option(
    "--dry-run", is_flag=True, help="Check and report what is due; write, ping and send nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--now", "now_text", metavar="ISO-8601", help="Run as if it were this time.")
def publish_command(root: Path, dry_run: bool, as_json: bool, now_text: str | None) -> None:
    """Check the posts, build the feeds, notify hubs and mail what is due.

    Safe to run from CI on every push and every hour: a run with nothing new does nothing.
    Exit codes: 0 done, 1 invalid posts or configuration, 3 deliveries left for a later
    run, 4 the mail server stopped the run.
    """
    from publisher.mail.delivery import Busy
    from publisher.mail.tokens import MissingSecret, secret
    from publisher.publish import publish

    site, problems = load_site_or_exit(root)
    now = parse_now(now_text, site)
    try:
        report = publish(
            site, problems, now, secret, dry_run=dry_run, track=track, progress=show_progress()
        )
    except (MissingSecret, Busy) as exc:
        raise click.ClickException(str(exc)) from None
    except SiteError as exc:
        problems.extend(exc.problems.items)
        report = None
    if as_json and report:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_problems(problems)
        if report:
            click.echo(publish_summary(report, dry_run))
    if problems.errors:
        sys.exit(EXIT_INVALID)
    if report.stopped:
        sys.exit(EXIT_STOPPED)
    sys.exit(EXIT_PENDING if report.pending else EXIT_OK)


def publish_summary(report: PublishReport, dry_run: bool) -> str:
    lines = [summary_line(report.build, "Checked" if dry_run else "Built")]
    if report.pinged or report.ping_failures:
        lines.append(f"Hubs: {len(report.pinged)} notified, {len(report.ping_failures)} failed")
        lines.extend(f"  warning: hub not notified: {failure}" for failure in report.ping_failures)
    if report.baseline:
        lines.append(f"First run: {report.baseline} published posts recorded as already sent")
    if dry_run:
        lines.append(f"Due for the newsletter: {', '.join(report.due) or 'nothing'}")
    lines.extend(send_summary(send) for send in report.sends)
    if not report.sends and not dry_run:
        lines.append("Newsletter: nothing due")
    return "\n".join(lines)
