"""The `publisher` command: arguments in, the core's reports printed out.

Commands that mail import what they need when they run, so `publisher build` starts fast.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from publisher import __version__
from publisher.console import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_SOURCE,
    EXIT_STOPPED,
    archive_line,
    audience_line,
    build_and_report,
    jekyll_notes,
    print_problems,
    print_stopped,
    publish_summary,
    run_build,
    send_exit_code,
    send_summary,
    show_progress,
    source_status,
    summary_line,
    track,
)
from publisher.mail.readiness import newsletter_warnings
from publisher.mail.status import SubscriberStatus
from publisher.site.config import Site, load_site, moment, with_sending
from publisher.site.parallel import WorkerDied
from publisher.site.problems import Problems, Refusal, SiteError

if TYPE_CHECKING:
    from publisher.mail.campaign import Outgoing
    from publisher.mail.store import Store


class Publisher(click.Group):
    """Turns what the core refuses into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SiteError as exc:
            print_problems(exc.problems)
            sys.exit(EXIT_INVALID)
        except WorkerDied as exc:
            print_stopped(exc)
            sys.exit(EXIT_STOPPED)
        except Refusal as exc:
            if exc.argument:
                raise click.BadParameter(str(exc), param_hint=exc.argument) from None
            raise click.ClickException(str(exc)) from None


