"""A manifest reads only files inside its campaign; system and special files never."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from heyrender.campaign.paths import Boundary, PathRefused, campaign_root, open_regular

MANIFEST = """\
version: 1
source:
  csv: {csv}
  key: id
video:
  avatar_id: a1
  voice_id: v1
  script: "Hi {{{{ row.name }}}}"
"""


def write_manifest(folder: Path, csv: str, name: str = "m.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(MANIFEST.format(csv=csv))
    return path


def test_proc_environ_is_refused_and_no_secret_is_shown(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "sk-very-secret-key")
    manifest = write_manifest(tmp_path, "/proc/self/environ")
    for command in ("validate", "render", "plan", "status"):
        result = cli(command, manifest)
        assert result.exit_code != 0
        assert "sk-very-secret-key" not in result.output
        assert (
            "m.yaml line 3, column 8: source.csv: CSV file /proc/self/environ is a system file"
            in (result.output)
        )
    # not even with the flag
    result = cli("validate", "--allow-outside-campaign", manifest)
    assert result.exit_code != 0 and "system file" in result.output
    assert "sk-very-secret-key" not in result.output


def test_etc_passwd_is_outside_the_campaign(tmp_path: Path, cli) -> None:
    manifest = write_manifest(tmp_path, "/etc/passwd")
    result = cli("render", manifest)
    assert result.exit_code == 1
    assert "root:" not in result.output
    assert f"source.csv: CSV file /etc/passwd is outside the campaign {tmp_path.resolve()}" in (
        result.output
    )
    assert "--allow-outside-campaign" in result.output


def test_the_flag_allows_outside_files_but_never_quotes_much_content(tmp_path: Path, cli) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("SECRET=" + "x" * 500 + ",other\n1,2\n")
    manifest = write_manifest(tmp_path / "campaign", "../elsewhere.csv")
    refused = cli("validate", manifest)
    assert refused.exit_code == 1 and "is outside the campaign" in refused.output
    allowed = cli("validate", "--allow-outside-campaign", manifest)
    assert allowed.exit_code == 1
    assert "'id' is not a column of elsewhere.csv (columns: SECRET=xxx" in allowed.output
    assert "x" * 40 not in allowed.output


def test_a_symlink_pointing_out_is_refused(tmp_path: Path, cli) -> None:
    (tmp_path / "secret.csv").write_text("id,name\n1,Dana\n")
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (campaign / "people.csv").symlink_to(tmp_path / "secret.csv")
    manifest = write_manifest(campaign, "people.csv")
    result = cli("render", manifest)
    assert result.exit_code == 1
    assert "people.csv (which is" in result.output and "is outside the campaign" in result.output
    assert "Dana" not in result.output


def test_a_symlink_inside_the_campaign_is_fine(tmp_path: Path, cli) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.csv").write_text("id,name\n1,Dana\n")
    (tmp_path / "people.csv").symlink_to(tmp_path / "data" / "real.csv")
    result = cli("render", write_manifest(tmp_path, "people.csv"))
    assert result.exit_code == 0 and "Hi Dana" in result.output


def test_dot_dot_escapes_are_refused(tmp_path: Path, cli) -> None:
    (tmp_path / "people.csv").write_text("id,name\n1,Dana\n")
    manifest = write_manifest(tmp_path / "a" / "b", "../../people.csv")
    result = cli("validate", manifest)
    assert result.exit_code == 1 and "is outside the campaign" in result.output


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "people.csv")
    manifest = write_manifest(tmp_path, "people.csv")
    # a subprocess with a timeout: a hang fails the test instead of blocking the suite
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "heyrender", "validate", str(manifest), "--allow-outside-campaign"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "people.csv is a FIFO, not a regular file" in done.stderr


def test_open_regular_refuses_a_fifo_and_a_device_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(PathRefused, match="is a FIFO"):
        open_regular(tmp_path / "fifo")
    with pytest.raises(PathRefused, match="is a device"):
        open_regular(Path("/dev/null"))
    with pytest.raises(PathRefused, match="is a folder"):
        open_regular(tmp_path)


def test_dev_and_sys_are_refused_even_when_allowed(tmp_path: Path) -> None:
    boundary = Boundary(tmp_path, allow_outside=True)
    for name in ("/dev/zero", "/sys/kernel/notes", "/proc/self/environ"):
        with pytest.raises(PathRefused, match="system file"):
            boundary.resolve(name, tmp_path)


def test_the_campaign_is_the_git_repository_above_the_manifest(tmp_path: Path, cli) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text("id,name\n1,Dana\n")
    manifest = write_manifest(tmp_path / "campaigns" / "spring", "../../data/people.csv")
    assert campaign_root(manifest) == tmp_path.resolve()
    result = cli("render", manifest)
    assert result.exit_code == 0, result.output
    assert "Hi Dana" in result.output


def test_without_git_the_campaign_is_the_manifest_folder(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "one", "people.csv")
    assert campaign_root(manifest) == (tmp_path / "one").resolve()


def test_every_manifest_command_takes_the_flag(tmp_path: Path, cli) -> None:
    for command in ("validate", "render", "plan", "apply", "status", "download"):
        result = cli(command, "--help")
        assert "--allow-outside-campaign" in result.output, command


def test_long_cells_and_headers_are_cut_short_in_messages(tmp_path: Path, cli) -> None:
    (tmp_path / "people.csv").write_text(
        textwrap.dedent(f"""\
            id,name,speed
            1,Dana,{"9" * 30}x{"s" * 300}
            """)
    )
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        MANIFEST.format(csv="people.csv") + '  voice_settings:\n    speed: "{{ row.speed }}"\n'
    )
    result = cli("validate", manifest)
    assert result.exit_code == 1
    assert "is not a number" in result.output
    assert "s" * 50 not in result.output


def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("SECRET\n")
    (tmp_path / "people.csv").symlink_to(tmp_path / "secret")
    with pytest.raises(PathRefused, match="became a symbolic link"):
        open_regular(tmp_path / "people.csv")
