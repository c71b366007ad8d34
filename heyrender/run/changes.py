"""What a plan would spend, and which fields of each outdated row changed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from heyrender.campaign.cost import Estimate
from heyrender.campaign.fields import changed_paths
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.rows import Desired
from heyrender.state.view import recorded

Changes = Mapping[str, tuple[str, ...] | None]


def estimate(rows: Iterable[Desired], keys: Iterable[str]) -> Estimate:
    """The estimate for these rows of the campaign (rows without a body are left out)."""
    wanted = set(keys)
    return Estimate.of(row.cost for row in rows if row.key in wanted and row.cost is not None)


def recorded_fields(manifest: Manifest, keys: Iterable[str]) -> dict[str, dict[str, str] | None]:
    """The field hashes the lockfile (and journal) hold for these keys, in one streamed pass.

    Plan's lean view of the lockfile keeps only key, request and status of a completed row,
    so the fields of the outdated rows are read here, and only theirs.
    """
    wanted = set(keys)
    if not wanted:
        return {}

    def pick(batches: Iterator[list[dict[str, Any]]]) -> dict[str, dict[str, str] | None]:
        return {
            row["key"]: row.get("fields")
            for batch in batches
            for row in batch
            if row["key"] in wanted
        }

    return recorded(manifest.lockfile_path, manifest.path.name, pick)


def changed_fields(
    rows: Iterable[Desired],
    recorded: Mapping[str, Mapping[str, str] | None],
    keys: Iterable[str],
) -> dict[str, tuple[str, ...] | None]:
    """For each of these keys, the field paths whose values changed since the row was sent.

    None where the lockfile has no field hashes for the row (sent by an older heyrender).
    """
    wanted = set(keys)
    out: dict[str, tuple[str, ...] | None] = {}
    for row in rows:
        if row.key not in wanted:
            continue
        old = recorded.get(row.key)
        out[row.key] = changed_paths(old, row.fields) if old is not None else None
    return out
