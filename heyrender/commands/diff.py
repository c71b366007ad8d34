"""`heyrender diff MANIFEST --against REV`: the campaign then and now, field by field."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from heyrender.campaign.expand import Expansion
from heyrender.campaign.fields import CampaignDiff, compare
from heyrender.campaign.gitrev import manifest_at
from heyrender.campaign.manifest import Manifest
from heyrender.errors import InputError


def bodies(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Every row's rendered body by key (a row that could not render has an empty body)."""
    expansion = Expansion(manifest)
    out = {row.key: row.body or {} for row in expansion}
    expansion.check_keys()
    return out


def shown(value: Any) -> str:
    if value is None:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False)


def diff_text(result: CampaignDiff, title: str) -> Iterable[str]:
    yield (
        f"{title}: {len(result.changed):,} changed, {len(result.added):,} added, "
        f"{len(result.removed):,} removed, {result.unchanged:,} unchanged"
    )
    for row in result.changed:
        yield ""
        yield f"~ {row.key}"
        for change in row.fields:
            yield f"    {change.path}"
            yield f"      - {shown(change.old)}"
            yield f"      + {shown(change.new)}"
    if result.added:
        yield ""
        yield from (f"+ {key}" for key in result.added)
    if result.removed:
        yield ""
        yield from (f"- {key}" for key in result.removed)


def diff_json(result: CampaignDiff, against: str) -> str:
    return json.dumps(
        {
            "against": against,
            "summary": {
                "changed": len(result.changed),
                "added": len(result.added),
                "removed": len(result.removed),
                "unchanged": result.unchanged,
            },
            "changed": [
                {"key": row.key, "fields": [change.to_json() for change in row.fields]}
                for row in result.changed
            ],
            "added": list(result.added),
            "removed": list(result.removed),
        },
        ensure_ascii=False,
        indent=2,
    )


def diff(manifest: Manifest, against: str, as_json: bool, echo: Callable[[str], None]) -> int:
    with tempfile.TemporaryDirectory(prefix="heyrender-diff-") as scratch:
        old = manifest_at(manifest.path, against, Path(scratch))
        try:
            then = bodies(old)
        except InputError as exc:
            raise InputError(f"as of {against}, {exc.message}", exc.hint) from None
    result = compare(then, bodies(manifest))
    if as_json:
        echo(diff_json(result, against))
    else:
        for line in diff_text(result, f"{manifest.name} since {against}"):
            echo(line)
    return 0
