"""Plan's lean path: packed rows diffed against the lean lockfile view give the same plan as
Desired rows against whole entries, and the request hash text is unchanged."""

from __future__ import annotations

import hashlib
import json

from heyrender.campaign.digest import canonical_json
from heyrender.campaign.repeats import CHUNK, Ledger
from heyrender.campaign.rows import Rows
from heyrender.campaign.schema import FieldProblem
from heyrender.commands.output import plan_text
from heyrender.run.plan import DoneRows, diff
from heyrender.state.lockfile import Entry
from heyrender.state.view import PlanEntries, as_row


def test_canonical_json_is_json_dumps_sorted_and_compact() -> None:
    bodies = [
        {"b": 1, "a": [1.5, 2.0, -0.0, 1e300, 10**30], "c": {"z": None, "y": True, "x": False}},
        {"title": 'Ünïcode "quoted" \\ back\nnew\ttab \x01 \u2028 😀', "é": "ß"},
        {"nested": [{"k": [], "j": {}}, "", 0]},
    ]
    for body in bodies:
        expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(body) == expected


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def request(text: str) -> str:
    return "sha256:" + digest(text).hex()


def packed(keys: list[str], invalid: set[str]) -> Rows:
    rows = Rows()
    for line, key in enumerate(keys, 2):
        problems = [FieldProblem("voice_id", "required")] if key in invalid else []
        rows.add(key, line, digest(key), problems)
    return rows


def entry(key: str, status: str = "completed", asks: str | None = None) -> Entry:
    return Entry(key=key, request=request(asks or key), status=status, video_id=f"v-{key}")


def recorded() -> dict[str, Entry]:
    entries = {f"done-{i:02}": entry(f"done-{i:02}") for i in range(25)}
    entries["edited"] = entry("edited", asks="before")
    entries["failed"] = entry("failed", "failed")
    entries["lost"] = entry("lost", "submitting")
    entries["rendering"] = entry("rendering", "processing")
    entries["rendering-edited"] = entry("rendering-edited", "processing", asks="before")
    entries["orphan"] = entry("orphan")
    entries["orphan-failed"] = entry("orphan-failed", "failed")
    entries["broken"] = entry("broken")
    entries["broken-failed"] = entry("broken-failed", "failed")
    return entries


KEYS = [
    *(f"done-{i:02}" for i in reversed(range(25))),
    "new",
    "edited",
    "failed",
    "lost",
    "rendering",
    "rendering-edited",
    "broken",
    "broken-failed",
]


def test_the_packed_diff_is_the_plain_diff() -> None:
    entries = recorded()
    rows = packed(KEYS, {"broken", "broken-failed"})
    lean = PlanEntries.of([[as_row(entries[key]) for key in sorted(entries)]])
    assert lean.lean_count == 28, "the completed rows are kept lean"
    plain = diff(list(rows), entries)
    fast = diff(rows, lean)
    assert dict(fast.groups) == dict(plain.groups)
    assert fast.reasons == plain.reasons
    assert fast.summary() == plain.summary()
    assert fast.to_json() == plain.to_json()
    assert fast["orphaned"] == ("orphan", "orphan-failed")
    assert fast["outdated"] == ("edited", "rendering-edited")


def test_a_shown_plan_keeps_only_the_first_done_keys_but_counts_them_all() -> None:
    entries = recorded()
    rows = packed(KEYS, {"broken", "broken-failed"})
    lean = PlanEntries.of([[as_row(entries[key]) for key in sorted(entries)]])
    full = diff(rows, lean)
    shown = diff(rows, lean, done_shown=10)
    assert shown["done"] == full["done"][:10]
    assert shown.count("done") == len(full["done"]) == 25
    assert not shown.complete and full.complete
    assert shown.summary() == full.summary()
    assert list(plan_text(shown, "Plan")) == list(plan_text(full, "Plan"))
    assert "    ... and 15 more" in list(plan_text(shown, "Plan"))


def test_rows_left_out_as_done_give_the_same_shown_plan() -> None:
    entries = recorded()
    invalid = {"broken", "broken-failed"}
    lean = PlanEntries.of([[as_row(entries[key]) for key in sorted(entries)]])
    done = DoneRows(lean)
    rows = Rows()
    for line, key in enumerate(KEYS, 2):
        if key in invalid:
            rows.add(key, line, digest(key), [FieldProblem("voice_id", "required")])
        elif done.keep(key, digest(key), {}):
            rows.add(key, line, digest(key), [])
    assert len(rows) == len(KEYS) - 25, "the done rows are not kept"
    shown = diff(rows, lean, 10, done)
    full = diff(packed(KEYS, invalid), lean)
    assert shown.total_rows == full.total_rows == len(KEYS)
    assert shown.summary() == full.summary()
    assert shown["orphaned"] == full["orphaned"] == ("orphan", "orphan-failed")
    assert list(plan_text(shown, "Plan")) == list(plan_text(full, "Plan"))


def test_repeats_are_found_across_many_sorted_chunks() -> None:
    ledger = Ledger()
    count = 3 * CHUNK + 17
    for line in range(count):
        ledger.add(f"title {line}", line)
    ledger.add("title 5", count)  # repeats the first chunk's
    ledger.add(f"title {count - 3}", count + 1)  # repeats the last chunk's
    assert ledger.suspects() == [5, count - 3, count, count + 1]
    assert Ledger().suspects() == []
