"""A request body as field paths: for naming what changed between two renderings of a row.

`voice_settings.speed`, `background.value`, `caption.0`: every leaf value gets a dotted path.
The lockfile keeps a short hash per path (`fields`), so plan can name the fields of an
outdated row that changed without storing the old body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

HASH_LENGTH = 8


def leaves(body: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(body, Mapping) and body:
        for name, value in body.items():
            yield from leaves(value, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(body, list) and body:
        for index, value in enumerate(body):
            yield from leaves(value, f"{prefix}.{index}" if prefix else str(index))
    elif prefix:
        yield prefix, body


def flatten(body: Mapping[str, Any]) -> dict[str, Any]:
    return dict(leaves(body))


def value_hash(value: Any) -> str:
    canonical = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def field_hashes(body: Mapping[str, Any]) -> dict[str, str]:
    """What the lockfile records for a submitted body: {path: 8 hex digits}, sorted by path."""
    return {path: value_hash(value) for path, value in sorted(leaves(body))}


def changed_paths(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    """Paths added, removed or changed between two field-hash maps, sorted."""
    return tuple(sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path)))


ABSENT: Any = None


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any  # None when the field was absent
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class RowChange:
    key: str
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class CampaignDiff:
    changed: tuple[RowChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.changed or self.added or self.removed)


def compare(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> CampaignDiff:
    """Two renderings of a campaign, body by key: rows changed field by field, added, removed."""
    changed: list[RowChange] = []
    unchanged = 0
    for key in sorted(old.keys() & new.keys()):
        before, after = flatten(old[key]), flatten(new[key])
        paths = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        if paths:
            fields = (FieldChange(p, before.get(p, ABSENT), after.get(p, ABSENT)) for p in paths)
            changed.append(RowChange(key, tuple(fields)))
        else:
            unchanged += 1
    return CampaignDiff(
        tuple(changed),
        tuple(sorted(new.keys() - old.keys())),
        tuple(sorted(old.keys() - new.keys())),
        unchanged,
    )
