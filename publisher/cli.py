"""The `publisher` command."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from publisher import __version__
from publisher.build import Report, build
from publisher.cache import Cache
from publisher.catalog import load_posts, select
from publisher.config import Site, load_site
from publisher.message import MessageTemplate, preview_recipient
from publisher.newsletter import Newsletter, digest_newsletter, personalize, post_newsletter
from publisher.output import write_if_changed
from publisher.posts import Post, discover
from publisher.problems import Problems, SiteError

T = TypeVar("T")

EXIT_OK = 0
EXIT_INVALID = 1
DEFAULT_DIGEST = 5


def track(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    """A progress bar on a terminal; on a CI log, nothing but the finished summary."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
        yield from bar


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    report = run(root, parse_now(now_text), drafts, future, write=False)
    print_problems(report.problems)
    click.echo(summary_line(report, "Checked"))
    sys.exit(exit_code(report.problems, strict))


@main.command(name="build")
@site_option
@with_options(selection_options)
def build_command(root: Path, drafts: bool, future: bool, now_text: str | None) -> None:
    """Check the posts, then write the Atom, RSS and JSON feeds."""
    report = run(root, parse_now(now_text), drafts, future, write=True)
    print_problems(report.problems)
    if report.problems.errors:
        click.echo("Nothing was written: fix the errors above and build again.", err=True)
    click.echo(summary_line(report, "Built"))
    sys.exit(exit_code(report.problems, strict=False))


def run(root: Path, now: datetime, drafts: bool, future: bool, write: bool) -> Report:
    site, problems = load_site_or_exit(root)
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
            parts.append(f"{len(report.written)} files written, {len(report.unchanged)} unchanged")
    errors, warnings = len(report.problems.errors), len(report.problems.warnings)
    parts.append(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}")
    return f"{verb}: " + "; ".join(parts) + f" in {report.seconds:.2f} s"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@main.command()
@click.argument("post", required=False)
@site_option
@click.option("--digest", is_flag=True, help="A digest of several posts instead of one.")
@click.option("--since", metavar="DATE", help="Digest: posts published on or after DATE.")
@click.option("--last", type=click.IntRange(min=1), help="Digest: the newest N posts.")
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
    if digest == (post is not None):
        raise click.UsageError("give either a POST or --digest")
    if not digest and (since or last):
        raise click.UsageError("--since and --last go with --digest")
    now = parse_now(now_text)
    site, problems = load_site_or_exit(root)
    cache = Cache(site)
    posts = load_posts(site, discover(site), cache, problems)
    cache.save()
    exit_on_errors(problems)
    try:
        if digest:
            chosen = digest_posts(select(posts, now, False, False).published, since, last)
            if not chosen:
                print_problems(problems)
                click.echo("No posts for the digest: nothing was written.")
                return
            letter = digest_newsletter(site, chosen)
        else:
            letter = post_newsletter(site, find_post(posts, post, root), problems)
    except SiteError as exc:
        problems.extend(exc.problems.items)
    exit_on_errors(problems)
    print_problems(problems)
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


def digest_posts(published: list[Post], since: str | None, last: int | None) -> list[Post]:
    chosen = published
    if since:
        start = parse_now(since)
        chosen = [post for post in chosen if post.date >= start]
    return chosen[: last or (None if since else DEFAULT_DIGEST)]


def write_preview(
    site: Site, letter: Newsletter, out: Path, now: datetime
) -> list[tuple[str, int]]:
    """The newsletter as the placeholder subscriber gets it, in three files."""
    recipient = preview_recipient(site)
    html, text = personalize(letter, recipient)
    files = {
        "message.html": html.encode(),
        "message.txt": text.encode(),
        "message.eml": MessageTemplate(site, letter, now).render(recipient),
    }
    for name, data in files.items():
        write_if_changed(out / name, data)
    return [(name, len(data)) for name, data in files.items()]
