"""Generated hostile input through check, build, newsletter and a real send: never a
traceback, every problem named with its file, every feed and message well formed."""

import email
import email.header
import email.utils
import json
import os
import re
import tempfile
from email import policy
from html import escape
from pathlib import Path
from urllib.parse import urljoin

import cmarkgfm
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from publisher.site import markdown, stamps
from publisher.site.content import absolute_urls
from publisher.site.text import strip_forbidden
from tests.helpers import MAIL_CONFIG, Sink, SiteDir, SmtpServer, use_smtp

# Text a hostile writer or subscriber might send: anything Unicode can hold, with the
# characters that break headers and XML, and pre-encoded words, often.
NASTY = [
    "\r",
    "\n",
    "\r\n",
    "\x00",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufffe",
    "=?utf-8?q?a=0D=0ABcc:_x@evil.example?=",
    "Bcc: victim@evil.example",
    "<script>",
    "&#x1;",
    "{{ site.title }}",
    "../",
    "é" * 120,
]
text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=["Cs"]))),
    max_size=4,
).map("".join)
PROBLEM = re.compile(r"^(?P<path>[^:\s][^:]*?)(:\d+)?: (error|warning): ")
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "mime-version",
    "content-type",
}
EXAMPLES = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """Where each example makes its site: pytest's temporary folder, which it cleans."""
    return tmp_path_factory.mktemp("property")


def new_site(scratch: Path) -> SiteDir:
    site = SiteDir(Path(tempfile.mkdtemp(dir=scratch)) / "site")
    site.root.mkdir()
    site.config(MAIL_CONFIG)
    return site


def write_post(site: SiteDir, title: str, tags: list[str], subject: str, body: str) -> str:
    front_matter = {"title": title, "tags": tags}
    if subject:
        front_matter["newsletter_subject"] = subject
    name = "posts/2024-01-01-generated.md"
    path = site.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{yaml.safe_dump(front_matter)}---\n\n{body}\n", encoding="utf-8")
    return name


def assert_reported_cleanly(site: SiteDir, output: str) -> None:
    """No traceback, and each line about a problem names a file of the site."""
    assert "Traceback" not in output
    for line in output.splitlines():
        match = PROBLEM.match(line)
        if match:
            assert (site.root / match["path"]).exists() or match["path"] in (
                "publisher.toml",
                "_site",
            ), line


def assert_feeds_are_well_formed(site: SiteDir, before: set[Path]) -> None:
    """Every file written is in the output folder (or publisher's own), and every feed
    parses."""
    output = site.root / "_site"
    for path in set(site.root.rglob("*")) - before:
        if path.is_file():
            assert path.is_relative_to(output) or path.parts[len(site.root.parts)] in (
                ".publisher",
                "preview",
            ), path
    for path in output.rglob("*.xml"):
        etree.fromstring(path.read_bytes())
    for path in output.rglob("*.json"):
        json.loads(path.read_bytes())


@EXAMPLES
@given(title=text, tags=st.lists(text, max_size=3), subject=text, body=text)
def test_any_post_is_checked_built_and_previewed_without_a_traceback(
    scratch, title, tags, subject, body
):
    site = new_site(scratch)
    post = write_post(site, title, tags, subject, body)
    before = set(site.root.rglob("*"))
    for command in (["check"], ["build"], ["newsletter", post, "--out", "preview"]):
        result = site.run(*command)
        assert result.exit_code in (0, 1), (command, result.output, result.exception)
        assert_reported_cleanly(site, result.output)
    if site.run("build").exit_code == 0:
        assert_feeds_are_well_formed(site, before)


def displayed_name(data: bytes) -> str:
    """The To header's name as RFC 2047 reads it (Python's own parser puts spaces between
    adjacent encoded words, and reads a decoded ":" as structure)."""
    raw = re.sub(r"\r?\n[ \t]", " ", email.message_from_bytes(data)["To"])
    phrase = raw.rpartition(" <")[0]
    if not phrase.startswith("=?"):
        return email.utils.parseaddr(raw)[0]
    return str(email.header.make_header(email.header.decode_header(phrase)))


