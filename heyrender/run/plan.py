"""The plan: a pure comparison of the expanded rows with the recorded state."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from heyrender.campaign.fields import field_hashes
from heyrender.campaign.rows import DIGEST, Desired, Keep, Rows
from heyrender.state.lockfile import Entry
from heyrender.state.view import PlanEntries
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
    """Each group's keys, sorted. With `counts`, a group may hold only its first keys (the
    done group of a plan made to be shown): count(group) is then its real size."""

    groups: Mapping[str, tuple[str, ...]]
    total_rows: int = 0
    notes: tuple[str, ...] = field(default=())
    reasons: Mapping[str, str] = field(default_factory=dict)  # why a row is to create again
    counts: Mapping[str, int] | None = None

    def __getitem__(self, group: str) -> tuple[str, ...]:
        return self.groups.get(group, ())

    def count(self, group: str) -> int:
        if self.counts is not None and group in self.counts:
            return self.counts[group]
        return len(self[group])

    @property
    def complete(self) -> bool:
        """Whether every group holds all its keys."""
        return all(self.count(group) == len(self[group]) for group in GROUPS)

    @property
    def has_changes(self) -> bool:
        return bool(self.count("create") or self.count("outdated") or self.count("uncertain"))

    def summary(self) -> str:
        head = (
            f"Plan: {self.count('create')} to create, {self.count('outdated')} outdated, "
            f"{self.count('uncertain')} uncertain."
        )
        tail = ", ".join(
            f"{self.count(g)} {DESCRIPTIONS[g].split(' (')[0]}"
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
        counts = None if self.counts is None else dict(self.counts)
        for key, group in moved.items():
            reasons[key] = SELECTED_REASONS[group]
            if counts is not None:
                counts[group] = counts.get(group, len(self[group])) - 1
                counts["create"] = counts.get("create", len(self["create"])) + 1
        return Plan(groups, self.total_rows, self.notes, reasons, counts)

    def to_json(self) -> dict[str, Any]:
        if not self.complete:
            raise ValueError("a plan made with only the first done keys has no full JSON")
        return {
            "summary": {group: self.count(group) for group in GROUPS},
            "groups": {group: list(self[group]) for group in GROUPS},
            "reasons": dict(sorted(self.reasons.items())),
            "changes_pending": self.has_changes,
        }


def group_of(desired: Desired, entry: Entry | None) -> str:
    if desired.problems:
        return "invalid"
    return recorded_group(desired.request, entry)


def recorded_group(request: str, entry: Entry | None) -> str:
    """The group of a valid row asking for `request`, given what is recorded for it."""
    if entry is None or entry.status in RETRYABLE:
        return "create"
    if entry.status in UNSETTLED:
        return "uncertain"
    if entry.request != request:
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


SEEN, DONE = 1, 2  # a lean lockfile row's mark: its key is in the CSV; it is done as well


class DoneRows:
    """Spots, while the campaign expands, the rows whose request is exactly what a completed
    lockfile row asked: they are marked on plan's lean entries and need no place in the packed
    rows. Pass its keep to Campaign.expand, then itself to diff().

    Of the rows whose request changed since their video was made, it keeps the field hashes of
    the first `named` by key: the outdated rows plan's text names, with what changed in each,
    known without rendering the CSV a second time."""

    def __init__(self, entries: PlanEntries, named: int = 0) -> None:
        self.entries = entries
        self.marks = bytearray(entries.lean_count)
        self.changed: list[tuple[str, dict[str, str]]] = []  # sorted by key, at most `named`
        find, marks, changed = entries.find, self.marks, self.changed
        asked = entries.parts.digests.startswith  # asked(digest, 32 * row): PlanEntries.asked

        def keep(key: str, digest: bytes, body: dict[str, Any]) -> bool:
            found = find(key)
            if found < 0:
                return True
            if asked(digest, 32 * found):
                marks[found] = DONE
                return False
            if named and (len(changed) < named or key < changed[-1][0]):
                # by key alone: a key twice in the CSV (refused once the pass ends) must not
                # compare its two bodies' hashes
                bisect.insort(changed, (key, field_hashes(body)), key=itemgetter(0))
                del changed[named:]
            return True

        self.keep: Keep = keep

    @property
    def count(self) -> int:
        return self.marks.count(DONE)

    def keys(self, shown: int | None = None) -> list[str]:
        """The keys of the rows left out as done, the first `shown` of them (lean rows are
        numbered in key order)."""
        out: list[str] = []
        found = self.marks.find(DONE)
        while found >= 0 and (shown is None or len(out) < shown):
            out.append(self.entries.key_at(found))
            found = self.marks.find(DONE, found + 1)
        return out

    @property
    def outdated_fields(self) -> dict[str, dict[str, str]]:
        """The field hashes of the first outdated rows, as they render now, by key."""
        return dict(self.changed)


def diff(
    desired: Iterable[Desired],
    entries: Mapping[str, Entry],
    done_shown: int | None = None,
    done: DoneRows | None = None,
) -> Plan:
    """The plan. With packed rows and plan's lean entries: with `done_shown`, the done group
    keeps only its first `done_shown` keys (and its count), all a plan shown as text needs;
    `done` holds the done rows that were left out of the packed rows."""
    if isinstance(desired, Rows) and isinstance(entries, PlanEntries):
        return packed_diff(desired, entries, done_shown, done)
    if done is not None:
        raise ValueError("rows left out as done need the packed rows and lean entries")
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


def packed_diff(
    rows: Rows, entries: PlanEntries, done_shown: int | None, left_out: DoneRows | None
) -> Plan:
    """diff() without a Desired or an Entry per row: request digests compared as bytes."""
    groups: dict[str, list[str]] = {group: [] for group in GROUPS}
    reasons: dict[str, str] = {}
    digests, problems, whole = rows.digests, rows.problems, entries.whole
    invalid, create, outdated = groups["invalid"], groups["create"], groups["outdated"]
    done: list[str] = [] if left_out is None else left_out.keys(done_shown)
    done_count = 0 if left_out is None else left_out.count
    marks = bytearray(entries.lean_count) if left_out is None else left_out.marks
    whole_matched: set[str] = set()
    find, asked = entries.find, entries.asked
    for index, key in enumerate(rows.keys):
        found = find(key)
        if found >= 0:
            marks[found] = SEEN
        if index in problems:
            invalid.append(key)
            if found < 0 and key in whole:
                whole_matched.add(key)
            continue
        if found >= 0:
            start = index * DIGEST
            if asked(found, digests[start : start + DIGEST]):
                done_count += 1
                done.append(key)
                if done_shown is not None and len(done) > 4 * done_shown + 1024:
                    done = heapq.nsmallest(done_shown, done)
            else:
                outdated.append(key)
            continue
        entry = whole.get(key)
        if entry is None:
            create.append(key)
            continue
        whole_matched.add(key)
        request = "sha256:" + digests[index * DIGEST : (index + 1) * DIGEST].hex()
        group = recorded_group(request, entry)
        groups[group].append(key)
        why = reason(entry) if group == "create" else None
        if why:
            reasons[key] = why
    groups["done"] = done if done_shown is None else heapq.nsmallest(done_shown, done)
    groups["orphaned"] = [entries.key_at(i) for i, mark in enumerate(marks) if not mark]
    groups["orphaned"] += [key for key in whole if key not in whole_matched]
    counts = {group: len(keys) for group, keys in groups.items()}
    counts["done"] = done_count
    return Plan(
        {group: tuple(sorted(keys)) for group, keys in groups.items()},
        total_rows=len(rows) + (0 if left_out is None else left_out.count),
        reasons=reasons,
        counts=counts,
    )
