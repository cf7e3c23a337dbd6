"""Repairs for text damaged on its way into a post, and slugs that are safe in paths and URLs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# A UTF-8 lead byte read as Latin-1/cp1252 (Â..ô) followed by a continuation byte read the
# same way. Clean text almost never has this pair, so only matching lines go through ftfy.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
# Everything outside XML 1.0's Char production (tab, newline and carriage return are allowed),
# listed rather than complemented: the complement is slow to compile at every start.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A tag of HTML, to take out of text.
HTML_TAG = re.compile(r"<[^>]+>")
# Ruby's \s, which Jekyll's normalize_whitespace collapses: a no-break space is not one.
ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")


@dataclass(frozen=True)
class Repair:
    """One line that was changed, and why."""

    line: int
    kind: str
    before: str
    after: str


def repair(text: str) -> tuple[str, list[Repair]]:
    """Fix mojibake and strip characters XML forbids, line by line; clean lines stay as they are."""
    if _is_clean(text):
        return text, []
    lines = text.split("\n")
    repairs: list[Repair] = []
    for number, line in enumerate(lines, start=1):
        fixed = line
        if _NOT_XML.search(fixed):
            fixed = _NOT_XML.sub("", fixed)
            repairs.append(Repair(number, "control", line, fixed))
        if _MOJIBAKE_HINT.search(fixed):
            import ftfy

            unbroken = ftfy.fix_encoding(fixed)
            if unbroken != fixed:
                repairs.append(Repair(number, "mojibake", fixed, unbroken))
                fixed = unbroken
        lines[number - 1] = fixed
    return "\n".join(lines), repairs


def _is_clean(text: str) -> bool:
    """True when `repair` would change nothing: the common case, checked before any line is."""
    if _NOT_XML.search(text):
        return False
    return text.isascii() or not _MOJIBAKE_HINT.search(text)


def strip_forbidden(text: str) -> str:
    """Drop characters that XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def forbidden_references(text: str) -> list[tuple[int, str]]:
    """(line, reference) for each HTML character reference, such as `&#x1;`, to a character
    XML cannot carry (see `without_forbidden_references`)."""
    found = []
    for match in _CHARACTER_REFERENCE.finditer(text) if "&#" in text else ():
        if _forbidden(match):
            found.append((text.count("\n", 0, match.start()) + 1, match.group()))
    return found


def without_forbidden_references(text: str) -> str:
    """The text without those references: rendered, they would break every feed."""
    if "&#" not in text:
        return text
    return _CHARACTER_REFERENCE.sub(lambda m: "" if _forbidden(m) else m.group(), text)


def _forbidden(reference: re.Match[str]) -> bool:
    hexadecimal, decimal = reference.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return code > 0x10FFFF or bool(_NOT_XML.match(chr(code)))


# A slug names a folder: file systems take 255 bytes a name, and readers want short URLs.
MAX_SLUG_BYTES = 100


def slugify(name: str) -> str:
    """Lower-case words joined by hyphens; letters of any script are kept, so no tag is dropped.

    A slug longer than MAX_SLUG_BYTES in UTF-8 is cut, and a short hash of the whole keeps it
    apart from others cut the same way."""
    normal = unicodedata.normalize("NFKC", name).casefold()
    slug = "-".join(re.findall(r"[^\W_]+", normal))
    data = slug.encode()
    if len(data) <= MAX_SLUG_BYTES:
        return slug
    cut = data[: MAX_SLUG_BYTES - 7].decode(errors="ignore").rstrip("-")
    return f"{cut}-{hashlib.sha1(data).hexdigest()[:6]}"


# What ends or bends a mail header's line: C0 and C1 controls (NEL among them), DEL,
# Unicode's line and paragraph separators, and what XML refuses too (surrogates left by
# bytes that were not UTF-8, noncharacters).
_HEADER_BREAKER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = "\r\n\x85\u2028\u2029"
# RFC 2047's encoded word: a mail program would decode it, line breaks and all.
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def header_problem(value: str) -> str | None:
    """Why the text cannot go into a mail header as it is, or None when it can: a header
    carries text, never a control character or a pre-encoded word that could forge another."""
    breaker = _HEADER_BREAKER.search(value)
    if breaker:
        char = breaker.group()
        if char in _LINE_BREAKS:
            return "contains a line break"
        return f"contains the control character U+{ord(char):04X}, which mail cannot carry"
    if _ENCODED_WORD.search(value):
        return "contains an RFC 2047 encoded word (=?...?=); write the text itself"
    return None


def normalize_whitespace(text: str) -> str:
    """Jekyll's normalize_whitespace: each run of white space one space, the ends trimmed."""
    return ASCII_SPACE.sub(" ", text).strip()


def line_safe(text: str) -> str:
    """Text from someone else (a remote feed's title) made fit for one line of a header:
    every control and line separator a space, no encoded word, white space collapsed."""
    text = _ENCODED_WORD.sub("", _HEADER_BREAKER.sub(" ", text))
    return normalize_whitespace(text.replace("\u00a0", " "))
