"""Jekyll's front matter defaults: the `defaults:` of _config.yml, chosen for a post by the
scopes they name (a path, a type), the narrowest winning, as Jekyll's FrontmatterDefaults."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from publisher.site.config import JekyllOptions


def defaults_for(jekyll: JekyllOptions, root: Path, relative: str) -> dict[str, Any]:
    """The values Jekyll's defaults give the post at `relative` (a site-relative path)."""
    merged: dict[str, Any] = {}
    winner: dict[str, Any] | None = None
    for default in jekyll.defaults:
        scope = default.get("scope")
        scope = scope if isinstance(scope, dict) else {}
        if not _applies(scope, root, relative):
            continue
        if _has_precedence(winner, scope):
            merged = deep_merge(merged, default["values"])
            winner = scope
        else:
            merged = deep_merge(default["values"], merged)
    return merged


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, mappings merged key by key, as Jekyll's deep_merge_hashes."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _applies(scope: dict[str, Any], root: Path, relative: str) -> bool:
    kind = scope.get("type")
    if kind is not None and str(kind) not in ("posts", "post"):
        return False
    path = scope.get("path")
    if not isinstance(path, str) or not path:
        return True
    if "*" in path:
        return any(relative.startswith(match) for match in _glob(root, path))
    return relative.startswith(_sanitized(path))


@cache
def _glob(root: Path, pattern: str) -> tuple[str, ...]:
    return tuple(path.relative_to(root).as_posix() for path in root.glob(pattern.lstrip("/")))


def _sanitized(path: Any) -> str:
    text = str(path or "")
    return text.lstrip("/") if text.startswith("/") else text


def _has_precedence(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Jekyll's rule: a longer path wins; at the same length, a scope naming a type."""
    if old is None:
        return True
    new_path, old_path = _sanitized(new.get("path")), _sanitized(old.get("path"))
    if len(new_path) != len(old_path):
        return len(new_path) >= len(old_path)
    return "type" in new or "type" not in old
