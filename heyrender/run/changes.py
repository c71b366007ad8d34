"""What a plan would spend, and which fields of each outdated row changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from heyrender.campaign.cost import Estimate
from heyrender.campaign.expand import Expansion
from heyrender.campaign.fields import changed_paths, field_hashes
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.rows import Desired, Rows
from heyrender.state.view import recorded_rows

Changes = Mapping[str, tuple[str, ...] | None]


def estimate(rows: Iterable[Desired], keys: Iterable[str]) -> Estimate:
    """The estimate for these rows of the campaign (rows without a body are left out)."""
    if isinstance(rows, Rows):
        return Estimate.of(rows.costs(keys))
    wanted = set(keys)
    return Estimate.of(row.cost for row in rows if row.key in wanted and row.cost is not None)


def recorded_fields(manifest: Manifest, keys: Iterable[str]) -> dict[str, dict[str, str] | None]:
    """The field hashes the lockfile (and journal) hold for these keys.

    Plan's lean view of the lockfile keeps only key, request and status of a completed row,
    so the fields of the outdated rows it names are read here, and only theirs.
    """
    rows = recorded_rows(manifest.lockfile_path, manifest.path.name, set(keys))
    return {key: row.get("fields") for key, row in rows.items()}


def current_fields(
    manifest: Manifest, keys: Iterable[str], rows: Rows
) -> dict[str, dict[str, str]]:
    """The field hashes of these rows as they render now: the CSV read again, rendering only
    their lines (the packed rows keep no bodies), made only when some rows are outdated."""
    wanted = set(keys)
    if not wanted:
        return {}
    lines = frozenset(
        line for key, line in zip(rows.keys, rows.lines, strict=True) if key in wanted
    )
    expansion = Expansion(manifest, only_lines=lines)
    return {
        row.key: field_hashes(row.body)
        for row in expansion
        if row.key in wanted and row.body is not None
    }


def changed_fields(
    current: Mapping[str, Mapping[str, str]],
    recorded: Mapping[str, Mapping[str, str] | None],
    keys: Iterable[str],
) -> dict[str, tuple[str, ...] | None]:
    """For each of these keys, the field paths whose values changed since the row was sent.

    None where the lockfile has no field hashes for the row (sent by an older heyrender).
    """
    out: dict[str, tuple[str, ...] | None] = {}
    for key in keys:
        old = recorded.get(key)
        out[key] = changed_paths(old, current.get(key, {})) if old is not None else None
    return out
