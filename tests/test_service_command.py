"""`publisher serve` as a command, and the [service] settings that the newsletter follows."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from publisher.site.config import load_site
from tests.helpers import (
    NEWSLETTER_CONFIG,
    SECRET,
    SiteDir,
    free_port,
    healthz,
    render_newsletter,
)

SERVICE = NEWSLETTER_CONFIG.replace(
    'unsubscribe_url = "https://example.com/unsubscribe?token={token}"\n', ""
)


def test_serve_answers_over_http_and_stops_on_sigterm_with_a_summary(site):
    port = free_port()
    environment = {**os.environ, "PUBLISHER_SECRET": SECRET}
    publisher = str(Path(sys.executable).parent / "publisher")
    command = [publisher, "serve", "--site", str(site.root)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        answer = healthz(f"http://127.0.0.1:{port}", running=lambda: server.poll() is None)
        assert answer.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/subscribe", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=20)
    # uvicorn shuts down, then ends the process by the signal, as systemd expects.
    assert server.returncode == -signal.SIGTERM, log
    assert f"links in mail point at http://127.0.0.1:{port}" in log
    assert "stopped: 0 confirmations mailed to the Maildir .publisher/outbox" in log
    assert "Traceback" not in log


def test_serve_without_a_secret_says_what_to_set(site, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SECRET", raising=False)
    result = site.run("serve")
    assert result.exit_code != 0
    assert "PUBLISHER_SECRET is not set" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_with_a_service_url_the_unsubscribe_link_points_at_it(site):
    site.config(SERVICE + '\n[service]\nurl = "https://news.example.com/"\n')
    site.post("2024-01-01-a.md")
    preview = render_newsletter(site, "posts/2024-01-01-a.md")
    assert "https://news.example.com/unsubscribe?token=preview" in preview.text
    assert b"List-Unsubscribe: <https://news.example.com/unsubscribe?token=preview>" in preview.eml


def test_the_footer_offers_to_manage_the_subscription(site):
    site.config(SERVICE)
    site.post("2024-01-01-a.md")
    preview = render_newsletter(site, "posts/2024-01-01-a.md")
    link = r'<a href="https://example.com/unsubscribe\?token=preview"[^>]*>Manage your subscription'
    assert re.search(link, preview.html)


def test_the_allowed_origins_are_the_sites_own_by_default(tmp_path):
    site = SiteDir(tmp_path)
    site.config('[site]\ntitle = "T"\nurl = "https://example.com/blog"\n')
    assert load_site(tmp_path)[0].service.allowed_origins == ("https://example.com",)


def test_bad_service_settings_are_each_reported(site):
    site.config(
        SERVICE
        + """
[service]
url = "https://news.example.com/?x=1"
allowed_origins = ["https://blog.example.com/path"]
trusted_proxies = ["not-an-ip"]
max_pending = 0
confirm_day = 3
"""
    )
    output = site.run("check").output
    assert "service url 'https://news.example.com/?x=1' is not an http(s) address" in output
    assert "allowed_origins 'https://blog.example.com/path' is not an origin" in output
    assert "trusted_proxies 'not-an-ip' is not an IP address or network" in output
    assert "must each be 1 or more" in output
    assert "unknown setting service.confirm_day" in output and "confirm_days" in output


def test_a_jekyll_site_sets_the_service_in_its_config(jekyll):
    jekyll.config(
        "title: Blog\nurl: https://blog.example.com\n"
        "service:\n  url: https://news.example.com\n  allowed_origins: [https://example.org]\n"
    )
    service = load_site(jekyll.root)[0].service
    assert service.url == "https://news.example.com"
    assert service.allowed_origins == ("https://example.org",)
