"""Issue 8, items 2-6: state files never follow links, one row is one line whatever it
holds, two crashes in a row always leave a state that loads, hand edits are named, and
nothing is left behind."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from heyrender.errors import LockfileError
from heyrender.state import files, lockfile
from heyrender.state.lockfile import Entry
from heyrender.state.rowschema import RowInvalid, RowSchema
from heyrender.state.statelock import StateLock, owner_path
from heyrender.state.store import State, journal_path
from heyrender.status import Status

README = Path(__file__).resolve().parent.parent / "README.md"


def entry(key: str, status: str = "completed", **more) -> Entry:
    return Entry(key=key, request="sha256:a", status=status, video_id=f"v-{key}", **more)


def saved(tmp_path: Path, *entries: Entry) -> Path:
    path = tmp_path / "m.lock"
    lockfile.save(path, {e.key: e for e in entries}, "m.yaml")
    return path


# -- 8.2 state files do not follow links ------------------------------------------


def test_a_linked_owner_file_is_refused_and_its_target_untouched(tmp_path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate me")
    owner_path(tmp_path / "m.lock").symlink_to(target)
    with pytest.raises(LockfileError, match=r"m.lock.owner: is a symbolic link"):
        StateLock(tmp_path / "m.lock", "m.yaml").acquire()
    assert target.read_text() == "do not truncate me"


def test_the_journal_is_never_appended_through_a_link(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    target = tmp_path / "elsewhere.txt"
    target.write_text("mine\n")
    state = State.load(lock, "m.yaml")
    journal_path(lock).symlink_to(target)
    with pytest.raises(LockfileError, match=r"m.lock.journal: is a symbolic link"):
        state.record(entry("a"), durable=True)
    assert target.read_text() == "mine\n"
    with pytest.raises(LockfileError, match="is a symbolic link"):
        State.load(lock, "m.yaml")


def test_a_linked_lockfile_is_neither_read_nor_replaced(tmp_path) -> None:
    real = saved(tmp_path, entry("a")).rename(tmp_path / "real.lock")
    before = real.read_text()
    link = tmp_path / "m.lock"
    link.symlink_to(real)
    with pytest.raises(LockfileError, match=r"m\.lock: is a symbolic link"):
        lockfile.load(link)
    with pytest.raises(LockfileError, match=r"m\.lock: is a symbolic link"):
        lockfile.save(link, {}, "m.yaml")
    assert link.is_symlink() and real.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lock", "real.lock"]


def test_a_link_planted_at_a_temporary_name_is_not_followed(tmp_path, monkeypatch) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    planted = tmp_path / ".m.lock.aaaaaaaa"
    planted.symlink_to(target)
    names = iter([planted, tmp_path / ".m.lock.bbbbbbbb"])
    monkeypatch.setattr(files, "temporary_name", lambda path: next(names))
    lockfile.save(tmp_path / "m.lock", {"a": entry("a")}, "m.yaml")
    assert target.read_text() == "keep" and planted.is_symlink()
    assert set(lockfile.load(tmp_path / "m.lock")) == {"a"}


def test_a_lockfile_that_is_a_folder_is_a_clear_error(campaign, cli) -> None:
    path = campaign()
    path.with_suffix(".lock").mkdir()
    result = cli("plan", path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: m.lock: is a folder, not a regular file")


def test_a_fifo_journal_is_refused_without_blocking(tmp_path) -> None:
    os.mkfifo(journal_path(tmp_path / "m.lock"))
    with pytest.raises(LockfileError, match=r"m\.lock\.journal: is a special file"):
        State.load(tmp_path / "m.lock", "m.yaml")


# -- 8.3 one row is one line, whatever a CSV cell holds --------------------------


@pytest.mark.parametrize("mark", ["\u2028", "\u2029", "\x85", "\x0c", "\r", "\x0b", "\x1c"])
def test_any_line_break_in_a_title_keeps_the_row_on_one_line(tmp_path, mark) -> None:
    odd = entry("a", title=f"Spring{mark}outreach")
    path = saved(tmp_path, odd, entry("b"))
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3, "escaped, so even str.splitlines() sees three lines"
    assert lockfile.load(path) == {"a": odd, "b": entry("b")}


def test_a_raw_line_separator_written_by_an_older_heyrender_still_loads(tmp_path) -> None:
    path = tmp_path / "m.lock"
    path.write_text(
        '{"heyrender_lockfile": 1}\n'
        '{"key": "a", "request": "r", "status": "completed", "video_id": "v",'
        ' "title": "x\u2028y\u0085z"}\n',
        encoding="utf-8",
    )
    assert lockfile.load(path)["a"].title == "x\u2028y\u0085z"


def test_the_journal_keeps_a_line_separator_inside_its_record(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    state = State.load(lock, "m.yaml")
    state.record(entry("a", "submitting", title="a\u2028b"), durable=True)
    state.close()
    assert State.load(lock, "m.yaml").entries["a"].title == "a\u2028b"


# -- 8.4 two crashes in a row always leave a state that loads ---------------------


def torn_record(lock: Path, record: Entry, keep: int) -> None:
    """Loads the state, records one entry, and cuts the write after `keep` bytes: what a
    kill -9 midway through the write leaves."""
    state = State.load(lock, "m.yaml")
    state.record(record)
    state.close()
    journal = journal_path(lock)
    written = len(lockfile.line_of(record).encode())
    os.truncate(journal, journal.stat().st_size - written + keep)


def test_two_crashes_in_a_row_at_every_byte_leave_a_state_that_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not what this tests
    lock = saved(tmp_path, entry("a"))
    first = Entry("b", "r", "submitting", title="Zoë ✓")  # multi-byte: cuts inside a char
    second = Entry("a", "r", "waiting", video_id="v-a2")
    first_size = len(lockfile.line_of(first).encode())
    second_size = len(lockfile.line_of(second).encode())
    settled = lockfile.line_of(entry("c", "processing")).encode()
    outcomes = set()
    for one in range(first_size + 1):
        for two in range(second_size + 1):
            journal_path(lock).unlink(missing_ok=True)  # ext4 flushes on O_TRUNC: slow
            journal_path(lock).write_bytes(settled)
            torn_record(lock, first, one)
            torn_record(lock, second, two)
            entries = State.load(lock, "m.yaml").entries  # never raises
            assert entries["c"] == entry("c", "processing")
            assert entries.get("b") == (first if one == first_size else None)
            assert entries["a"] == (second if two == second_size else entry("a"))
            outcomes.add((one == first_size, two == second_size))
    assert outcomes == {(False, False), (False, True), (True, False), (True, True)}


def test_a_torn_tail_is_cut_before_the_next_record(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    journal_path(lock).write_bytes(lockfile.line_of(entry("a")).encode() + b'{"key": "b", "req')
    state = State.load(lock, "m.yaml")
    state.record(entry("c"), durable=True)
    state.close()
    assert journal_path(lock).read_bytes().split(b"\n")[1].startswith(b'{"key": "c"')


# -- 8.5 hand-edited lockfiles: every row checked, the line named -----------------

ROW = '{"key": "dana@acme.io", "request": "sha256:a", "status": "completed", "video_id": "v1", '


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ('"intent_at": "yesterday"}', "intent_at: 'yesterday' is not a time like"),
        (
            '"intent_at": "2026-11-25T06:25:48"}',
            "intent_at: '2026-11-25T06:25:48' has no time zone",
        ),
        (
            '"finished_at": 5}',
            "finished_at: expected a time like 2026-11-25T06:25:48Z, found a number 5",
        ),
        ('"previous_video_ids": 5}', "previous_video_ids: expected a list, found a number 5"),
        ('"previous_video_ids": [""]}', "previous_video_ids: holds an empty string"),
        (
            '"previous_video_ids": [7]}',
            "previous_video_ids item: expected a string, found a number 7",
        ),
        ('"duration": "long"}', "duration: expected a number, found a string 'long'"),
        ('"duration": -1}', "duration: -1 is below 0"),
        ('"video_id": true}', "video_id: expected a string, found a boolean True"),
        ('"vidoe_id": "x"}', "unknown field 'vidoe_id'; known: key, request, status"),
    ],
)
def test_a_broken_field_names_its_line_row_and_field(tmp_path, fields, words) -> None:
    path = tmp_path / "m.lock"
    path.write_text('{"heyrender_lockfile": 1}\n' + ROW + fields + "\n")
    with pytest.raises(LockfileError) as caught:
        lockfile.load(path)
    assert str(caught.value).startswith(f"m.lock line 2: row 'dana@acme.io': {words}")


def test_an_escaped_half_surrogate_is_refused_and_a_pair_is_kept(tmp_path) -> None:
    path = tmp_path / "m.lock"
    path.write_text('{"heyrender_lockfile": 1}\n' + ROW + '"title": "a\\ud83d\\ude00"}\n')
    assert lockfile.load(path)["dana@acme.io"].title == "a\U0001f600"
    path.write_text('{"heyrender_lockfile": 1}\n' + ROW + '"title": "a\\ud800"}\n')
    with pytest.raises(LockfileError, match="line 2: not text: it escapes half of a UTF-16"):
        lockfile.load(path)


def test_a_status_must_be_one_of_the_status_enum(tmp_path) -> None:
    path = tmp_path / "m.lock"
    path.write_text('{"heyrender_lockfile": 1}\n{"key": "a", "request": "r", "status": "done"}\n')
    with pytest.raises(LockfileError, match="line 2: row 'a': status: 'done' is not one of"):
        lockfile.load(path)
    for status in Status:
        path.write_text(
            '{"heyrender_lockfile": 1}\n'
            + json.dumps({"key": "a", "request": "r", "status": status.value, "video_id": "v"})
            + "\n"
        )
        assert lockfile.load(path)["a"].status == status.value


def test_times_with_an_offset_are_read_as_utc(tmp_path) -> None:
    path = tmp_path / "m.lock"
    path.write_text(
        '{"heyrender_lockfile": 1}\n'
        + ROW
        + '"intent_at": "2026-11-25T06:25:48+00:00", "submitted_at": "2026-11-25T08:25:49+02:00",'
        + ' "finished_at": "2026-11-25T06:35:50.250Z"}\n'
    )
    row = lockfile.load(path)["dana@acme.io"]
    assert (row.intent_at, row.submitted_at, row.finished_at) == (
        "2026-11-25T06:25:48Z",
        "2026-11-25T06:25:49Z",
        "2026-11-25T06:35:50Z",
    )
    assert lockfile.parse_iso(row.intent_at) == 1795587948.0


def test_a_header_naming_another_manifest_is_refused(campaign, cli) -> None:
    path = campaign()
    path.with_suffix(".lock").write_text('{"heyrender_lockfile": 1, "manifest": "other.yaml"}\n')
    result = cli("status", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: m.lock line 1: the header names the manifest 'other.yaml', not 'm.yaml'"
    )
    assert "if the manifest was renamed" in result.stderr


def test_a_hand_edit_is_an_error_in_every_command_never_a_traceback(campaign, cli) -> None:
    path = campaign()
    path.with_suffix(".lock").write_text(
        '{"heyrender_lockfile": 1, "manifest": "m.yaml"}\n' + ROW + '"intent_at": "yesterday"}\n'
    )
    for command in (("plan", path), ("status", path), ("status", path, "--json")):
        result = cli(*command)
        assert result.exit_code == 1, command
        assert result.stderr.startswith(
            "Error: m.lock line 2: row 'dana@acme.io': intent_at: 'yesterday' is not a time"
        )


def test_the_row_schema_follows_the_dataclass_so_new_fields_need_no_edit() -> None:
    @dataclass(frozen=True)
    class Later:
        key: str
        status: Status
        idempotency_key: str | None = None
        attempt: int = 0
        retried: bool = False

    schema = RowSchema(Later)
    good = {"key": "k", "status": "failed", "idempotency_key": "hr:m.k:1", "attempt": 2}
    assert Later(**schema.check(good)) == Later("k", Status.FAILED, "hr:m.k:1", 2)
    assert schema.check(good)["status"] is Status.FAILED
    for bad, words in [
        ({"idempotency_key": ""}, "idempotency_key: '' is not 1 to 255 of"),
        ({"idempotency_key": "a b"}, "idempotency_key: 'a b' is not 1 to 255 of"),
        ({"idempotency_key": "x" * 256}, "is not 1 to 255 of"),
        ({"attempt": -1}, "attempt: -1 is below 0"),
        ({"attempt": 1.5}, "attempt: expected a whole number, found a number 1.5"),
        ({"attempt": True}, "attempt: expected a whole number, found a boolean True"),
        ({"retried": "no"}, "retried: expected true or false"),
        ({"status": "done"}, "status: 'done' is not one of"),
    ]:
        with pytest.raises(RowInvalid, match=words):
            schema.check({**good, **bad})
    assert schema.check({**good, "idempotency_key": "A-z_0.9:" + "x" * 247})


# -- 8.6 leftovers ----------------------------------------------------------------


def test_a_refused_apply_leaves_no_lockfile_and_no_owner_file(campaign, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setenv("HEYGEN_API_BASE", "http://127.0.0.1:9")
    path = campaign()
    result = cli("apply", path)
    assert "needs approval" in result.stderr
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.yaml", "people.csv"]


def test_a_checkpoint_removes_temporaries_a_killed_write_left(tmp_path) -> None:
    lock = saved(tmp_path, entry("a"))
    stale = [tmp_path / ".m.lock.k2x_9qaz", tmp_path / ".m.lock.abcdefgh"]
    for path in stale:
        path.write_bytes(b"x" * 100_000)
    kept = [tmp_path / ".m.lock.short", tmp_path / ".other.lock.abcdefgh", tmp_path / "m.lock.bak"]
    for path in kept:
        path.write_text("not ours")
    (tmp_path / ".m.lock.linklink").symlink_to(tmp_path / "m.lock.bak")
    with StateLock(lock, "m.yaml"):
        state = State.load(lock, "m.yaml")
        state.record(entry("b"))
        state.checkpoint()
    assert not any(path.exists() for path in stale)
    assert all(path.read_text() == "not ours" for path in kept)
    assert (tmp_path / ".m.lock.linklink").is_symlink()
    assert set(lockfile.load(lock)) == {"a", "b"}


def test_a_checkpoint_with_nothing_new_still_removes_stale_temporaries(tmp_path) -> None:
    lock = saved(tmp_path, entry("a"))
    before = lock.read_bytes()
    (tmp_path / ".m.lock.zzzzzzzz").write_bytes(before)
    with StateLock(lock, "m.yaml"):
        State.load(lock, "m.yaml").checkpoint()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lock"]
    assert lock.read_bytes() == before


def test_a_failed_write_removes_its_temporary(tmp_path, monkeypatch) -> None:
    lock = saved(tmp_path, entry("a"))

    def crash(*_: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        lockfile.save(lock, {"b": entry("b")}, "m.yaml")
    assert [p.name for p in tmp_path.iterdir()] == ["m.lock"]


@pytest.mark.parametrize(
    ("code", "words"), [(errno.EACCES, "Permission denied"), (errno.ENOSPC, "No space left")]
)
def test_a_lockfile_that_cannot_be_written_is_a_clear_error(
    tmp_path, monkeypatch, code, words
) -> None:
    path = saved(tmp_path, entry("a"))
    before = path.read_bytes()
    real_open = os.open

    def refuse(name, flags, *rest):
        if flags & os.O_EXCL:
            raise OSError(code, os.strerror(code))
        return real_open(name, flags, *rest)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(LockfileError, match=rf"m\.lock: cannot be written \({words}"):
        lockfile.save(path, {"b": entry("b")}, "m.yaml")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.lock"]


def test_a_journal_that_cannot_be_opened_is_a_clear_error(tmp_path, monkeypatch) -> None:
    state = State.load(tmp_path / "m.lock", "m.yaml")
    real_open = os.open

    def refuse(name, flags, *rest):
        if str(name).endswith(".journal"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(name, flags, *rest)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(LockfileError, match=r"m\.lock\.journal: cannot be opened \(Read-only"):
        state.record(entry("a"), durable=True)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_lockfile_respects_the_umask(tmp_path, umask, mode) -> None:
    previous = os.umask(umask)
    try:
        path = saved(tmp_path, entry("a"))
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode


def test_a_rewritten_lockfile_keeps_its_mode(tmp_path) -> None:
    path = saved(tmp_path, entry("a"))
    path.chmod(0o640)
    lockfile.save(path, {"b": entry("b")}, "m.yaml")
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_owner_file_is_deleted_on_release_and_a_waiting_lock_is_not_split(tmp_path) -> None:
    lock = tmp_path / "m.lock"
    first = StateLock(lock, "m.yaml").acquire()
    stale_handle = os.open(owner_path(lock), os.O_RDWR)  # a rival opened the old file
    first.release()
    assert not owner_path(lock).exists()
    second = StateLock(lock, "m.yaml").acquire()
    assert second.taken_over is None
    import fcntl

    fcntl.flock(stale_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the unlinked file: worthless
    with pytest.raises(Exception, match="being applied by pid"):
        StateLock(lock, "m.yaml").acquire()
    os.close(stale_handle)
    second.release()


def test_the_readme_gives_the_gitignore_lines() -> None:
    text = README.read_text(encoding="utf-8")
    for line in ("*.lock.journal", "*.lock.owner", ".*.lock.*"):
        assert f"\n{line}\n" in text
