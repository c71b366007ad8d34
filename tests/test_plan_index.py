"""plan's index of the lockfile (`<lockfile>.index`): the next plan reads it instead of the
lockfile, and gives the same answer; any change, journal or damage sends plan back to the
lockfile, with the same answers and errors as if there had never been an index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.state import lockfile, planindex, view
from heyrender.state.lockfile import Entry
from heyrender.state.store import State

STATUSES = ("completed", "completed", "completed", "failed", "processing", "submitting")


def recorded_campaign(
    campaign,
    rows: int = 60,
    *,
    csv: str | None = None,
    statuses: tuple[str, ...] = STATUSES,
    outdated: bool = False,
    orphan: bool = False,
) -> Path:
    """A campaign whose lockfile has every row: most completed, some failed or running;
    with `outdated`, every seventh row asked for another request; with `orphan`, one row
    that is no longer in the CSV."""
    csv = csv or "email,name,avatar\n" + "".join(f"p{i}@x.io,Pé{i},a{i % 3}\n" for i in range(rows))
    path = campaign(csv=csv)
    manifest = manifests.load(path)
    entries = {}
    for i, row in enumerate(Campaign.expand(manifest).rows):
        status = statuses[i % len(statuses)]
        entries[row.key] = Entry(
            row.key,
            "sha256:" + "0" * 64 if outdated and i % 7 == 0 else row.request,
            status,
            title=f"t{i}",
            video_id=None if status == "submitting" else f"v{i}",
            fields={"script": f"{i:08x}"},
            previous_video_ids=("old",) if i % 5 == 0 else (),
            failure_code="E" if status == "failed" else None,
        )
    if orphan:
        entries["gone@x.io"] = Entry("gone@x.io", "sha256:" + "1" * 64, "completed", video_id="g")
    lockfile.save(manifest.lockfile_path, entries, path.name)
    return path


def index_of(path: Path) -> Path:
    return planindex.index_path(path.with_suffix(".lock"))


def cold(monkeypatch) -> list[str]:
    """Makes every time plan builds its entries from the lockfile's rows count itself."""
    reads: list[str] = []
    build = view.PlanEntries.of.__func__  # type: ignore[attr-defined]

    def counted(cls, batches):
        reads.append("lockfile")
        return build(cls, batches)

    monkeypatch.setattr(view.PlanEntries, "of", classmethod(counted))
    return reads


def plans(cli, path: Path) -> tuple[str, str]:
    text, data = cli("plan", path), cli("plan", path, "--json")
    assert text.exit_code == 0 and data.exit_code == 0, text.output + data.output
    return text.stdout, data.stdout


def test_the_second_plan_reads_the_index_and_answers_the_same(campaign, cli, monkeypatch):
    path = recorded_campaign(campaign)
    reads = cold(monkeypatch)
    first = plans(cli, path)
    assert reads == ["lockfile"] and index_of(path).is_file()
    assert plans(cli, path) == first
    assert reads == ["lockfile"], "the later plans read no lockfile row"
    summary = json.loads(first[1])["summary"]
    assert (summary["done"], summary["create"], summary["in_progress"]) == (30, 10, 10)
    assert summary["uncertain"] == 10


def test_an_edited_lockfile_is_read_again(campaign, cli, monkeypatch):
    path = recorded_campaign(campaign)
    plans(cli, path)
    lock = path.with_suffix(".lock")
    text = lock.read_text()
    line = next(x for x in text.splitlines() if '"key": "p0@x.io"' in x)
    request = json.loads(line)["request"]
    lock.write_text(text.replace(request, "sha256:" + "0" * 64))
    reads = cold(monkeypatch)
    data = json.loads(cli("plan", path, "--json").stdout)
    assert reads == ["lockfile"]
    assert data["groups"]["outdated"] == ["p0@x.io"]
    assert plans(cli, path)[1] == cli("plan", path, "--json").stdout
    assert reads == ["lockfile"], "a fresh index serves the edited lockfile"


