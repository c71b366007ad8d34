"""`status` streams rows from the lockfile and journal: same rows, same order, same text
as loading every Entry, whatever order or overlap the two files have."""

from __future__ import annotations

import json

import pytest

from heyrender.errors import LockfileError
from heyrender.state import lockfile, view
from heyrender.state.lockfile import Entry
from heyrender.state.store import State, journal_path


def entry(key: str, status: str = "completed", **more) -> Entry:
    return Entry(key=key, request="sha256:a", status=status, video_id=f"v-{key}", **more)


def whole(lock) -> list[dict]:
    entries = State.load(lock, "m.yaml").entries
    return [view.as_row(entries[key]) for key in sorted(entries)]


def streamed(lock) -> list[dict]:
    rows = [row for batch in view.recorded(lock, "m.yaml", list) for row in batch]
    return [view.as_row(Entry(**row)) for row in rows]


def test_the_journal_is_merged_in_key_order_over_the_lockfile(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    lockfile.save(lock, {k: entry(k) for k in ("b", "d", "f")}, "m.yaml")
    state = State.load(lock, "m.yaml")
    for record in (entry("a", "waiting"), entry("d", "failed"), entry("e"), entry("z")):
        state.record(record)
    state.record(entry("d", "processing"))
    state.close()
    assert [row["key"] for row in streamed(lock)] == ["a", "b", "d", "e", "f", "z"]
    assert streamed(lock) == whole(lock)
    assert streamed(lock)[2]["status"] == "processing"


def test_a_hand_reordered_lockfile_is_still_listed_in_key_order(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    rows = [entry(k).to_json() for k in ("c", "a", "b")]
    lock.write_text('{"heyrender_lockfile": 1}\n' + "\n".join(rows) + "\n")
    assert [row["key"] for row in streamed(lock)] == ["a", "b", "c"]


@pytest.mark.parametrize("order", [("a", "a"), ("a", "b", "a")])
def test_a_key_twice_is_an_error_however_far_apart(tmp_path, order) -> None:
    lock = tmp_path / "m.lock"
    lines = [entry(k).to_json() for k in order]
    lock.write_text('{"heyrender_lockfile": 1}\n' + "\n".join(lines) + "\n")
    with pytest.raises(LockfileError, match=f"line {len(order) + 1}: key 'a' appears twice"):
        view.recorded(lock, "m.yaml", list)


def test_status_text_and_json_from_the_stream(campaign, cli) -> None:
    path = campaign()
    lock = path.with_suffix(".lock")
    lockfile.save(
        lock,
        {
            "b@x": entry("b@x", title="Zoë\u2028B"),
            "a@x": entry("a@x", "failed", failure_code="E1", failure_message="no"),
            "c@x": Entry("c@x", "sha256:a", "submitting"),
        },
        "m.yaml",
    )
    text = cli("status", path)
    assert (text.exit_code, text.stdout) == (
        0,
        "1 completed, 1 failed, 1 submitting\n\n  completed:\n    b@x v-b@x\n\n"
        "  failed:\n    a@x v-a@x E1: no\n\n  submitting:\n    c@x\n",
    )
    lines = cli("status", path, "--json").stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 4
    assert [json.loads(line) for line in lines[:-1]] == [
        {
            "key": "a@x",
            "status": "failed",
            "video_id": "v-a@x",
            "failure_code": "E1",
            "failure_message": "no",
        },
        {"key": "b@x", "status": "completed", "video_id": "v-b@x", "title": "Zoë\u2028B"},
        {"key": "c@x", "status": "submitting", "video_id": None},
    ]
    assert "\u2028" not in "".join(lines), "a line separator is escaped in the output too"


def test_many_rows_stream_in_batches_with_the_right_line_numbers(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    lockfile.save(lock, {f"k{i:05d}": entry(f"k{i:05d}") for i in range(9000)}, "m.yaml")
    assert lock.stat().st_size > 3 * 2**18, "several blocks"
    assert [n for n, _ in lockfile.rows(lock)] == list(range(2, 9002))
    text = lock.read_text().split("\n")
    text[7345] = text[7345].replace('"completed"', '"complete"')
    lock.write_text("\n".join(text))
    with pytest.raises(LockfileError, match="line 7346: row 'k07344': status: 'complete'"):
        view.recorded(lock, "m.yaml", list)
    assert journal_path(lock).exists() is False


def test_windows_line_ends_and_blank_lines_still_load(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    lockfile.save(lock, {k: entry(k) for k in ("a", "b", "c")}, "m.yaml")
    lock.write_bytes(
        lock.read_bytes().replace(b"\n", b"\r\n").replace(b'\r\n{"key": "c', b'\r\n\r\n{"key": "c')
    )
    assert lockfile.load(lock) == {k: entry(k) for k in ("a", "b", "c")}
    assert [n for n, _ in lockfile.rows(lock)] == [2, 3, 5]


def test_plan_entries_answer_as_every_entry_would(tmp_path) -> None:
    from heyrender.campaign.rows import Desired
    from heyrender.run.plan import diff

    lock = tmp_path / "m.lock"
    digest = "sha256:" + "ab" * 32
    recorded = {
        f"k{i:04d}": Entry(
            f"k{i:04d}",
            digest if i % 7 else "sha256:short",
            ("completed", "failed", "processing", "submitting", "not_created")[i % 5],
            title=f"t{i}",
            video_id=f"v{i}",
            failure_code="E" if i % 5 == 1 else None,
        )
        for i in range(3000)
    }
    recorded["zoë✓"] = Entry("zoë✓", digest, "completed", video_id="v")
    lockfile.save(lock, recorded, "m.yaml")
    state = State.load(lock, "m.yaml")
    state.record(Entry("k0005", "sha256:" + "cd" * 32, "completed", video_id="v5"))
    state.record(Entry("new", digest, "completed", video_id="vn"))
    state.close()
    whole = State.load(lock, "m.yaml").entries
    compact = view.plan_entries(lock, "m.yaml")
    assert len(compact) == len(whole) and sorted(compact) == sorted(whole)
    assert all(compact[key].request == whole[key].request for key in whole)
    assert all(compact[key].status == whole[key].status for key in whole)
    assert compact.get("absent") is None and "k0001" in compact and "absent" not in compact
    desired = [
        Desired(key, 2, digest if i % 3 else "sha256:" + "ef" * 32, key, ())
        for i, key in enumerate([*sorted(whole)[::2], "fresh"])
    ]
    assert diff(desired, compact) == diff(desired, whole)


def test_rows_read_the_slow_way_group_with_the_rest(campaign, cli) -> None:
    path = campaign()
    lock = path.with_suffix(".lock")
    lockfile.save(
        lock,
        {f"k{i:05d}": entry(f"k{i:05d}", intent_at="2026-11-25T06:25:48Z") for i in range(9000)},
        "m.yaml",
    )
    text = lock.read_text().replace('"2026-11-25T06:25:48Z"', '"2026-11-25T06:25:48+00:00"', 1)
    lock.write_text(text)
    result = cli("status", path)
    assert result.stdout.startswith("9,000 completed\n\n  completed:\n")
    assert result.stdout.count("completed") == 2
