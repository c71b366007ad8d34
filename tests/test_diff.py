"""What changed: plan names an outdated row's fields; diff compares with a git revision."""

from __future__ import annotations

import json
import subprocess
import textwrap

from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry


def record_as_rendered(path, status: str = "completed", with_fields: bool = True) -> None:
    """A lockfile as apply leaves it after sending every row of the campaign as it is now."""
    campaign = Campaign.expand(manifests.load(path))
    sent = campaign.bodies([row.key for row in campaign.rows])  # what apply sends, with fields
    entries = {
        row.key: Entry(
            row.key,
            row.request,
            status,
            video_id=f"v-{row.key}",
            fields=dict(row.fields) if with_fields else None,
        )
        for row, _ in sent
    }
    lockfile.save(path.with_suffix(".lock"), entries, path.name)


SPEEDY = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar }}"
  voice_id: v1
  script: "Hello {{ row.name }}!"
  voice_settings:
    speed: 1.1
"""


def test_plan_names_the_fields_that_changed_in_each_outdated_row(campaign, cli) -> None:
    path = campaign()
    record_as_rendered(path)
    lock = path.with_suffix(".lock").read_text()
    assert '"fields": {"avatar_id": ' in lock and '"script": ' in lock
    campaign(SPEEDY, csv="email,name,avatar\ndana@acme.io,Dana,a1\nli@globex.com,Li,a9\n")
    result = cli("plan", path)
    assert "    ~ dana@acme.io: script, voice_settings.speed\n" in result.stdout
    assert "    ~ li@globex.com: avatar_id, script, voice_settings.speed\n" in result.stdout
    data = json.loads(cli("plan", path, "--json").stdout)
    assert data["changed_fields"] == {
        "dana@acme.io": ["script", "voice_settings.speed"],
        "li@globex.com": ["avatar_id", "script", "voice_settings.speed"],
    }


def test_a_row_sent_before_field_hashes_says_so(campaign, cli) -> None:
    path = campaign()
    record_as_rendered(path, with_fields=False)
    campaign(SPEEDY)
    result = cli("plan", path)
    assert (
        "    ~ dana@acme.io: fields not recorded (sent before heyrender kept field hashes)"
        in result.stdout
    )


def test_plan_all_lists_changes_before_unchanged_rows(campaign, cli) -> None:
    path = campaign()
    record_as_rendered(path)
    campaign(csv="email,name,avatar\ndana@acme.io,Dana,a1\nli@globex.com,Lee,a2\nnew@x.io,N,a3\n")
    out = cli("plan", path, "--all").stdout
    assert out.index("to create: 1") < out.index("outdated") < out.index("done: 1")
    assert "    ~ li@globex.com: script\n" in out


def git(folder, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@x", "-c", "user.name=t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def repository(tmp_path, manifest: str, csv: str, subfolder: str = "campaigns"):
    folder = tmp_path / subfolder
    folder.mkdir(parents=True)
    path = folder / "m.yaml"
    path.write_text(textwrap.dedent(manifest))
    (folder / "people.csv").write_text(csv)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    return path


BEFORE = "email,name,avatar\ndana@acme.io,Dana,a1\nli@globex.com,Li,a2\nold@x.io,Old,a3\n"
AFTER = "email,name,avatar\ndana@acme.io,Dana,a1\nli@globex.com,Li,a2\nnew@x.io,New,a3\n"


def test_diff_against_a_revision_prints_old_and_new_values(tmp_path, cli) -> None:
    from tests.conftest import BASE_MANIFEST

    path = repository(tmp_path, BASE_MANIFEST, BEFORE)
    path.write_text(textwrap.dedent(SPEEDY))
    (path.parent / "people.csv").write_text(AFTER)
    result = cli("diff", path, "--against", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.stdout == textwrap.dedent(
        """\
        m since HEAD: 2 changed, 1 added, 1 removed, 0 unchanged

        ~ dana@acme.io
            script
              - "Hi Dana!"
              + "Hello Dana!"
            voice_settings.speed
              - (absent)
              + 1.1

        ~ li@globex.com
            script
              - "Hi Li!"
              + "Hello Li!"
            voice_settings.speed
              - (absent)
              + 1.1

        + new@x.io

        - old@x.io
        """
    )
    data = json.loads(cli("diff", path, "--against", "HEAD", "--json").stdout)
    assert data["summary"] == {"changed": 2, "added": 1, "removed": 1, "unchanged": 0}
    assert data["changed"][0] == {
        "key": "dana@acme.io",
        "fields": [
            {"field": "script", "old": "Hi Dana!", "new": "Hello Dana!"},
            {"field": "voice_settings.speed", "old": None, "new": 1.1},
        ],
    }


def test_diff_reads_the_old_csv_from_git_not_from_disk(tmp_path, cli) -> None:
    from tests.conftest import BASE_MANIFEST

    path = repository(tmp_path, BASE_MANIFEST, BEFORE)
    (path.parent / "people.csv").write_text(BEFORE.replace("Li,", "Lee,"))
    result = cli("diff", path, "--against", "HEAD", "--json")
    data = json.loads(result.stdout)
    assert data["summary"] == {"changed": 1, "added": 0, "removed": 0, "unchanged": 2}
    assert data["changed"][0]["fields"] == [{"field": "script", "old": "Hi Li!", "new": "Hi Lee!"}]


def test_a_csv_outside_the_repository_is_refused(tmp_path, cli) -> None:
    from tests.conftest import BASE_MANIFEST

    outside = BASE_MANIFEST.replace("csv: people.csv", "csv: ../../people.csv")
    (tmp_path / "people.csv").write_text(BEFORE)
    path = repository(tmp_path / "repo", outside, BEFORE)
    result = cli("diff", path, "--against", "HEAD", "--allow-outside-campaign")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: m.yaml at HEAD: its CSV ../../people.csv lies outside the git repository, "
        "so its old contents cannot be read\n"
    )


def test_an_unknown_revision_and_a_folder_without_git(tmp_path, cli, campaign) -> None:
    from tests.conftest import BASE_MANIFEST

    path = repository(tmp_path / "repo", BASE_MANIFEST, BEFORE)
    result = cli("diff", path, "--against", "no-such-rev")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: cannot read the manifest campaigns/m.yaml at no-such-rev: fatal:"
    )
    loose = campaign()
    result = cli("diff", loose, "--against", "HEAD")
    assert result.exit_code == 1
    assert result.stderr == "Error: m.yaml is not in a git repository\n"


def test_a_hand_broken_fields_map_is_a_clear_error(campaign, cli) -> None:
    path = campaign()
    path.with_suffix(".lock").write_text(
        '{"heyrender_lockfile": 1, "manifest": "m.yaml"}\n'
        '{"key": "dana@acme.io", "request": "sha256:0", "status": "completed", '
        '"fields": {"script": 3}}\n'
    )
    result = cli("plan", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: m.lock line 2: row 'dana@acme.io': fields value: expected a string, found a number 3\n"
    )


def test_a_broken_old_csv_names_the_revision(tmp_path, cli) -> None:
    from tests.conftest import BASE_MANIFEST

    path = repository(tmp_path, BASE_MANIFEST, BEFORE + "dana@acme.io,Again,a1\n")
    (path.parent / "people.csv").write_text(BEFORE)
    result = cli("diff", path, "--against", "HEAD")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: as of HEAD, people.csv: key column 'email' must be unique and non-empty: "
        "duplicate email: dana@acme.io (lines 2, 5)"
    )


def test_local_media_files_are_read_from_git_too(tmp_path, cli) -> None:
    from heyrender.emulator.thumbnail import JPEG

    manifest = """\
    version: 1
    source:
      csv: people.csv
      key: email
    video:
      image_file: "../faces/{{ row.face }}"
      voice_id: v1
      script: "Hi {{ row.name }}!"
    """
    csv = "email,name,face\ndana@acme.io,Dana,d.jpg\nli@globex.com,Li,l.jpg\n"
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "d.jpg").write_bytes(JPEG)
    (tmp_path / "faces" / "l.jpg").write_bytes(JPEG + b"li")
    path = repository(tmp_path, manifest, csv)
    (tmp_path / "faces" / "l.jpg").write_bytes(JPEG + b"new photo")
    data = json.loads(cli("diff", path, "--against", "HEAD", "--json").stdout)
    assert data["summary"] == {"changed": 1, "added": 0, "removed": 0, "unchanged": 1}
    assert data["changed"][0]["key"] == "li@globex.com"
    assert [f["field"] for f in data["changed"][0]["fields"]] == ["image_asset_id"]
