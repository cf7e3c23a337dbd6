"""TLS to a real server with a test certificate: STARTTLS, implicit TLS, and certificates
checked, never trusted blindly."""

import ssl

import pytest
import trustme

from tests.helpers import Sink, SmtpServer, subscribe, use_smtp

POST = "posts/2024-01-01-hello.md"


@pytest.fixture
def authority(tmp_path):
    """A test certificate authority and a server certificate for 127.0.0.1 it signed."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return server_context, bundle


def run_against(server: SmtpServer, site, monkeypatch, security: str):
    server.start()
    try:
        use_smtp(monkeypatch, server, security)
        subscribe(site, "ann@example.com")
        return site.run("send", POST)
    finally:
        server.stop()


def test_starttls_delivers_to_a_server_with_a_trusted_certificate(mailing, monkeypatch, authority):
    server_context, bundle = authority
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    sink = Sink()
    server = SmtpServer(sink, tls_context=server_context, require_starttls=True)
    result = run_against(server, mailing, monkeypatch, "starttls")
    assert result.exit_code == 0, result.output
    assert sink.received == {"ann@example.com": 1}


def test_implicit_tls_delivers_to_a_server_with_a_trusted_certificate(
    mailing, monkeypatch, authority
):
    server_context, bundle = authority
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    sink = Sink()
    server = SmtpServer(sink, ssl_context=server_context)
    result = run_against(server, mailing, monkeypatch, "ssl")
    assert result.exit_code == 0, result.output
    assert sink.received == {"ann@example.com": 1}


def test_a_certificate_nobody_vouches_for_stops_the_run(mailing, monkeypatch, authority):
    server_context, _ = authority
    sink = Sink()
    server = SmtpServer(sink, tls_context=server_context, require_starttls=True)
    result = run_against(server, mailing, monkeypatch, "starttls")
    assert result.exit_code == 4
    assert "the server's certificate is not valid" in result.output
    assert not sink.received


def test_a_server_without_starttls_is_not_sent_to_in_the_clear(mailing, monkeypatch):
    sink = Sink()
    result = run_against(SmtpServer(sink), mailing, monkeypatch, "starttls")
    assert result.exit_code == 4
    assert "the server does not offer STARTTLS" in result.output
    assert not sink.received