def test_a_broken_edit_gets_the_error_it_gets_without_an_index(campaign, cli):
    path = recorded_campaign(campaign)
    plans(cli, path)
    lock = path.with_suffix(".lock")
    lock.write_text(lock.read_text().replace('"completed"', '"complete"', 1))
    with_index = cli("plan", path)
    index_of(path).unlink()
    without = cli("plan", path)
    assert with_index.exit_code == without.exit_code != 0
    assert with_index.output == without.output
    assert "line 2" in without.output and "status: 'complete'" in without.output


def test_a_journal_beside_the_lockfile_is_merged_not_ignored(campaign, cli):
    path = recorded_campaign(campaign)
    before = json.loads(plans(cli, path)[1])
    state = State.load(path.with_suffix(".lock"), path.name)
    state.record(Entry("p0@x.io", "sha256:" + "1" * 64, "completed", video_id="v-new"))
    state.close()
    after = json.loads(cli("plan", path, "--json").stdout)
    assert "p0@x.io" in before["groups"]["done"]
    assert after["groups"]["outdated"] == ["p0@x.io"]


def flip_last_byte(index: Path) -> None:
    data = bytearray(index.read_bytes())
    data[-1] ^= 1
    index.write_bytes(bytes(data))


def truncate(index: Path) -> None:
    index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])


def garbage(index: Path) -> None:
    index.write_bytes(b"heyrender-plan-index\n{not json\n")


def other_manifest(index: Path) -> None:
    magic, meta, payload = index.read_bytes().split(b"\n", 2)
    changed = json.loads(meta) | {"manifest": "other.yaml"}
    index.write_bytes(b"\n".join((magic, json.dumps(changed).encode(), payload)))


@pytest.mark.parametrize("damage", [flip_last_byte, truncate, garbage, other_manifest])
def test_a_damaged_index_is_ignored_and_replaced(campaign, cli, damage):
    path = recorded_campaign(campaign)
    expected = plans(cli, path)
    damage(index_of(path))
    assert plans(cli, path) == expected
    assert planindex.load(path.with_suffix(".lock"), path.name) is not None


def test_an_index_that_is_a_link_is_never_followed(campaign, cli, tmp_path):
    path = recorded_campaign(campaign)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours")
    index_of(path).symlink_to(elsewhere)
    expected = plans(cli, path)
    assert plans(cli, path) == expected
    assert elsewhere.read_text() == "not yours" and index_of(path).is_symlink()


def test_a_folder_plan_cannot_write_its_index_in_only_costs_speed(campaign, cli):
    path = recorded_campaign(campaign)
    index_of(path).mkdir()
    first = plans(cli, path)
    assert plans(cli, path) == first and index_of(path).is_dir()


def test_the_index_answers_every_key_as_the_lockfile_does(tmp_path):
    lock = tmp_path / "m.lock"
    keys = [f"k{i:04d}" for i in range(3000)] + ["zoë✓", "emoji😀"]
    entries = {
        key: Entry(
            key,
            "sha256:" + f"{i:064x}" if i % 7 else "sha256:short",
            STATUSES[i % len(STATUSES)],
            video_id=None if STATUSES[i % len(STATUSES)] == "submitting" else f"v{i}",
            fields={"a.b": "0badf00d"} if i % 3 == 0 else None,
            previous_video_ids=("x", "y") if i % 4 == 0 else (),
            attempt=2 if i % 2 else None,
        )
        for i, key in enumerate(keys)
    }
    lockfile.save(lock, entries, "m.yaml")
    built = view.plan_entries(lock, "m.yaml")
    parts = planindex.load(lock, "m.yaml")
    assert parts is not None
    loaded = view.PlanEntries(parts)
    assert sorted(loaded) == sorted(built) == sorted(keys)
    for key in [*keys, "absent", "k00001", ""]:
        assert loaded.get(key) == built.get(key)
        assert loaded.find(key) == built.find(key)
    assert loaded.whole == built.whole and len(loaded.whole) > 1000
    assert planindex.load(lock, "other.yaml") is None


def test_the_gitignore_line_for_temporary_files_covers_the_index(tmp_path):
    from fnmatch import fnmatch

    index = planindex.index_path(tmp_path / "outreach.lock")
    assert fnmatch(index.name, ".*.lock.*") and not fnmatch("outreach.lock", ".*.lock.*")
