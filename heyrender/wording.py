"""Small rules of English shared by every message: counts with their nouns, long lists cut."""

from __future__ import annotations

from collections.abc import Sequence


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 row`, `2 rows`, `10,000 rows`."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def first_few(items: Sequence[object], shown: int = 5) -> str:
    """`2, 3, 4, 5, 6 and 195 more`: a message names a few and counts the rest."""
    text = ", ".join(map(str, items[:shown]))
    return text + (f" and {len(items) - shown:,} more" if len(items) > shown else "")
