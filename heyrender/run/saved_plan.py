"""Saved plans, as Terraform does it: `plan --out FILE`, then `apply FILE` carries out exactly that.

    {"heyrender_plan": 1, "manifest": "outreach.yaml", "created_at": "...",
     "allow_outside_campaign": false,
     "inputs": {"manifest": "sha256:...", "csv": "sha256:...", "lockfile": "sha256:..." | null},
     "estimate": {"rows": 2, "seconds": 9.6, "usd": 0.64, "unknown_rows": 0},
     "summary": {"create": 2, ...},
     "rows": [
      {"key": "dana@acme.io", "action": "create", "request": "sha256:..."},
      ...]}

`inputs` hold the hashes of the files the plan was made from; the lockfile's includes its
journal. A plan is fresh only while all three are unchanged. The manifest path is relative
to the plan file's folder. `allow_outside_campaign` records whether the plan was made with
that flag: apply FILE loads the manifest the same way, and asks for the flag again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heyrender.campaign import manifest as manifests
from heyrender.campaign.cost import Estimate
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.paths import PathRefused, read_named_file
from heyrender.campaign.rows import Desired
from heyrender.errors import InputError, StalePlan, shorten
from heyrender.run.plan import GROUPS, Plan
from heyrender.state.files import write_atomically
from heyrender.state.lockfile import Entry, now_iso
from heyrender.state.store import journal_path

FORMAT_VERSION = 1
HEADER_KEY = "heyrender_plan"
SUBMITTED_ACTIONS = frozenset({"create"})


def file_hash(*paths: Path) -> str | None:
    """sha256 over the files that exist, in order; None when none does."""
    digest, found = hashlib.sha256(), False
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        found = True
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return f"sha256:{digest.hexdigest()}" if found else None


@dataclass(frozen=True)
class Inputs:
    manifest: str | None
    csv: str | None
    lockfile: str | None

    @classmethod
    def of(cls, manifest: Manifest) -> Inputs:
        lock = manifest.lockfile_path
        return cls(
            manifest=file_hash(manifest.path),
            csv=file_hash(manifest.source.csv),
            lockfile=file_hash(lock, journal_path(lock)),
        )

    def changed_since(self, saved: Inputs, manifest: Manifest) -> list[str]:
        """What differs from a saved plan's inputs, as 'manifest m.yaml', 'CSV people.csv'..."""
        names = {
            "manifest": f"manifest {manifest.path.name}",
            "csv": f"CSV {manifest.source.csv.name}",
            "lockfile": f"lockfile {manifest.lockfile_path.name}",
        }
        return [
            names[name]
            for name in ("manifest", "csv", "lockfile")
            if getattr(self, name) != getattr(saved, name)
        ]


@dataclass(frozen=True)
class PlannedRow:
    key: str
    action: str  # a plan group: create, outdated, uncertain, in_progress, done, orphaned, invalid
    request: str


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    manifest_path: Path
    created_at: str
    inputs: Inputs
    estimate: Estimate
    rows: tuple[PlannedRow, ...]
    allow_outside: bool = False

    @property
    def to_submit(self) -> tuple[str, ...]:
        """The keys apply submits for this plan, sorted."""
        return tuple(sorted(row.key for row in self.rows if row.action in SUBMITTED_ACTIONS))

    @property
    def requests(self) -> dict[str, str]:
        """Each planned row's request hash: a body must still hash to it to be sent."""
        return {row.key: row.request for row in self.rows}


def render(
    manifest: Manifest,
    plan: Plan,
    rows: Iterable[Desired],
    entries: Mapping[str, Entry],
    estimate: Estimate,
    plan_path: Path,
) -> str:
    action = {key: group for group in GROUPS for key in plan[group]}
    planned = [
        {"key": row.key, "action": action[row.key], "request": row.request}
        for row in rows
        if row.key in action
    ]
    planned += [
        {"key": key, "action": "orphaned", "request": entries[key].request}
        for key in plan["orphaned"]
        if key in entries
    ]
    planned.sort(key=lambda row: row["key"])
    inputs = Inputs.of(manifest)
    head = {
        HEADER_KEY: FORMAT_VERSION,
        "manifest": os.path.relpath(manifest.path.resolve(), plan_path.resolve().parent),
        "created_at": now_iso(),
        "allow_outside_campaign": manifest.campaign.allow_outside,
        "inputs": {
            "manifest": inputs.manifest,
            "csv": inputs.csv,
            "lockfile": inputs.lockfile,
        },
        "estimate": estimate.to_json(),
        "summary": {group: len(plan[group]) for group in GROUPS},
    }
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": [']
    body = [json.dumps(row, ensure_ascii=False) for row in planned]
    lines.append(",\n".join(body))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def save(
    path: Path,
    manifest: Manifest,
    plan: Plan,
    rows: Iterable[Desired],
    entries: Mapping[str, Entry],
    estimate: Estimate,
) -> None:
    """Writes the plan to `path` atomically; the caller has checked that `path` may be
    replaced (commands/destinations.py)."""
    try:
        write_atomically(path, [render(manifest, plan, rows, entries, estimate, path)])
    except OSError as exc:
        raise InputError(f"cannot write the plan to {path}: {exc.strerror or exc}") from None


