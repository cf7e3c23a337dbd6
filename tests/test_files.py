"""Writing a file from bytes and from spans of other files, as a feed of every post is made
again from the entries kept on disk."""

import errno
import os
from pathlib import Path

import pytest

from publisher.site import files
from publisher.site.files import Span, Staging


@pytest.fixture
def kept(tmp_path: Path):
    """An open file holding b"0123456789"."""
    path = tmp_path / "kept"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


def test_bytes_and_spans_of_another_file_are_written_in_order(tmp_path, kept):
    target = tmp_path / "feed.xml"
    with Staging() as staging:
        staging.write(target, [b"<feed>", Span(kept, 2, 3), b"|", Span(kept, 7, 3), b"</feed>"])
    assert target.read_bytes() == b"<feed>234|789</feed>"


def test_a_file_that_holds_the_spans_bytes_already_is_left_alone(tmp_path, kept):
    target = tmp_path / "feed.xml"
    target.write_bytes(b"a0123b")
    with Staging() as staging:
        assert not staging.write(target, [b"a", Span(kept, 0, 4), b"b"])
        assert staging.write(target, [b"a", Span(kept, 1, 4), b"b"])
    assert target.read_bytes() == b"a1234b"


def test_a_span_past_the_end_of_its_file_fails_and_replaces_nothing(tmp_path, kept):
    target = tmp_path / "feed.xml"
    target.write_bytes(b"before")
    with pytest.raises(OSError), Staging() as staging:
        staging.write(target, [Span(kept, 8, 5)])
    assert target.read_bytes() == b"before"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.xml", "kept"]


def test_spans_go_through_memory_where_the_kernel_cannot_copy(tmp_path, kept, monkeypatch):
    def cannot(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(files, "_kernel_copy", cannot)
    target = tmp_path / "feed.xml"
    with Staging() as staging:
        staging.write(target, [b"<", Span(kept, 3, 4), b">"])
    assert target.read_bytes() == b"<3456>"
