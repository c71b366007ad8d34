"""The plan: a pure comparison of the expanded rows with the recorded state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heyrender.campaign.rows import Desired
from heyrender.state.lockfile import Entry
from heyrender.status import RETRYABLE, UNSETTLED, Status

GROUPS = ("create", "in_progress", "done", "outdated", "orphaned", "uncertain", "invalid")
DESCRIPTIONS = {
    "create": "to create",
    "in_progress": "in progress",
    "done": "done",
    "outdated": "outdated (request changed since it was rendered)",
    "orphaned": "orphaned (in the lockfile, gone from the CSV)",
    "uncertain": "uncertain (a create whose answer was lost: resent with its key on v3, "
    "settled by title before anything is resent on v2)",
    "invalid": "invalid (breaks the request rules)",
}

SELECTED_REASONS = {
    "done": "replacing its done video, as --replace asks",
    "outdated": "replacing its outdated video",
    "uncertain": "resubmitting an uncertain create, as --resubmit-uncertain asks",
}


@dataclass(frozen=True)
class Plan:
    groups: Mapping[str, tuple[str, ...]]
    total_rows: int = 0
    notes: tuple[str, ...] = field(default=())
    reasons: Mapping[str, str] = field(default_factory=dict)  # why a row is to create again

    def __getitem__(self, group: str) -> tuple[str, ...]:
        return self.groups.get(group, ())

    @property
    def has_changes(self) -> bool:
        return bool(self["create"] or self["outdated"] or self["uncertain"])

    def summary(self) -> str:
        head = (
            f"Plan: {len(self['create'])} to create, {len(self['outdated'])} outdated, "
            f"{len(self['uncertain'])} uncertain."
        )
        tail = ", ".join(
            f"{len(self[g])} {DESCRIPTIONS[g].split(' (')[0]}"
            for g in ("done", "in_progress", "orphaned", "invalid")
        )
        return f"{head} {tail[0].upper()}{tail[1:]}."

    def selecting(self, keys: Iterable[str]) -> Plan:
        """The plan as this apply carries it out: rows it replaces or resends (done, outdated,
        uncertain rows chosen by --replace, --replace-outdated, --resubmit-uncertain) shown
        under "to create", each with why."""
        chosen = set(keys)
        moved = {
            key: group
            for group in ("done", "outdated", "uncertain")
            for key in self[group]
            if key in chosen
        }
        if not moved:
            return self
        groups = {g: tuple(k for k in keys_ if k not in moved) for g, keys_ in self.groups.items()}
        groups["create"] = tuple(sorted({*self["create"], *moved}))
        reasons = dict(self.reasons)
        for key, group in moved.items():
            reasons[key] = SELECTED_REASONS[group]
        return Plan(groups, self.total_rows, self.notes, reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": {group: len(self[group]) for group in GROUPS},
            "groups": {group: list(self[group]) for group in GROUPS},
            "reasons": dict(sorted(self.reasons.items())),
            "changes_pending": self.has_changes,
        }


def group_of(desired: Desired, entry: Entry | None) -> str:
    if desired.problems:
        return "invalid"
    if entry is None or entry.status in RETRYABLE:
        return "create"
    if entry.status in UNSETTLED:
        return "uncertain"
    if entry.request != desired.request:
        return "outdated"
    return "done" if entry.status is Status.COMPLETED else "in_progress"


def reason(entry: Entry | None) -> str | None:
    """Why a recorded row is to create again."""
    if entry is None or entry.status not in RETRYABLE:
        return None
    if entry.status is Status.MISSING:
        return f"missing: HeyGen no longer knows video {entry.video_id}"
    if entry.status is Status.FAILED:
        return f"failed: {entry.failure_code or entry.failure_message or 'render failed'}"
    return "not created: " + (entry.failure_message or "the last create did not land")


def diff(desired: Iterable[Desired], entries: Mapping[str, Entry]) -> Plan:
    groups: dict[str, list[str]] = {group: [] for group in GROUPS}
    reasons: dict[str, str] = {}
    seen: set[str] = set()
    for row in desired:
        seen.add(row.key)
        entry = entries.get(row.key)
        group = group_of(row, entry)
        groups[group].append(row.key)
        why = reason(entry) if group == "create" else None
        if why:
            reasons[row.key] = why
    groups["orphaned"] = [key for key in entries if key not in seen]
    return Plan(
        {group: tuple(sorted(keys)) for group, keys in groups.items()},
        total_rows=len(seen),
        reasons=reasons,
    )
