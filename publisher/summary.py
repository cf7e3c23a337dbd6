"""The line a build or a check ends with. It imports nothing, so that a build with nothing to
do prints it before the rest of publisher loads (publisher/shortcut.py)."""

from __future__ import annotations


def build_line(
    verb: str,
    counts: dict[str, int | bool] | None,
    *,
    written: int,
    unchanged: int,
    removed: int,
    errors: int,
    warnings: int,
    seconds: float,
) -> str:
    """One line a CI log can be read by: what was read, what was written, how long it took.
    `counts` are those of feeds/build.py's Counts."""
    parts = []
    if counts:
        parts.append(count(counts["published"], "post"))
        if counts["drafts"]:
            parts.append(f"{counts['drafts']} left out as drafts")
        if counts["future"]:
            parts.append(f"{counts['future']} scheduled for later")
        if not counts["site_feed"]:
            parts.append("no feeds (the newsletter's posts come from the sources)")
        else:
            feeds = 1 + counts["category_feeds"] + counts["tag_feeds"]
            parts.append(
                f"{count(feeds, 'feed')} ({counts['category_feeds']} by category, "
                f"{counts['tag_feeds']} by tag), "
                f"{count(counts['site_entries'], 'entry', 'entries')} in the site feed"
            )
        if written or unchanged:
            files = f"{written} files written, {unchanged} unchanged"
            if removed:
                files += f", {removed} stale removed"
            parts.append(files)
    parts.append(f"{count(errors, 'error')}, {count(warnings, 'warning')}")
    return f"{verb}: " + "; ".join(parts) + f" in {seconds:.2f} s"


def count(number: int, noun: str, plural: str = "") -> str:
    """`1 post`, `2 posts`."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"
