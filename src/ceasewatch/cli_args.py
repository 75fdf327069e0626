"""Arguments every command reads the same way: a theater directory, a time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ceasewatch.errors import InvalidInput, NotFound

__all__ = ["theater_dir", "time_arg"]


def theater_dir(value: str | Path) -> Path:
    """A theater directory argument; the word `demo` names the bundled demo theater."""
    if str(value) == "demo":
        from ceasewatch.demo import demo_theater_dir

        return demo_theater_dir()
    path = Path(value)
    if not path.exists():
        raise NotFound(f"theater {value}: no such directory (or use `demo` for the bundled one)")
    return path


def time_arg(value: str, flag: str) -> datetime:
    """A time option: ISO 8601 with a UTC offset, refused (naming the option) otherwise."""
    from ceasewatch.records import parse_time

    try:
        return parse_time(value)
    except ValueError as exc:
        raise InvalidInput(f"{flag}: {exc}") from None
