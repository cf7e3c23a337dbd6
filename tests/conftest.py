"""Fixtures: throwaway site folders, a real SMTP server and a WebSub hub on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from tests.helpers import (
    CONFIG,
    JEKYLL_CONFIG,
    MAIL_CONFIG,
    NEWSLETTER_CONFIG,
    ROOT,
    SECRET,
    SEED_NAME,
    FeedServer,
    Hub,
    JekyllDir,
    PostgresServer,
    Service,
    Sink,
    SiteDir,
    SmtpServer,
    postgres_bin,
    sources_config,
    subscribe,
    use_smtp,
)


@pytest.fixture(autouse=True)
def off_ci(monkeypatch):
    """Tests mail into Maildirs of their own: the CI variable of the machine running them
    must not make publisher refuse that."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def site(tmp_path: Path) -> SiteDir:
    site = SiteDir(tmp_path / "site")
    site.root.mkdir()
    site.config(CONFIG)
    return site


@pytest.fixture
def jekyll(tmp_path: Path) -> JekyllDir:
    """A Jekyll site with a title and a url in its _config.yml, and no posts yet."""
    site = JekyllDir(tmp_path / "jekyll")
    site.root.mkdir()
    site.config(JEKYLL_CONFIG)
    return site


@pytest.fixture
def bundled(tmp_path: Path) -> SiteDir:
    """The bundled site as a new user gets it: its settings and the seed post alone, whatever
    else the working tree's posts/ holds."""
    root = tmp_path / "bundled"
    (root / "posts").mkdir(parents=True)
    shutil.copy(ROOT / "publisher.toml", root)
    shutil.copy(ROOT / "posts" / SEED_NAME, root / "posts")
    return SiteDir(root)


@pytest.fixture
def letters(site: SiteDir) -> SiteDir:
    """A site with newsletter settings and no posts yet."""
    site.config(NEWSLETTER_CONFIG)
    return site


@pytest.fixture
def mailing(site: SiteDir) -> SiteDir:
    """A site with newsletter and mail settings and one post, ready to send."""
    site.config(MAIL_CONFIG)
    site.post(
        "2024-01-01-hello.md", "title: Hello\ntags: [Review]", "The summary.\n\n## Part\n\nMore."
    )
    return site


@pytest.fixture
def smtp_sink(monkeypatch):
    """A running sink, with PUBLISHER_SMTP_* pointing the CLI at it."""
    sink = Sink()
    server = SmtpServer(sink)
    server.start()
    use_smtp(monkeypatch, server)
    sink.port = server.port
    yield sink
    server.stop()


@pytest.fixture
def websub_hub():
    hub = Hub()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), hub.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield hub
    server.shutdown()


@pytest.fixture
def service(site: SiteDir, monkeypatch):
    """`publisher serve` running on 127.0.0.1 for a site with newsletter and mail settings,
    behind a trusted proxy (127.0.0.1), so each test's client can name its own network."""
    monkeypatch.setenv("PUBLISHER_SECRET", SECRET)
    running = Service(site)
    yield running
    running.stop()


# Read at import: tests run with the CI variable removed (see conftest.py).
ON_CI = bool(os.environ.get("CI"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, headless, once a module; on CI it must run."""
    chromium = shutil.which("chromium")
    if chromium is None:
        if ON_CI:
            pytest.fail("chromium is missing; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run; on CI it must run (.ci/run installs it)."""
    found = postgres_bin()
    if found is None:
        if ON_CI:
            pytest.fail("PostgreSQL is missing; .ci/run installs it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="publisher-postgres-"))
    server = PostgresServer(folder, found)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A new, empty database on the tests' PostgreSQL server."""
    return postgres.database()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_location(request, tmp_path: Path) -> str:
    """Where a state lives, once for each backend: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return request.getfixturevalue("database_url")


@pytest.fixture
def store(state_location: str, tmp_path: Path):
    """An empty state on each backend in turn."""
    from publisher.mail.store import open_state

    opened = open_state(state_location, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def on_postgres(database_url: str, monkeypatch) -> str:
    """Every site of the test keeps its state in one new PostgreSQL database."""
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    return database_url


@pytest.fixture(scope="module")
def craft(tmp_path_factory) -> dict[str, Path]:
    """The previews an email designer reviews: the bundled post, one opening with an image,
    one with a 60-character word in its title, a portrait image, full content with code, and
    a digest of five; each a folder holding message.html, .txt and .eml."""
    from tests.helpers import render_newsletter

    root = tmp_path_factory.mktemp("craft")
    site = SiteDir(root / "site")
    (site.root / "posts").mkdir(parents=True)
    shutil.copy(ROOT / "publisher.toml", site.root)
    shutil.copy(ROOT / "posts" / SEED_NAME, site.root / "posts")
    posts = {
        "image_led": (
            "title: Morning light\ntags: [photography]",
            "![A river at dawn](img/wide.png)\n\nA river at dawn, and what the light does "
            "to it in the first ten minutes.\n\nMore words follow here.\n",
        ),
        "long_word": (
            f"title: On {'Pneumonoultramicroscopicsilicovolcanoconiosis' + 'x' * 15} and others",
            "A post whose title has a very long word in it.\n",
        ),
        "portrait": (
            "title: A tall picture",
            "Some words before the picture.\n\n![A tall tower](img/tall.png)\n",
        ),
        "full_code": (
            "title: Code in full\nnewsletter_content: full",
            "Some `inline code` first.\n\n```python\ndef main():\n    return 42\n```\n\n"
            "And [a link](https://example.com/) after.\n",
        ),
    }
    previews = {"bundled": render_newsletter(site, f"posts/{SEED_NAME}").folder}
    for number, (name, (front, body)) in enumerate(posts.items(), start=1):
        path = site.post(f"2024-01-0{number}-{name.replace('_', '-')}.md", front, body)
        folder = root / name
        result = site.run(
            "newsletter", f"posts/{path.name}", "--out", str(folder), "--now", "2024-02-01"
        )
        assert result.exit_code == 0, result.output
        previews[name] = folder
    folder = root / "digest"
    result = site.run(
        "newsletter", "--digest", "--last", "5", "--out", str(folder), "--now", "2024-02-01"
    )
    assert result.exit_code == 0, result.output
    previews["digest"] = folder
    return previews


@pytest.fixture
def feeds():
    """A feed host on 127.0.0.1 whose answers the test scripts."""
    server = FeedServer()
    yield server
    server.stop()


@pytest.fixture
def remote(site: SiteDir, feeds: FeedServer, monkeypatch) -> SiteDir:
    """A site with no posts whose newsletter mails each new entry of one remote feed, at
    feeds.url("/feed.xml"), to two subscribers, into its Maildir."""
    site.config(sources_config(feeds.url("/feed.xml")))
    monkeypatch.setenv("PUBLISHER_SECRET", SECRET)
    subscribe(site, "ann@example.com", "bob@example.com")
    return site
