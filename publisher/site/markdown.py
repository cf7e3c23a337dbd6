"""Markdown to HTML: for a Jekyll site, in the dialect Jekyll writes by default, kramdown
with its GFM parser; for publisher's own sites, GitHub-flavoured Markdown.

cmark-gfm does the parsing. For Jekyll, kramdown's own syntax is handled around it: inline attribute
lists (`{: #id .class}`, `{:toc}`), extensions (`{::comment}`, `{::nomarkdown}`,
`{::options /}`), header ids (`## Title {#id}`), smart quotes and typographic dashes,
heading ids made as kramdown makes them, raw HTML kept (no GitHub tag filter), and no
autolinking of bare URLs, which kramdown does not do.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cmarkgfm
from cmarkgfm.cmark import Options

from publisher.site.text import HTML_TAG, without_forbidden_references

# Raw HTML passes in both dialects (no GitHub tag filter): authors' embeds are theirs.
_GFM = (
    Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES,
    ["table", "strikethrough", "tasklist", "autolink"],
)
# Source positions mark what cmark made, so that raw HTML headings get no id, as in kramdown;
# a source with no HTML heading needs none (they cost cmark a third of its time).
_KRAMDOWN = (
    _GFM[0] | Options.CMARK_OPT_SMART | Options.CMARK_OPT_SOURCEPOS,
    ["table", "strikethrough", "tasklist"],
)
_KRAMDOWN_WITHOUT_POSITIONS = (_GFM[0] | Options.CMARK_OPT_SMART, _KRAMDOWN[1])
_HEADING = re.compile(r'<h([1-6])( data-sourcepos="[^"]*")?>(.*?)</h\1>', re.DOTALL)
_SOURCEPOS = re.compile(r' data-sourcepos="[^"]*"')
_NOT_ASCII_ID = re.compile(r"[^a-z0-9_\- \t]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# kramdown's syntax, in the source: a block IAL or ALD on a line of its own, a header id, an
# IAL after a span, an extension that wraps text, and one that stands alone.
_BLOCK_IAL = re.compile(r"^ {0,3}\{:(?!:)([^}]*)\}\s*$")
_ALD = re.compile(r"^ {0,3}\{:[\w-]+:[^}]*\}\s*$")
_HEADER_ID = re.compile(r"^(#{1,6}[ \t].*?)[ \t]+\{#([\w-]+)\}[ \t]*#*[ \t]*$")
# A span IAL stands right after the span it decorates: a link, image, emphasis or code.
_SPAN_IAL = re.compile(r"(?<=[)\]*_`>])\{:(?!:)[^}\n]*\}")
_OPEN_SPAN_IAL = re.compile(r"(?<=[)\]*_`>])\{:(?!:)[^}]*$")
# `](address with spaces)` or `](address with spaces "title")`.
_SPACED_DESTINATION = re.compile(
    r"""\]\(([^()<>"'\s]+(?:[ \t][^()<>"'\s]+)+)(\s+"[^"]*"|\s+'[^']*')?\)"""
)
# A link definition; indented four spaces, it would be code.
_LINK_DEFINITION = re.compile(r"^ {0,3}\[([^\]\n]+)\]:[ \t]*\S")
# A line that starts with a tag, which kramdown may read as raw HTML.
_LINE_TAG = re.compile(r"^ {0,3}<[a-zA-Z/]", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_WRAPPING_START = re.compile(r"\{::(comment|nomarkdown)[^}]*\}")
_WRAPPING_END = {name: re.compile(rf"\{{:/(?:{name})?\}}") for name in ("comment", "nomarkdown")}
_STANDALONE = re.compile(r"\{::\w+[^}]*/\}")
# Block elements that kramdown reads as one raw HTML block, blank lines and all.
_BLOCK_ELEMENTS = (
    "address|article|aside|audio|blockquote|canvas|center|details|dialog|div|dl|fieldset|"
    "figure|footer|form|header|iframe|main|nav|noscript|object|ol|section|svg|table|ul|video"
)
_BLOCK_HTML = re.compile(rf"^ {{0,3}}<({_BLOCK_ELEMENTS})\b[^>]*>", re.IGNORECASE)
_BLOCK_TAG = re.compile(rf"<(/?)({_BLOCK_ELEMENTS})\b[^>]*?(/?)>", re.IGNORECASE)
# A span element alone on its line, such as `<br/>`.
_SPAN_TAG_LINE = re.compile(
    r"^ {0,3}</?(a|abbr|b|br|cite|code|em|i|img|kbd|mark|q|s|small|span|strong|sub|sup|u|wbr)"
    r"\b[^>]*>\s*$",
    re.IGNORECASE,
)
# cmark's footnote anchors: fn-1, fnref-1, and fnref-1-2 for the second reference to one
# note, which kramdown writes fn:1, fnref:1 and fnref:1:1.
_FOOTNOTE_ANCHOR = re.compile(r'(href="#|id=")(fn|fnref)-([^"]+?)(?:-(\d+))?"')
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s+")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
# What the source's kramdown syntax leaves for after cmark: attributes on a heading, the
# table of contents, and raw HTML kept whole (U+E002..U+E005 are private-use characters).
_HEADING_ATTRS = re.compile("\ue004([^\ue005]*)\ue005")
_TOC = re.compile(r"(?:<p>)?\ue002(ul|ol)\ue003(?:</p>)?")
_RAW = re.compile("(?:<p>)?\ue006(\\d+)\ue007(?:</p>)?")
_IAL_ID = re.compile(r"#([\w-]+)")
_IAL_CLASS = re.compile(r"\.([\w-]+)")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


def markdown_to_html(text: str, *, kramdown: str | None = None, raw: Sequence[str] = ()) -> str:
    """A fragment of Markdown (an excerpt, a summary, `markdownify`) as HTML."""
    content, _ = to_html(text, kramdown=kramdown, raw=raw)
    return content


def to_html(
    text: str, *, kramdown: str | None = None, raw: Sequence[str] = ()
) -> tuple[str, tuple[Heading, ...]]:
    """A post's Markdown as HTML, and its headings with their ids.

    `kramdown` is a Jekyll site's kramdown input ("GFM" or "kramdown"), None for GFM. `raw`
    is finished HTML (highlighted code) that the text holds as `raw_placeholder`s."""
    text = without_forbidden_references(text)
    marked = False
    if kramdown is None:
        source, raw, (options, extensions) = text, list(raw), _GFM
    else:
        source, raw = _kramdown_syntax(text, list(raw))
        marked = "<h" in source or "<H" in source
        options, extensions = _KRAMDOWN if marked else _KRAMDOWN_WITHOUT_POSITIONS
    content = cmarkgfm.cmark.markdown_to_html_with_extensions(
        source, options=options, extensions=extensions
    )
    if kramdown is not None and "footnote" in content:
        content = _FOOTNOTE_ANCHOR.sub(_kramdown_footnote, content)
    gfm_ids = kramdown is None or kramdown.upper() == "GFM"
    content, headings, hidden = _add_heading_ids(content, gfm=gfm_ids, only_made=marked)
    if marked:
        content = _SOURCEPOS.sub("", content)
    if "\ue002" in content:
        content = _TOC.sub(lambda m: _toc(headings, hidden, m.group(1)), content)
    return restore_raw(content, raw), headings


def raw_placeholder(index: int) -> str:
    """What stands for the `index`th block of raw HTML until Markdown is done."""
    return f"\ue006{index}\ue007"


def restore_raw(content: str, raw: Sequence[str]) -> str:
    """Each block of raw HTML where its placeholder stands, in place of its paragraph."""
    return _RAW.sub(lambda m: raw[int(m.group(1))], content) if raw else content


def _kramdown_footnote(match: re.Match[str]) -> str:
    attribute, kind, label, repeat = match.groups()
    if repeat and kind == "fnref":
        return f'{attribute}fnref:{label}:{int(repeat) - 1}"'
    return f'{attribute}{kind}:{label}{"-" + repeat if repeat else ""}"'


def smartify(text: str) -> str:
    """Plain text with kramdown's smart quotes and dashes, as Jekyll's smartify filter."""
    escaped = re.sub(r"([!#$%&()*+/:;<=>?@\[\\\]^_`{|}~])", r"\\\1", text)
    rendered = cmarkgfm.cmark.markdown_to_html(escaped, options=Options.CMARK_OPT_SMART)
    return html.unescape(HTML_TAG.sub("", rendered)).strip()


def _kramdown_syntax(text: str, raw: list[str]) -> tuple[str, list[str]]:
    """The source with kramdown's own syntax turned into what cmark keeps or drops, and the
    raw HTML that kramdown keeps whole (`{::nomarkdown}`, HTML blocks with blank lines),
    which stands as placeholders until after cmark."""
    if not _has_kramdown_syntax(text):
        return text, raw

    text = _STANDALONE.sub("", _wrapping_extensions(text, raw)) if "{::" in text else text
    lines = text.split("\n")
    if "]:" in text:
        lines = _last_definitions(lines)
    spaced = "](" in text and _SPACED_DESTINATION.search(text) is not None
    return "\n".join(_KramdownLines(lines, raw, spaced=spaced).rewrite()), raw


class _KramdownLines:
    """One pass over a post's lines outside code, rewriting kramdown's syntax line by line."""

    def __init__(self, lines: list[str], raw: list[str], *, spaced: bool) -> None:
        self.lines = lines
        self.raw = raw
        self.spaced = spaced
        self.out: list[str] = []
        self.fence = ""
        self.indented = False
        self.html_blocks = _html_blocks(lines) if any("<" in line for line in lines) else {}

    def rewrite(self) -> list[str]:
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            index = index + 1 if self._is_code(line) else self._rewrite(index, line)
        return self.out

    def _is_code(self, line: str) -> bool:
        """Whether the line is code (kept as it is): in a fence, or in an indented block,
        which starts after a blank line and goes on while lines are indented or blank."""
        out = self.out
        self.indented = bool(_INDENTED.match(line)) and (
            self.indented or not out or not out[-1].strip()
        )
        opening = _FENCE.match(line)
        if self.indented or (not line.strip() and out and _INDENTED.match(out[-1])):
            pass
        elif self.fence:
            if opening and opening.group(1).startswith(self.fence):
                self.fence = ""
        elif opening:
            self.fence = opening.group(1)
        else:
            return False
        out.append(line)
        return True

    def _rewrite(self, index: int, line: str) -> int:
        """Rewrite the line at `index` (and the lines it takes with it); the next index."""
        following = self.lines[index + 1] if index + 1 < len(self.lines) else None
        ial = "{:" in line
        if ial and _ALD.match(line):
            return index + 1
        if (
            ial
            and following
            and "}" in following
            and len(line) < 1000
            and _OPEN_SPAN_IAL.search(line)
        ):
            # A span IAL that goes on to the next line (and ends there).
            self.lines[index + 1] = f"{line} {following}"
            return index + 1
        tag = line.lstrip(" ").startswith("<")
        if tag and following and following.strip() and _SPAN_TAG_LINE.match(line):
            # kramdown starts a paragraph with it; cmark would make the lines after it raw
            # HTML, links and all.
            self.out.append(f"{line.rstrip()} {following}")
            return index + 2
        end = self.html_blocks.get(index) if tag else None
        if end is not None:
            self.raw.append("\n".join(self.lines[index : end + 1]))
            self.out.extend(["", raw_placeholder(len(self.raw) - 1), ""])
            return end + 1
        block = _BLOCK_IAL.match(line) if ial else None
        if block:
            _apply_block_ial(block.group(1), self.out)
            return index + 1
        header = _HEADER_ID.match(line) if "{#" in line else None
        if header:
            line = f"{header.group(1)} \ue004#{header.group(2)}\ue005"
        if self.spaced and "](" in line:
            line = _spaced_destinations(line)
        self.out.append(_without_span_ials(line) if "{:" in line else line)
        return index + 1


def _wrapping_extensions(text: str, raw: list[str]) -> str:
    """The text without `{::comment}...{:/}`, and with each `{::nomarkdown}...{:/}` as a
    placeholder of its raw HTML. One pass: an extension never closed ends the search for
    its kind, so a post of unclosed openings costs no more than one of text."""
    pieces: list[str] = []
    position = 0
    unclosed: set[str] = set()
    while match := _WRAPPING_START.search(text, position):
        kind = match.group(1)
        end = None if kind in unclosed else _WRAPPING_END[kind].search(text, match.end())
        if end is None:
            unclosed.add(kind)
            pieces.append(text[position : match.end()])
            position = match.end()
            if len(unclosed) == len(_WRAPPING_END):
                break
            continue
        pieces.append(text[position : match.start()])
        if kind == "nomarkdown":
            raw.append(text[match.end() : end.start()])
            pieces.append(raw_placeholder(len(raw) - 1))
        position = end.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _has_kramdown_syntax(text: str) -> bool:
    """Whether the text holds anything `_kramdown_syntax` changes, found without going
    through it line by line (most posts hold none of it)."""
    if "{:" in text or "{#" in text or "]:" in text:
        return True
    if "<" in text and _LINE_TAG.search(text):
        return True
    return "](" in text and _SPACED_DESTINATION.search(text) is not None


def _last_definitions(lines: list[str]) -> list[str]:
    """The lines without link definitions that a later one of the same label replaces:
    kramdown keeps the last definition, CommonMark the first."""
    definitions: dict[int, str] = {}
    fence = ""
    for index, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence or opening:  # code: `[17:03:54]: Done` in a log is no definition
            if opening and (not fence or opening.group(1).startswith(fence)):
                fence = "" if fence else opening.group(1)
            continue
        definition = _LINK_DEFINITION.match(line)
        if definition:
            definitions[index] = definition.group(1).casefold()
    last = {label: index for index, label in definitions.items()}
    if len(last) == len(definitions):
        return lines
    return [
        line
        for index, line in enumerate(lines)
        if index not in definitions or last[definitions[index]] == index
    ]


def _spaced_destinations(line: str) -> str:
    """Links and images whose address holds spaces, which kramdown takes and CommonMark
    takes only in angle brackets: `![x](My Photo.png)` becomes `![x](<My Photo.png>)`."""
    code = [span.span() for span in _CODE_SPAN.finditer(line)]

    def bracket(match: re.Match[str]) -> str:
        if any(start < match.start() < end for start, end in code):
            return match.group(0)
        return f"]({'<' + match.group(1).strip() + '>'}{match.group(2) or ''})"

    return _SPACED_DESTINATION.sub(bracket, line)


def _without_span_ials(line: str) -> str:
    """The line without span IALs, except inside code spans (where `{:ok, 1}` is Elixir)."""
    code = [span.span() for span in _CODE_SPAN.finditer(line)]

    def drop(match: re.Match[str]) -> str:
        inside = any(start < match.start() < end for start, end in code)
        return match.group(0) if inside else ""

    return _SPAN_IAL.sub(drop, line)


def _html_blocks(lines: list[str]) -> dict[int, int]:
    """Where each raw HTML block that kramdown reads whole and cmark would not ends, by the
    line it starts on: a block element at the start of a line, holding a blank line before
    its closing tag. One pass pairs each element's tags, as brackets are paired."""
    blanks = [0]
    for line in lines:
        blanks.append(blanks[-1] + (not line.strip()))
    opened: dict[str, list[tuple[int, bool]]] = {}
    ends: dict[int, int] = {}
    for index, line in enumerate(lines):
        if "<" not in line:
            continue
        block = _BLOCK_HTML.match(line)
        starts = block is not None and not re.search(r"\bmarkdown\s*=", line)
        for tag in _BLOCK_TAG.finditer(line):
            if tag.group(3):  # self-closing
                continue
            name = tag.group(2).lower()
            if not tag.group(1):
                first = starts and tag.start() == block.start(1) - 1
                opened.setdefault(name, []).append((index, first))
            elif opened.get(name):
                start, first = opened[name].pop()
                if first and blanks[index + 1] > blanks[start]:
                    ends[start] = index
    return ends


def _apply_block_ial(attributes: str, out: list[str]) -> None:
    """A block IAL on its own line: a table of contents after a list item, attributes for
    the heading above, nothing for other blocks (classes and styles mean nothing in a feed)."""
    if re.search(r"(?:^|\s)toc(?:\s|$)", attributes.strip()):
        if out and _LIST_ITEM.match(out[-1]):
            ordered = out[-1].lstrip()[0].isdigit()
            out[-1] = "\ue002" + ("ol" if ordered else "ul") + "\ue003"
        return
    if not out or not out[-1].strip():
        return  # before a block: kramdown applies it to the next one; ids of paragraphs only
    target = len(out) - 1
    if _SETEXT.match(out[-1]) and len(out) > 1:
        target -= 1
    elif not out[target].lstrip().startswith("#"):
        return
    out[target] = f"{out[target].rstrip()} \ue004{attributes.strip()}\ue005"


def _add_heading_ids(
    content: str, *, gfm: bool, only_made: bool
) -> tuple[str, tuple[Heading, ...], frozenset[int]]:
    """Give each heading the id kramdown gives it, so anchors match the pages Jekyll builds;
    with `only_made`, only those Markdown made (marked with their source position).

    Returns the HTML, the headings, and which of them a `.no_toc` class keeps out of a table
    of contents."""
    used: dict[str, int] = {}
    headings: list[Heading] = []
    hidden: set[int] = set()

    def with_id(match: re.Match[str]) -> str:
        level, made, inner = int(match.group(1)), match.group(2), match.group(3)
        if only_made and not made:
            return match.group(0)
        attributes = ""
        marked = _HEADING_ATTRS.search(inner)
        if marked:
            attributes = marked.group(1)
            inner = (inner[: marked.start()] + inner[marked.end() :]).rstrip()
        text = html.unescape(HTML_TAG.sub("", inner)).strip()
        given = _IAL_ID.search(attributes) if attributes else None
        if given:
            anchor = given.group(1)
        else:
            anchor = _unique(gfm_id(text) if gfm else kramdown_id(text), used)
        if attributes and "no_toc" in _IAL_CLASS.findall(attributes):
            hidden.add(len(headings))
        headings.append(Heading(level, " ".join(text.split()), anchor))
        return f'<h{level} id="{html.escape(anchor, quote=True)}">{inner}</h{level}>'

    return _HEADING.sub(with_id, content), tuple(headings), frozenset(hidden)


def _unique(anchor: str, used: dict[str, int]) -> str:
    """The second heading of one id gets "-1", the third "-2", as both kramdown parsers do."""
    if anchor in used:
        used[anchor] += 1
        return f"{anchor}-{used[anchor]}"
    used[anchor] = 0
    return anchor


def gfm_id(text: str) -> str:
    """kramdown's GFM parser's id: lower case, with every character but letters, marks,
    digits, connector punctuation, hyphens and spaces removed, and spaces as hyphens."""
    if text.isascii():
        # The same rule, read by a regex: in ASCII only letters, digits and "_" are kept.
        return _NOT_ASCII_ID.sub("", text.lower()).replace(" ", "-").replace("\t", "-")
    kept = (
        char
        for char in text.lower()
        if char in "- \t"
        or unicodedata.category(char)[0] in "LM"
        or unicodedata.category(char) in ("Nd", "Pc")
    )
    return "".join(kept).replace(" ", "-").replace("\t", "-")


def kramdown_id(text: str) -> str:
    """kramdown's own parser's id: ASCII letters, digits and hyphens, lower case."""
    anchor = re.sub(r"^[^a-zA-Z]+", "", text)
    anchor = re.sub(r"[^a-zA-Z0-9 -]", "", anchor).replace(" ", "-").lower()
    return anchor or "section"


def _toc(headings: tuple[Heading, ...], hidden: frozenset[int], tag: str) -> str:
    """kramdown's table of contents: nested lists of links to the headings."""
    entries = [h for index, h in enumerate(headings) if index not in hidden]
    if not entries:
        return ""
    parts = [f'<{tag} id="markdown-toc">']
    levels = [entries[0].level]
    for number, heading in enumerate(entries):
        if number:
            if heading.level > levels[-1]:
                parts.append(f"<{tag}>")
                levels.append(heading.level)
            else:
                parts.append("</li>")
                while len(levels) > 1 and heading.level < levels[-1]:
                    parts.append(f"</{tag}></li>")
                    levels.pop()
        anchor = html.escape(heading.id, quote=True)
        parts.append(
            f'<li><a href="#{anchor}" id="markdown-toc-{anchor}">{html.escape(heading.text)}</a>'
        )
    parts.append("</li>")
    parts.extend(f"</{tag}></li>" for _ in levels[1:])
    parts.append(f"</{tag}>")
    return "\n".join(parts)