def is_saved_plan(path: str | Path) -> bool:
    """Whether a file is a saved plan (as opposed to a manifest)."""
    try:
        start = read_named_file(Path(path), head=64)
    except (OSError, PathRefused):
        return False  # not a plan; the manifest loader words what is wrong with it
    return start.lstrip().startswith(b'{"' + HEADER_KEY.encode())


def load(path: str | Path) -> SavedPlan:
    """A saved plan as written by `plan --out`; a broken or foreign file is a clear error."""
    path = Path(path)
    try:
        data = json.loads(read_named_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PathRefused as exc:
        raise InputError(f"{path.name}: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path.name}: not a saved plan (not JSON)") from None
    except RecursionError:
        raise InputError(f"{path.name}: not a saved plan (JSON nested too deeply)") from None
    if not isinstance(data, dict) or HEADER_KEY not in data:
        raise InputError(f"{path.name}: not a saved plan (no {HEADER_KEY} header)")
    if data[HEADER_KEY] != FORMAT_VERSION:
        raise InputError(
            f"{path.name}: saved plan format {shorten(repr(data[HEADER_KEY]), 20)} is not one "
            f"this heyrender reads ({FORMAT_VERSION})",
            hint="make the plan again with this heyrender: heyrender plan MANIFEST --out FILE",
        )
    problem = shape_problem(data)
    if problem:
        raise InputError(
            f"{path.name}: saved plan is malformed: {problem}",
            hint="make the plan again: heyrender plan MANIFEST --out FILE",
        )
    inputs = data["inputs"]
    return SavedPlan(
        path=path,
        manifest_path=path.parent / data["manifest"],
        created_at=str(data.get("created_at", "")),
        inputs=Inputs(inputs["manifest"], inputs["csv"], inputs["lockfile"]),
        estimate=Estimate.from_json(data["estimate"]),
        rows=tuple(PlannedRow(row["key"], row["action"], row["request"]) for row in data["rows"]),
        allow_outside=data.get("allow_outside_campaign") is True,
    )


ESTIMATE_NUMBERS = ("seconds", "usd", "unknown_rows")


def shape_problem(data: dict[str, Any]) -> str | None:
    """What in a saved plan's JSON is not as `plan --out` writes it, naming the field."""
    if not isinstance(data.get("manifest"), str) or not data["manifest"]:
        return "manifest: not a file name"
    inputs = data.get("inputs")
    if not isinstance(inputs, dict):
        return "inputs: not an object"
    for name in ("manifest", "csv", "lockfile"):
        if not isinstance(inputs.get(name, 0), str | None):
            return f"inputs.{name}: not a hash"
    estimate = data.get("estimate")
    if not isinstance(estimate, dict):
        return "estimate: not an object"
    for name in (*ESTIMATE_NUMBERS, "rows", "seconds_max", "usd_max"):
        value = estimate.get(name, 0 if name not in ESTIMATE_NUMBERS else None)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e15:
            return f"estimate.{name}: not a number from 0 to 1e15"
    rows = data.get("rows")
    if not isinstance(rows, list):
        return "rows: not a list"
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"rows[{index}]: not an object"
        for name in ("key", "action", "request"):
            if not isinstance(row.get(name), str):
                return f"rows[{index}].{name}: not text"
    return None


def load_fresh(path: str | Path) -> tuple[SavedPlan, Manifest]:
    """A saved plan and its manifest, if neither the manifest, its CSV nor its lockfile changed.

    Raises StalePlan naming what changed. Call it while holding the state lock, before
    settling or writing anything, so nothing can change between the check and the run.
    """
    saved = load(path)
    manifest = manifests.load(saved.manifest_path, saved.allow_outside)
    check_fresh(saved, manifest)
    return saved, manifest


def check_fresh(saved: SavedPlan, manifest: Manifest) -> None:
    """The same check as load_fresh, for a plan already loaded (e.g. again under the lock)."""
    changed = Inputs.of(manifest).changed_since(saved.inputs, manifest)
    if changed:
        raise StalePlan(
            saved.path,
            changed,
            hint=f"review it again: heyrender plan {manifest.path} --out {saved.path}",
        )


def check_requests(saved: SavedPlan, rows: Iterable[Desired]) -> None:
    """Every row the plan submits still renders to the request it planned.

    The input hashes cover the manifest, CSV and lockfile; a row's request also covers the
    local media files it names, so apply calls this after expanding the campaign.
    """
    planned = saved.requests
    wanted = set(saved.to_submit)
    now = {row.key: row.request for row in rows if row.key in wanted}
    changed = sorted(key for key in wanted if now.get(key) != planned[key])
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3:,} more" if changed[3:] else "")
        raise StalePlan(
            saved.path,
            [f"request for {shown} (a local media file changed?)"],
            hint=f"review it again: heyrender plan {saved.manifest_path} --out {saved.path}",
        )
