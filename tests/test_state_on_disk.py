"""The lockfile, the journal, the state lock and the plan: the pieces apply trusts."""

from __future__ import annotations

import difflib
import json
import os

import pytest

from heyrender.campaign.rows import Desired
from heyrender.campaign.schema import FieldProblem
from heyrender.commands.save_videos import file_name
from heyrender.errors import LockfileError, StateLockHeld
from heyrender.run.plan import diff
from heyrender.run.reconcile import poll_spacing
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from heyrender.state.statelock import StateLock, owner_path
from heyrender.state.store import State, journal_path, replay


def entry(key: str, status: str = "completed", request: str = "sha256:a", **more) -> Entry:
    return Entry(key=key, request=request, status=status, video_id=f"vid-{key}", title=key, **more)


def test_lockfile_round_trip_sorted_with_a_header(tmp_path) -> None:
    path = tmp_path / "m.lock"
    entries = {
        k: entry(k, previous_video_ids=("old",) if k == "b" else ()) for k in ("c", "a", "b")
    }
    lockfile.save(path, entries, "m.yaml")
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"heyrender_lockfile": 1, "manifest": "m.yaml"}
    assert [json.loads(line)["key"] for line in lines[1:]] == ["a", "b", "c"]
    assert lockfile.load(path) == entries
    assert [p.name for p in tmp_path.iterdir()] == ["m.lock"], "no temporary file is left behind"


def test_a_change_to_one_row_changes_one_line(tmp_path) -> None:
    entries = {f"k{i:03d}": entry(f"k{i:03d}", "processing") for i in range(200)}
    before = lockfile.render(entries, "m.yaml").splitlines()
    entries["k100"] = entries["k100"].evolve(status="completed", finished_at="2026-11-25T00:00:00Z")
    after = lockfile.render(entries, "m.yaml").splitlines()
    changed = [line for line in difflib.unified_diff(before, after, n=0) if line[:1] in "+-"]
    assert len([c for c in changed if not c.startswith(("+++", "---"))]) == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            '{"heyrender_lockfile": 1}\n{"key": "a", "request": "x", "status": "done"\n',
            "m.lock line 2: not valid JSON",
        ),
        (
            '{"heyrender_lockfile": 9}\n',
            "m.lock line 1: lockfile format 9 is not one this heyrender reads",
        ),
        ('{"something": 1}\n', "does not start with the heyrender_lockfile header"),
        (
            '{"heyrender_lockfile": 1}\n{"key": "a", "status": "done"}\n',
            "m.lock line 2: row has no request",
        ),
        (
            '{"heyrender_lockfile": 1}\n{"key": "a", "request": "r", "status": "failed"}\n{"key": "a", "request": "r", "status": "failed"}\n',
            "line 3: key 'a' appears twice",
        ),
        ("", "is empty"),
    ],
)
def test_broken_lockfiles_are_errors_never_reset(tmp_path, text, words) -> None:
    path = tmp_path / "m.lock"
    path.write_text(text)
    with pytest.raises(LockfileError) as caught:
        lockfile.load(path)
    assert words in str(caught.value)
    assert "restore it from git" in (caught.value.hint or "")
    assert path.read_text() == text


def test_missing_lockfile_is_empty(tmp_path) -> None:
    assert lockfile.load(tmp_path / "none.lock") == {}


def test_journal_survives_a_torn_last_record(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    state = State.load(lock, "m.yaml")
    state.record(entry("a", "submitting"), durable=True)
    state.record(entry("a", "waiting"), durable=True)
    state.close()
    with open(journal_path(lock), "a") as journal:
        journal.write('{"key": "b", "request": "r", "sta')
    reloaded = State.load(lock, "m.yaml")
    assert reloaded.entries == {"a": entry("a", "waiting")}
    reloaded.checkpoint()
    assert not journal_path(lock).exists()
    assert lockfile.load(lock) == {"a": entry("a", "waiting")}


def test_corrupt_journal_record_in_the_middle_is_an_error(tmp_path) -> None:
    path = tmp_path / "m.lock.journal"
    path.write_text('not json\n{"key": "a", "request": "r", "status": "s"}\n')
    with pytest.raises(LockfileError, match="line 1: journal record is not valid JSON"):
        replay(path, {})


def test_state_lock_names_its_holder_and_is_taken_over_when_left(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    first = StateLock(lock, "m.yaml").acquire()
    with pytest.raises(StateLockHeld) as caught:
        StateLock(lock, "m.yaml").acquire()
    assert f"m.yaml is being applied by pid {os.getpid()} on " in str(caught.value)
    first.release()
    assert not owner_path(lock).exists(), "a clean release leaves no owner file (issue 8.6)"
    owner_path(lock).write_text(
        '{"pid": 999999, "host": "gone", "started": "2026-01-01T00:00:00Z"}'
    )
    with StateLock(lock, "m.yaml") as second:
        assert second.taken_over == "pid 999999 on gone, started 2026-01-01T00:00:00Z"


def desired(key: str, request: str = "sha256:a", problems=()) -> Desired:
    return Desired(key, 2, request, key, tuple(problems))


def test_plan_puts_each_row_in_one_group() -> None:
    rows = [
        desired("new"),
        desired("failed"),
        desired("lost"),
        desired("gone-missing"),
        desired("rendering"),
        desired("finished"),
        desired("edited", request="sha256:b"),
        desired("broken", problems=[FieldProblem("voice_id", "required")]),
    ]
    entries = {
        "failed": entry("failed", "failed"),
        "lost": entry("lost", "submitting"),
        "gone-missing": entry("gone-missing", "not_created"),
        "rendering": entry("rendering", "processing"),
        "finished": entry("finished"),
        "edited": entry("edited"),
        "orphan": entry("orphan"),
    }
    plan = diff(rows, entries)
    assert dict(plan.groups) == {
        "create": ("failed", "gone-missing", "new"),
        "in_progress": ("rendering",),
        "done": ("finished",),
        "outdated": ("edited",),
        "orphaned": ("orphan",),
        "uncertain": ("lost",),
        "invalid": ("broken",),
    }
    assert plan.has_changes
    assert plan.summary() == (
        "Plan: 3 to create, 1 outdated, 1 uncertain. 1 done, 1 in progress, 1 orphaned, 1 invalid."
    )
    assert not diff([desired("finished")], {"finished": entry("finished")}).has_changes


def test_poll_spacing_grows_with_age_between_one_and_six_times_the_first() -> None:
    assert poll_spacing(0, 10) == 10
    assert poll_spacing(300, 10) == 30
    assert poll_spacing(3600, 10) == 60
    assert poll_spacing(1.0, 0.25) == 0.25


def test_file_names_are_safe_and_never_collide() -> None:
    assert file_name("dana@acme.io") == "dana@acme.io.mp4"
    odd = [file_name(k) for k in ("a/b", "a:b", "../x", "a b")]
    assert all("/" not in name and not name.startswith(".") for name in odd)
    assert len(set(odd)) == len(odd)
