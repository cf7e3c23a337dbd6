"""Problems found in a site's posts and configuration, collected so a run reports them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file; `hint` tells the writer what to do about it."""

    level: Level
    path: str
    message: str
    line: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.level}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass
class Problems:
    """Collects problems from every file instead of stopping at the first."""

    items: list[Problem] = field(default_factory=list)

    def error(
        self, path: str | Path, message: str, line: int | None = None, hint: str = ""
    ) -> None:
        self.items.append(Problem("error", str(path), message, line, hint))

    def warning(
        self, path: str | Path, message: str, line: int | None = None, hint: str = ""
    ) -> None:
        self.items.append(Problem("warning", str(path), message, line, hint))

    def extend(self, problems: list[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.level == "warning"]

    def sorted(self) -> list[Problem]:
        return sorted(self.items, key=lambda p: (p.path, p.line or 0, p.level, p.message))


class SiteError(Exception):
    """Raised when a run cannot go on; carries every problem found so far."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(f"{len(problems.errors)} error(s)")
        self.problems = problems


class Refusal(Exception):
    """A run that cannot go on for a reason outside the posts; the message says what to do."""

    # The command-line argument refused, when the reason is one (a usage error, then).
    argument: str | None = None
