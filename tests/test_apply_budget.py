"""apply's spend guards and saved plans, as real subprocesses against the emulator:
the estimate beside the balance, refusal above it, --max-cost, apply FILE, stale plans."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from heyrender.state import lockfile
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

FAST = ("--poll-interval", "0.05")
# 5 words at 150 a minute: 2 s of a studio avatar at $0.0667 a second, $0.13 a row
ROW_USD = 2 * 0.0667

VOICE_MANIFEST = """\
version: 1
name: voice
source: {csv: people.csv, key: email}
video:
  avatar_id: a1
  audio_url: "https://example.com/{{ row.name }}.mp3"
"""


def write(folder: Path, rows: int, manifest: str = CAMPAIGN_MANIFEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text(campaign_csv(rows))
    (folder / "drill.yaml").write_text(manifest)
    return folder / "drill.yaml"


def run(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """heyrender with stdin that is not a terminal: a prompt would refuse, never wait."""
    return heyrender(*args, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(
    ("billing", "shown"),
    [
        ("wallet", "Balance: $100.00 (wallet)."),
        ("usage_based", "Balance: $100.00 left of the $100.00 spending cap (usage-based)."),
        ("subscription", "Balance: 100 credits (subscription; not compared with USD)."),
    ],
)
def test_the_estimate_is_shown_beside_the_balance_before_asking(
    tmp_path, start_emulator, billing, shown
) -> None:
    emulator = start_emulator("--quiet", "--balance-usd", "100", "--billing-type", billing)
    result = run("apply", write(tmp_path, 3), env=emulator.env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Estimate: 3 videos, about 6s, ${3 * ROW_USD:.2f}. {shown}\n" in result.stdout
    assert "needs approval" in result.stderr
    assert emulator.stats()["creates_accepted"] == 0


def test_a_v2_campaign_says_the_balance_is_not_checked(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--quiet")
    manifest = write(tmp_path, 1, CAMPAIGN_MANIFEST.replace("name: drill", "name: drill\napi: v2"))
    result = run("apply", manifest, env=emulator.env())
    assert "Balance: not checked (API v2 has no balance call)." in result.stdout


@pytest.mark.parametrize(
    ("billing", "source"),
    [("wallet", "wallet balance"), ("usage_based", "remaining spending cap")],
)
def test_apply_refuses_to_start_above_the_balance(
    tmp_path, start_emulator, billing, source
) -> None:
    emulator = start_emulator("--quiet", "--balance-usd", "0.5", "--billing-type", billing)
    result = run("apply", write(tmp_path, 5), "--yes", *FAST, env=emulator.env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(
        f"Error: the estimate (${5 * ROW_USD:.2f}) is above the account's {source} ($0.50); "
        "nothing was submitted\n"
    )
    assert "Traceback" not in result.stderr
    assert emulator.stats()["creates_accepted"] == 0


def test_max_cost_refuses_to_start_when_the_estimate_is_above_it(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--quiet")
    manifest = write(tmp_path, 5)
    result = run("apply", manifest, "--yes", "--max-cost", "0.5", *FAST, env=emulator.env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"Error: the estimate (${5 * ROW_USD:.2f} for 5 videos) is above --max-cost $0.50; "
        "nothing was submitted" in result.stderr
    )
    assert emulator.stats()["creates_accepted"] == 0
    assert not manifest.with_suffix(".lock").exists()


def test_max_cost_stops_submitting_when_reached_and_says_how_many_remain(
    tmp_path, start_emulator
) -> None:
    """Audio rows have no known length: each is charged at HeyGen's 10-minute limit
    ($40.02 at $0.0667 a second), so $100 lets two of five through, one slot at a time."""
    emulator = start_emulator("--quiet", "--render-seconds", "0.2", "--max-concurrent", "1")
    manifest = write(tmp_path, 5, VOICE_MANIFEST)
    args = ("apply", manifest, "--yes", "--max-cost", "100", "--concurrency", "1", *FAST)
    result = run(*args, env=emulator.env())
    assert result.returncode == 4, result.stdout + result.stderr
    assert (
        "Stopped submitting: --max-cost $100.00 reached: $80.04 estimated for what was "
        "submitted; 3 rows left." in result.stdout
    )
    assert emulator.stats()["creates_accepted"] == 2
    entries = lockfile.load(manifest.with_suffix(".lock"))
    assert sorted(entries) == ["p00@x.io", "p01@x.io"]
    assert all(entry.status == "completed" for entry in entries.values())


def test_apply_file_carries_out_the_saved_plan_without_asking(
    tmp_path, start_emulator, cli
) -> None:
    emulator = start_emulator("--quiet", "--render-seconds", "0.2")
    manifest = write(tmp_path, 3)
    plan_file = tmp_path / "reviewed.plan"
    assert cli("plan", manifest, "--out", plan_file).exit_code == 0
    result = run("apply", plan_file, *FAST, env=emulator.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Carrying out the saved plan {plan_file}" in result.stdout
    assert "Submitting 3 videos" in result.stdout
    assert emulator.stats()["creates_accepted"] == 3
    entry = lockfile.load(manifest.with_suffix(".lock"))["p00@x.io"]
    assert entry.fields is not None and set(entry.fields) >= {"avatar_id", "script", "voice_id"}

    again = run("apply", plan_file, *FAST, env=emulator.env())
    assert again.returncode == 1 and "stale plan" in again.stderr, "its lockfile changed"
    assert emulator.stats()["creates_accepted"] == 3


def edit_manifest(manifest: Path) -> None:
    manifest.write_text(manifest.read_text().replace("a short drill", "a longer drill"))


def edit_csv(manifest: Path) -> None:
    (manifest.parent / "people.csv").write_text(campaign_csv(4))


def edit_lockfile(manifest: Path) -> None:
    entry = lockfile.Entry("gone@x.io", "sha256:" + "0" * 64, "completed", video_id="v-gone")
    lockfile.save(manifest.with_suffix(".lock"), {entry.key: entry}, manifest.name)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (edit_manifest, "manifest drill.yaml"),
        (edit_csv, "CSV people.csv"),
        (edit_lockfile, "lockfile drill.lock"),
    ],
)
def test_a_stale_plan_is_refused_and_nothing_is_submitted(
    tmp_path, start_emulator, cli, change, named
) -> None:
    emulator = start_emulator("--quiet")
    manifest = write(tmp_path, 3)
    plan_file = tmp_path / "reviewed.plan"
    assert cli("plan", manifest, "--out", plan_file).exit_code == 0
    change(manifest)
    result = run("apply", plan_file, "--yes", *FAST, env=emulator.env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(
        f"Error: stale plan: reviewed.plan was made from a different {named}; "
        "nothing was submitted\n"
    )
    assert f"review it again: heyrender plan {manifest} --out {plan_file}" in result.stderr
    assert emulator.stats()["creates_accepted"] == 0


def test_a_saved_plan_cannot_be_changed_by_options(tmp_path, cli) -> None:
    manifest = write(tmp_path, 2)
    plan_file = tmp_path / "reviewed.plan"
    assert cli("plan", manifest, "--out", plan_file).exit_code == 0
    result = cli("apply", plan_file, "--limit", "1")
    assert result.exit_code != 0
    assert "--limit cannot change a saved plan" in result.stderr


def test_a_plan_made_with_files_outside_the_campaign_needs_the_flag_again(tmp_path, cli) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text(campaign_csv(2))
    manifest = tmp_path / "campaign" / "drill.yaml"
    manifest.parent.mkdir()
    manifest.write_text(
        textwrap.dedent(CAMPAIGN_MANIFEST).replace("csv: people.csv", "csv: ../data/people.csv")
    )
    plan_file = tmp_path / "campaign" / "reviewed.plan"
    made = cli("plan", manifest, "--allow-outside-campaign", "--out", plan_file)
    assert made.exit_code == 0, made.output
    result = cli("apply", plan_file)
    assert result.exit_code != 0
    assert (
        "reviewed.plan was made with --allow-outside-campaign; pass it to apply too"
        in result.stderr
    )