def choose_site(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """`--site` after the command, else before it, else the current folder."""
    return (value or ctx.obj or Path(".")).resolve()


def together(*decorators):
    """Several options as one decorator, in the order given."""

    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


FOLDER = click.Path(file_okay=False, exists=True, path_type=Path)
site_option = click.option(
    "--site",
    "root",
    type=FOLDER,
    callback=choose_site,
    help="The site's folder, holding publisher.toml (or _config.yml) and posts/.",
)
now_option = click.option(
    "--now", "now_text", metavar="ISO-8601", help="Run as if it were this time."
)
selection_options = together(
    click.option("--drafts", is_flag=True, help="Include drafts."),
    click.option("--future", is_flag=True, help="Include posts dated in the future."),
)
choice_options = together(
    click.argument("post", required=False),
    click.option("--digest", is_flag=True, help="A digest of several posts, not one."),
    click.option("--since", metavar="DATE", help="Digest: posts on or after DATE."),
    click.option("--last", type=click.IntRange(min=1), help="Digest: the newest N."),
)


@click.group(cls=Publisher)
@click.version_option(__version__, prog_name="publisher")
@click.option(
    "--site", "root", type=FOLDER, help="The site's folder (or give it after the command)."
)
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Turn a folder of Markdown posts into feeds and newsletters."""
    ctx.obj = root


# Feeds


@main.command(short_help="Report every problem; write nothing.")
@site_option
@selection_options
@now_option
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--fetch", is_flag=True, help="Fetch and read every source too.")
def check(
    root: Path, drafts: bool, future: bool, now_text: str | None, strict: bool, fetch: bool
) -> None:
    """Report every problem in the configuration and posts; write nothing.

    Remote feeds are fetched only with --fetch, whole (not as a conditional GET), and
    nothing is recorded of them."""
    site, report = run_build(root, now_text, drafts=drafts, future=future, write=False)
    newsletter_warnings(site, report.problems)
    polled = []
    if fetch:
        from publisher.sources.poll import poll

        polled = poll(site, {}, {}, moment(site, now_text), report.problems)
    print_problems(report.problems)
    for source in polled:
        click.echo(f"Source {source.label}: {source.outcome}")
    if site.jekyll is not None:
        click.echo("On this Jekyll site, compared with jekyll-feed, publisher writes:")
        for note in jekyll_notes(site):
            click.echo(f"  - {note}")
    click.echo(summary_line(report, "Checked"))
    failed = report.problems.errors or (strict and report.problems.warnings)
    sys.exit(EXIT_INVALID if failed else EXIT_OK)


@main.command(name="build")
@site_option
@selection_options
@now_option
def build_command(root: Path, drafts: bool, future: bool, now_text: str | None) -> None:
    """Check the posts, then write the Atom, RSS and JSON feeds."""
    sys.exit(build_and_report(root, now_text, drafts=drafts, future=future))


# Newsletters


@main.command(short_help="Preview the newsletter of a post or a digest.")
@choice_options
@site_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for message.html, message.txt, message.eml and web.html.",
)
@click.option("--open", "open_it", is_flag=True, help="Open message.html in a browser.")
@now_option
def newsletter(root: Path, out: Path, open_it: bool, now_text: str | None, **choice) -> None:
    """Render the newsletter for POST (a file under posts/ or a post id), or a --digest.

    Nothing is sent: the files show exactly what a subscriber would get, and web.html what
    its page in the web archive shows.
    """
    from publisher.mail.mime import write_preview

    site, problems = load_site(root)
    now = moment(site, now_text)
    outgoing = choose_outgoing(site, problems, now, **choice)
    if outgoing is None:
        click.echo("No posts for the digest: nothing was written.")
        return
    sizes = write_preview(site, outgoing.newsletter, out.resolve(), now)
    click.echo(f"Subject: {outgoing.newsletter.subject}")
    click.echo(
        ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in sizes.items()) + f" in {out}"
    )
    page = (out.resolve() / "message.html").as_uri()
    click.echo(f"See it in a browser: {page}")
    if open_it:
        click.launch(page)


def choose_outgoing(
    site: Site,
    problems: Problems,
    now: datetime,
    *,
    post: str | None,
    digest: bool,
    since: str | None,
    last: int | None,
) -> Outgoing | None:
    """What `newsletter` and `send` were asked for; its warnings are printed."""
    from publisher.mail.campaign import choose

    if digest == (post is not None):
        raise click.UsageError("give either a POST or --digest")
    if not digest and (since or last):
        raise click.UsageError("--since and --last go with --digest")
    start = moment(site, since, argument="--since") if since else None
    outgoing = choose(site, problems, now, post=post, since=start, last=last)
    print_problems(problems)
    return outgoing


@main.command(short_help="Mail a post's newsletter, or a digest, once.")
@choice_options
@site_option
@click.option("--dry-run", is_flag=True, help="Show who would get what; send nothing.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Parallel SMTP connections.")
@click.option("--rate", metavar="N/s", help="At most N messages a second.")
@click.option("--resend-unknown", is_flag=True, help="Resend messages a crash left unknown.")
@now_option
def send(
    root: Path,
    dry_run: bool,
    concurrency: int | None,
    rate: str | None,
    resend_unknown: bool,
    now_text: str | None,
    **choice,
) -> None:
    """Mail POST's newsletter, or a --digest, to every active subscriber, once."""
    from publisher.mail.archive import write_archive
    from publisher.mail.campaign import audience, campaign, mailed_entries
    from publisher.mail.newsletter import ARCHIVE_FOLDER
    from publisher.mail.tokens import secret
    from publisher.site.catalog import read_posts, select

    site, problems = load_site(root)
    now = moment(site, now_text)
    site = with_sending(site, concurrency=concurrency, rate=rate)
    outgoing = choose_outgoing(site, problems, now, **choice)
    if outgoing is None:
        click.echo("No posts for the digest: nothing was sent.")
        return
    store = open_store(site)
    if dry_run:
        click.echo(audience_line(outgoing.newsletter.subject, *audience(store, outgoing)))
        return
    published = select(read_posts(site, Problems()), now).published
    archivable = published + mailed_entries(site, store)
    archived = write_archive(site, store, archivable, [outgoing.posts])
    with campaign(site, store, secret, now, progress=show_progress()) as sender:
        report = sender.send(outgoing, resend_unknown=resend_unknown)
    if archived:
        click.echo(archive_line(archived, f"{site.feeds.output}/{ARCHIVE_FOLDER}"))
    click.echo(send_summary(report))
    sys.exit(send_exit_code([report]))


def open_store(site: Site) -> Store:
    """The state, opened only by the commands that need it."""
    from publisher.mail.store import open_store

    return open_store(site)


def roster():
    """The subscriber list's module, imported only by the commands that need it."""
    from publisher.mail import subscribers

    return subscribers


def store_at(root: Path) -> Store:
    return open_store(load_site(root)[0])


# Subscribers


@main.group()
def subscribers() -> None:
    """Manage the subscriber list."""


@subscribers.command(name="add")
@click.argument("email")
@click.option("--name", default="", help="How the newsletter greets them.")
@click.option(
    "--resubscribe", is_flag=True, help="If they left or bounced before, make them active again."
)
@site_option
def subscribers_add(email: str, name: str, resubscribe: bool, root: Path) -> None:
    """Add EMAIL to the list as an active subscriber."""
    subscriber = roster().add(store_at(root), email, name, resubscribe=resubscribe)
    click.echo(f"Added {subscriber.email}.")


@subscribers.command(name="reactivate", short_help="Make one who left or bounced active.")
@click.argument("email")
@site_option
def subscribers_reactivate(email: str, root: Path) -> None:
    """Make EMAIL, unsubscribed or bounced, active again (only on their own request)."""
    subscriber = roster().reactivate(store_at(root), email)
    click.echo(f"Reactivated {subscriber.email}.")


@subscribers.command(name="remove")
@click.argument("email")
@site_option
def subscribers_remove(email: str, root: Path) -> None:
    """Delete EMAIL and its delivery history from the list."""
    roster().remove(store_at(root), email)
    click.echo(f"Removed {email}.")


@subscribers.command(name="list")
@click.option(
    "--status",
    type=click.Choice([status.value for status in SubscriberStatus]),
    help="Only subscribers in this status.",
)
@site_option
def subscribers_list(status: str | None, root: Path) -> None:
    """Print the subscribers, one a line: address, status, name."""
    store = store_at(root)
    for subscriber in store.subscribers(SubscriberStatus(status) if status else None):
        click.echo(f"{subscriber.email}\t{subscriber.status}\t{subscriber.name}")


@subscribers.command(name="import", short_help="Add the addresses in a CSV file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@site_option
def subscribers_import(file: Path, root: Path) -> None:
    """Add the addresses in a CSV file (an email column, optionally a name column)."""
    report = roster().import_csv(store_at(root), file)
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
    from publisher.site.files import write_if_changed

    data = roster().export_csv(store_at(root))
    if file:
        write_if_changed(file, data.encode())
        rows = data.count("\n") - 1
        click.echo(f"Exported {rows} subscriber{'' if rows == 1 else 's'} to {file}.")
    else:
        click.echo(data, nl=False)


@main.group()
def state() -> None:
    """The state: subscribers, newsletters and deliveries."""


@state.command(name="copy", short_help="Copy the whole state into a new database or file.")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL|FILE",
    help="An empty PostgreSQL database (postgresql://...) or a new SQLite file.",
)
@site_option
def state_copy(target: str, root: Path) -> None:
    """Copy the site's whole state to TARGET in one transaction, and check every table's
    count; TARGET must be empty. Point the site at it afterwards."""
    from publisher.mail.store import open_state

    source = store_at(root)
    destination = open_state(target, Path.cwd())
    try:
        counts = source.copy_to(destination)
    finally:
        destination.close()
        source.close()
    tables = ", ".join(f"{table} {count}" for table, count in counts.items())
    click.echo(f"Copied {source.where} to {destination.where}: {tables}.")


@main.command(short_help="Unsubscribe by address, token or link.")
@click.argument("who")
@site_option
def unsubscribe(who: str, root: Path) -> None:
    """Unsubscribe at once, by address, by the token of an unsubscribe link, or by the link."""
    from publisher.mail.tokens import secret

    store = store_at(root)
    subscriber = roster().find(store, who, secret=secret)
    if roster().unsubscribe(store, subscriber):
        click.echo(f"Unsubscribed {subscriber.email}.")
    else:
        click.echo(f"{subscriber.email} was unsubscribed already.")


# The sign-up service


@main.command(short_help="Serve the sign-up, confirm and unsubscribe pages.")
@site_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
def serve(root: Path, host: str, port: int) -> None:
    """Serve the pages where readers sign up, confirm, and unsubscribe with one click.

    Needs PUBLISHER_SECRET, the key of every link; [service] url in publisher.toml says
    where readers reach it. See docs/deploy.md to run it behind a TLS proxy.
    """
    from publisher.web.server import serve

    site, problems = load_site(root)
    print_problems(problems)
    serve(site, host=host, port=port)


@main.command(name="sources", short_help="List the remote feeds and what each has due.")
@site_option
@now_option
def sources_command(root: Path, now_text: str | None) -> None:
    """List each [[sources]] feed: its last fetch, the entries seen in it, what waits for
    the newsletter, and when it is fetched next. Fetches nothing."""
    from publisher.mail.campaign import known_keys

    site, problems = load_site(root)
    print_problems(problems)
    if not site.sources:
        click.echo("No sources: add a [[sources]] table with feed = URL to publisher.toml.")
        return
    store = open_store(site)
    states, entries, known = store.source_states(), store.kept_entries(), known_keys(store)
    now = moment(site, now_text)
    for source in site.sources:
        state = states.get(source.feed)
        mine = [entry for entry in entries if state and entry.feed == state.feed]
        click.echo(source_status(source, state, mine, known, now))


# Publishing


@main.command(name="publish", short_help="Check, build, notify hubs, mail what is due.")
@site_option
@click.option(
    "--dry-run", is_flag=True, help="Check and report what is due; write, ping and send nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--new-ids", is_flag=True, help="Mail posts whose ids the state does not know, all of them."
)
@now_option
def publish_command(
    root: Path, dry_run: bool, as_json: bool, new_ids: bool, now_text: str | None
) -> None:
    """Check the posts, build the feeds, notify hubs and mail what is due.

    Safe to run from CI on every push and every hour: a run with nothing new does nothing.
    Exit codes: 0 done, 1 invalid posts or configuration, 3 deliveries left for a later
    run, 4 the mail server stopped the run, 5 done but a source could not be read.
    """
    from publisher.mail.tokens import secret
    from publisher.publish import publish

    site, problems = load_site(root)
    now = moment(site, now_text)
    try:
        flags = {"dry_run": dry_run, "new_ids": new_ids, "track": track}
        report = publish(site, problems, now, secret, progress=show_progress(), **flags)
    except SiteError as exc:
        problems.extend(exc.problems.items)
        report = None
    if as_json and report:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_problems(report.problems if report else problems)
        if report:
            click.echo(publish_summary(report, dry_run=dry_run))
    if problems.errors:
        sys.exit(EXIT_INVALID)
    code = send_exit_code(report.sends)
    sys.exit(EXIT_SOURCE if code == EXIT_OK and report.source_problems.errors else code)