@pytest.fixture(scope="module")
def server():
    sink = Sink()
    smtp = SmtpServer(sink)
    smtp.start()
    yield smtp, sink
    smtp.stop()


@EXAMPLES
@given(title=text, name=text, subject=text)
def test_any_name_and_subject_reach_the_server_as_exactly_our_headers(
    server, scratch, title, name, subject
):
    smtp, sink = server
    site = new_site(scratch)
    post = write_post(site, title, [], subject, "The summary.")
    with pytest.MonkeyPatch.context() as patch:
        use_smtp(patch, smtp)
        added = site.run("subscribers", "add", "ann@example.com", "--name", name)
        assert added.exit_code in (0, 1), added.output
        assert_reported_cleanly(site, added.output)
        before = len(sink.messages)
        sent = site.run("send", post)
    assert sent.exit_code in (0, 1), (sent.output, sent.exception)
    assert_reported_cleanly(site, sent.output)
    if added.exit_code or sent.exit_code:
        event("refused before anything was sent")
        assert len(sink.messages) == before
        return
    event("sent")
    [(_, data)] = sink.messages[before:]
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]", " ", head).split("\r\n")
    names = [line.split(":", 1)[0].lower() for line in unfolded]
    assert sorted(names) == sorted(EXPECTED_HEADERS), unfolded
    message = email.message_from_bytes(data, policy=policy.default)
    written = strip_forbidden(subject).strip() or strip_forbidden(title).strip()
    # The email package folds a long subject as "Subject:" CRLF " Bcc: ..." and its parser
    # then keeps the fold's space, which RFC 5322 unfolding leaves as the usual one after the
    # colon: a reader shows no space.
    shown = message["Subject"].lstrip(" ")
    assert shown == (written or "Generated")  # untitled: named from the file
    assert displayed_name(data) == name.strip()


# What a Jekyll post's body holds that Liquid and kramdown read: whole tags, broken ones,
# and pieces of blocks, in any order.
JEKYLL_PIECES = [
    "{% include note.html x=page.title %}",
    "{% include ../secret %}",
    "{% include /etc/hostname %}",
    "{% link ../../etc/passwd %}",
    "{% post_url 2020-01-01-missing %}",
    "{% if %}",
    "{% for post in site.posts %}",
    "{% endfor %}",
    "{% highlight ruby linenos %}",
    "{% endhighlight %}",
    "{% raw %}",
    "{% endraw %}",
    "{% unknown_plugin_tag a b %}",
    "{{ 1 | divided_by: 0 }}",
    "{{ 'not a date' | date_to_string }}",
    "{{ site.posts | where_exp: 'p', 'p.title contains' | jsonify }}",
    "{{ page.title | markdownify }}",
    "{:toc}",
    "{: #id .class}",
    "{::comment}",
    "{:/comment}",
    "{::nomarkdown}",
    "{:/}",
    "<div>\n\n",
    "</div>",
    "## Heading {#x}",
    "\n* TOC\n{:toc}\n",
    "\n```\n",
]
jekyll_body = st.lists(st.one_of(st.sampled_from(JEKYLL_PIECES), text), max_size=6).map("".join)


@EXAMPLES
@given(title=text, body=jekyll_body)
def test_any_jekyll_post_is_checked_and_built_without_a_traceback(scratch, title, body):
    site = SiteDir(Path(tempfile.mkdtemp(dir=scratch)) / "site")
    (site.root / "_includes").mkdir(parents=True)
    (site.root / "_includes" / "note.html").write_text("<aside>{{ include.x }}</aside>\n")
    (site.root / "_config.yml").write_text("title: Blog\nurl: https://example.com\n")
    path = site.root / "_posts" / "2024-01-01-generated.md"
    path.parent.mkdir()
    front_matter = yaml.safe_dump({"title": title})
    path.write_text(f"---\n{front_matter}---\n\n{body}\n", encoding="utf-8")
    before = set(site.root.rglob("*"))
    for command in ("check", "build"):
        result = site.run(command)
        assert result.exit_code in (0, 1), (command, result.output, result.exception)
        assert_reported_cleanly(site, result.output)
    if site.run("build").exit_code == 0:
        assert_feeds_are_well_formed(site, before)


