"""Build a Jekyll site with Jekyll 4 + jekyll-feed and with publisher, and compare the two
Atom feeds entry by entry.

    python bench/jekyll_compare.py SITE [SITE ...] [--keep DIR] [--show N] [--drop FILE ...]

Each SITE is copied to a scratch folder, where its _config.yml gets an unlimited feed and
jekyll-feed as its only plugin; layouts are removed, since
a feed holds a post's content without its layout, and pages other than posts are emptied.
Needs Debian's `jekyll` and `ruby-jekyll-feed`. Prints, per site, the entries on each side
and every mismatch by field.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import feedparser
import lxml.html
import yaml

PLUGINS = ["jekyll-feed"]
LIMIT = 1_000_000
# What Markdown or Liquid left as text: a sign that a post was not rendered as Jekyll renders it.
# The text of an entry outside code, where Liquid or kramdown markup would be left over.
PROSE = "//text()[not(ancestor::pre or ancestor::code or ancestor::script)]"
EMPTY_PARTS = re.compile(r"\?(?=#|$)|#$")
SYMBOL = re.compile(r"^(\s*[\w-]+:[ \t]+)(:[^\s#'\"]+)[ \t]*$", re.MULTILINE)
RAW_MARKUP = re.compile(r"\{%|\{\{|\{:|\{::")


def prepare(site: Path, scratch: Path, drop: list[str]) -> Path:
    """A copy of the site that both tools can build, without the files in `drop` (posts
    that need the site's own Ruby plugins, which neither build runs)."""
    copy = scratch / site.name
    ignore = shutil.ignore_patterns(".git", "_site", ".publisher")
    shutil.copytree(site, copy, symlinks=True, ignore=ignore)
    for name in drop:
        (copy / name).unlink(missing_ok=True)
    config_file = copy / "_config.yml"
    if not config_file.exists():  # Jekyll's own test site: its tests give the settings
        config_file.write_text("title: Test site\nurl: https://example.com\n")
    config = yaml.safe_load(config_file.read_text()) or {}
    feed = config.get("feed") if isinstance(config.get("feed"), dict) else {}
    # Later keys win in both YAML readers; JSON is YAML that neither reads differently.
    overrides = {
        "feed": {**feed, "posts_limit": LIMIT},
        "plugins": PLUGINS,
        "whitelist": PLUGINS,
        "gems": [],
        "theme": None,
        "remote_theme": None,
    }
    # A feed page of the site's own would stop jekyll-feed from writing its feed there.
    (copy / str(feed.get("path", "feed.xml")).lstrip("/")).unlink(missing_ok=True)
    lines = [f"{key}: {json.dumps(value)}" for key, value in overrides.items()]
    # Debian's Jekyll 4.3.1 refuses YAML symbols (`permalink: :title`); newer ones read
    # them as text, as publisher does.
    text = SYMBOL.sub(r'\1"\2"', config_file.read_text())
    config_file.write_text(text + "\n" + "\n".join(lines) + "\n")
    for gemfile in ("Gemfile", "Gemfile.lock"):
        (copy / gemfile).unlink(missing_ok=True)
    _empty_pages(copy)
    shutil.rmtree(copy / "_layouts", ignore_errors=True)
    shutil.rmtree(copy / "_plugins", ignore_errors=True)
    return copy


def _empty_pages(copy: Path) -> None:
    """Pages other than posts, emptied: they stay for `{% link %}` to find, but their
    Liquid and Sass, which may need plugins, are gone."""
    for path in copy.rglob("*"):
        parts = path.relative_to(copy).parts
        if any(part.startswith(("_", ".")) for part in parts) or not path.is_file():
            continue
        with path.open("rb") as file:
            if file.read(3) == b"---":
                path.write_text("---\n---\n")


class JekyllFailed(Exception):
    """Jekyll itself could not build the copy: there is nothing to compare."""


def build_jekyll(copy: Path) -> Path:
    out = copy / "_jekyll"
    result = subprocess.run(
        ["jekyll", "build", "--safe", "-q", "-d", str(out)],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "JEKYLL_ENV": "production"},
    )
    if result.returncode:
        reason = next((line for line in result.stderr.splitlines() if "Error" in line), "")
        raise JekyllFailed(reason.strip() or result.stderr[-500:])
    config = yaml.safe_load((copy / "_config.yml").read_text())
    return out / config["feed"].get("path", "feed.xml").lstrip("/")


