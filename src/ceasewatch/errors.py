"""The one exception tree of ceasewatch.

    CeasewatchError
      InvalidInput      bad file, row, field, geometry: says where and what to do
      NotFound
      Conflict
      IntegrityError    hash, Merkle proof or signature does not check out
      AccessDenied

Every error explains itself to a user through `diagnostics()`; the CLI catches
`CeasewatchError` in exactly one place and prints that text.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessDenied",
    "CeasewatchError",
    "Conflict",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "Problem",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it.

    Attributes:
        where: the file and line, feature or field ("sightings.csv:14 bearing_deg").
        what: what is wrong and, where it can, what would be right.
        severity: "error" (the input is refused) or "warning" (accepted, but look at it).
    """

    where: str
    what: str
    severity: str = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.where}: {tag}{self.what}"


class CeasewatchError(Exception):
    """Base of every error ceasewatch raises on purpose."""

    def diagnostics(self, limit: int | None = None) -> str:
        """A text for the user: what went wrong and what to do (at most `limit` details)."""
        return str(self)


class InvalidInput(CeasewatchError):
    """An input (file, row, field, geometry) is wrong. Carries every problem found."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems or [])

    def diagnostics(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [self.message, *(f"  {p}" for p in shown)]
        if len(shown) < len(self.problems):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more like these")
        return "\n".join(lines)


class NotFound(CeasewatchError):
    """A thing asked for does not exist (file, record, org)."""


class Conflict(CeasewatchError):
    """The request contradicts what is already recorded."""


class IntegrityError(CeasewatchError):
    """A hash, Merkle proof or signature does not check out."""


class AccessDenied(CeasewatchError):
    """The caller may not do this."""