# Links as posts and remote feeds write them: paths from the root, relative paths, dot
# segments, doubled slashes, queries, fragments and params, odd whitespace.
link = st.lists(st.sampled_from(["/", "//", ".", "..", "a", "é", "?", "#", ";", "=", " ", "\t"]))
base = st.sampled_from(
    ["https://blog.example.org/2016/01/02/post.html", "http://u@h.example:8080/a/b/", "x:/y"]
)


@settings(max_examples=2000, deadline=None)
@given(base=base, url=link.map("".join))
def test_links_are_made_absolute_as_urljoin_makes_them(base, url):
    html = f'<a href="{escape(url)}">x</a>'
    expected = escape(urljoin(base, url.strip()), quote=True)
    assert absolute_urls(html, base) == f'<a href="{expected}">x</a>'


# Markdown as kramdown posts write it: headings of both kinds, raw HTML that is no heading,
# code, lists, emphasis, kramdown's own syntax, stray markup.
markdown_block = st.one_of(
    st.sampled_from(
        [
            "# Title",
            "## A *sub* heading {#given}",
            "Setext\n======",
            "Setext two\n---",
            "<div>raw\n\nblock</div>",
            "<h2>A raw heading</h2>",
            "<br/>\ntext after",
            "A <b>bold</b> word and <img src='x.png'>",
            "```\ncode <div>\n```",
            "- item\n- item with `<code>`",
            "{:toc}",
            "* toc\n{:toc}",
            "> quoted\n> ## heading in a quote",
            "| a | b |\n|---|---|\n| 1 | 2 |",
        ]
    ),
    st.text(alphabet="ab #*_<>/=-`\n", max_size=30),
)


@settings(max_examples=500, deadline=None)
@given(blocks=st.lists(markdown_block, max_size=8))
def test_kramdown_ids_need_no_source_positions_where_no_html_heading_is(blocks):
    """Without raw HTML headings every heading is cmark's: the HTML and the ids are those that
    source positions, which tell the two apart, give."""
    source, _ = markdown._kramdown_syntax("\n\n".join(blocks), [])
    if "<h" in source or "<H" in source:
        return
    positions, plain = markdown._KRAMDOWN, markdown._KRAMDOWN_WITHOUT_POSITIONS
    marked = cmarkgfm.cmark.markdown_to_html_with_extensions(source, positions[0], positions[1])
    html, headings, hidden = markdown._add_heading_ids(marked, gfm=True, only_made=True)
    unmarked = cmarkgfm.cmark.markdown_to_html_with_extensions(source, plain[0], plain[1])
    expected = (markdown._SOURCEPOS.sub("", html), headings, hidden)
    assert markdown._add_heading_ids(unmarked, gfm=True, only_made=False) == expected


# Scans as publisher/site/stamps.py makes them: file names (never with a NUL, sometimes not
# UTF-8, as os.fsdecode gives such names) and their sizes and mtimes.
unicode = st.characters(blacklist_categories=["Cs"], blacklist_characters="\0")
file_name = st.text(unicode, min_size=1) | st.binary(min_size=1).filter(
    lambda raw: b"\0" not in raw
).map(os.fsdecode)
found_files = st.lists(
    st.dictionaries(file_name, st.tuples(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))),
    max_size=3,
)


@given(found=found_files, options=st.text(unicode))
def test_packed_inputs_unpack_to_the_scans_they_packed(found, options):
    assert stamps.unpack_inputs(stamps.pack_inputs(found, options)) == found


@given(found=found_files, options=st.text(unicode), data=st.data())
def test_packed_inputs_cut_short_are_refused(found, options, data):
    packed = stamps.pack_inputs(found, options)
    cut = data.draw(st.integers(0, len(packed) - 1))
    with pytest.raises(ValueError):
        stamps.unpack_inputs(packed[:cut])