def build_publisher(copy: Path) -> Path:
    publisher = Path(sys.executable).with_name("publisher")
    result = subprocess.run(
        [str(publisher), "build", "--site", str(copy)], capture_output=True, text=True
    )
    problems = [line for line in result.stderr.splitlines() if ": error:" in line]
    if result.returncode:
        print("\n".join(problems[:20]) or result.stderr[-2000:])
    config = yaml.safe_load((copy / "_config.yml").read_text())
    return copy / "_site" / config["feed"].get("path", "feed.xml").lstrip("/")


def substance(content: str) -> dict[str, object]:
    """What a reader of the entry gets, whatever the markup around it."""
    if not content.strip():
        return {"links": [], "images": [], "code": [], "headings": [], "raw": []}
    tree = lxml.html.fromstring(f"<div>{content}</div>")
    return {
        # An empty query or fragment ("page.html?#x", "page.html#") is no query or fragment;
        # kramdown drops them.
        "links": sorted(EMPTY_PARTS.sub("", unquote(a.get("href", ""))) for a in tree.iter("a")),
        "images": sorted(
            unquote(img.get("src", "")).rsplit("/", 1)[-1] for img in tree.iter("img")
        ),
        "code": [" ".join(pre.text_content().split()) for pre in tree.iter("pre")],
        "headings": [
            (h.tag, " ".join(h.text_content().split()), h.get("id"))
            for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")
        ],
        "raw": RAW_MARKUP.findall(" ".join(tree.xpath(PROSE))),
    }


def fields(entry) -> dict[str, object]:
    content = entry.content[0].value if entry.get("content") else ""
    return {
        "link": entry.get("link"),
        "title": entry.get("title"),
        "published": entry.get("published_parsed"),
        "updated": entry.get("updated_parsed"),
        "id": entry.get("id"),
        "author": (entry.get("author_detail") or {}).get("name") or None,
        "categories": sorted({tag.term for tag in entry.get("tags", [])}),
        **substance(content),
    }


def compare(site: Path, scratch: Path, show: int, drop: list[str]) -> Counter:
    copy = prepare(site, scratch, drop)
    try:
        jekyll = feedparser.parse(build_jekyll(copy).read_bytes())
    except JekyllFailed as exc:
        print(f"{site}: Jekyll failed: {exc}")
        return Counter({"Jekyll failed": 1})
    ours = feedparser.parse(build_publisher(copy).read_bytes())
    theirs = {entry.get("link"): fields(entry) for entry in jekyll.entries}
    mine = {entry.get("link"): fields(entry) for entry in ours.entries}
    mismatches: Counter = Counter()
    shown: Counter = Counter()
    print(f"{site}: Jekyll {len(theirs)} entries, publisher {len(mine)}")
    for link in sorted(set(theirs) | set(mine), key=str):
        if link not in mine or link not in theirs:
            side = "publisher" if link in mine else "Jekyll"
            mismatches["only in " + side] += 1
            if shown["only in " + side] < show:
                shown["only in " + side] += 1
                print(f"  only in {side}: {link}")
            continue
        for key, value in theirs[link].items():
            differs = bool(mine[link]["raw"]) if key == "raw" else mine[link][key] != value
            if differs:
                mismatches[key] += 1
                if shown[key] < show:
                    shown[key] += 1
                    print(f"  {key} of {link}:")
                    print(f"    Jekyll:    {value}\n    publisher: {mine[link][key]}")
    summary = ", ".join(f"{key} {count}" for key, count in sorted(mismatches.items()))
    print(f"  mismatches: {summary or 'none'}")
    return mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", nargs="+", type=Path)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--show", type=int, default=3, help="examples shown per field")
    parser.add_argument(
        "--drop", action="append", default=[], help="a file to leave out, relative to a SITE"
    )
    args = parser.parse_args()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="jekyll-compare-"))
    scratch.mkdir(parents=True, exist_ok=True)
    total: Counter = Counter()
    try:
        for site in args.sites:
            total += compare(site.resolve(), scratch, args.show, args.drop)
    finally:
        if not args.keep:
            shutil.rmtree(scratch)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
