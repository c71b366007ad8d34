"""What a plan would spend, and which fields of each outdated row changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from heyrender.campaign.cost import Estimate
from heyrender.campaign.fields import changed_paths
from heyrender.campaign.rows import Desired
from heyrender.state.lockfile import Entry

Changes = Mapping[str, tuple[str, ...] | None]


def estimate(rows: Iterable[Desired], keys: Iterable[str]) -> Estimate:
    """The estimate for these rows of the campaign (rows without a body are left out)."""
    wanted = set(keys)
    return Estimate.of(row.cost for row in rows if row.key in wanted and row.cost is not None)


def changed_fields(
    rows: Iterable[Desired], entries: Mapping[str, Entry], keys: Iterable[str]
) -> dict[str, tuple[str, ...] | None]:
    """For each of these keys, the field paths whose values changed since the row was sent.

    None where the lockfile has no field hashes for the row (sent by an older heyrender).
    """
    wanted = set(keys)
    out: dict[str, tuple[str, ...] | None] = {}
    for row in rows:
        if row.key not in wanted:
            continue
        entry = entries.get(row.key)
        recorded = entry.fields if entry is not None else None
        out[row.key] = changed_paths(recorded, row.fields) if recorded is not None else None
    return out
