"""plan, apply, status and download as users run them: real processes against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from heyrender.state import lockfile, planindex
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

FAST = ("--poll-interval", "0.05", "--settle-grace", "0.5")


@pytest.fixture
def drill(campaign):
    def write(rows: int = 6, manifest: str = CAMPAIGN_MANIFEST):
        return campaign(manifest, campaign_csv(rows), name="drill")

    return write


def wait_for_creates(emulator, count: int) -> None:
    deadline = time.monotonic() + 20
    while emulator.stats()["creates_accepted"] < count and time.monotonic() < deadline:
        time.sleep(0.05)


def apply_in_background(manifest, emulator) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes", *FAST],
        env=emulator.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def entries(manifest) -> dict:
    return lockfile.load(manifest.with_suffix(".lock"))


def test_apply_renders_every_row_once_and_a_second_apply_does_nothing(
    drill, start_emulator
) -> None:
    manifest = drill(6)
    emulator = start_emulator("--render-seconds", "0.3", "--max-concurrent", "2")
    first = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Done: 6 completed, 0 failed" in first.stdout
    rows = entries(manifest)
    assert sorted(rows) == [f"p{i:02d}@x.io" for i in range(6)]
    assert all(e.status == "completed" and e.video_id for e in rows.values())
    assert not manifest.with_suffix(".lock.journal").exists()
    lock = manifest.with_suffix(".lock")
    assert planindex.load(lock, manifest.name), "the next plan's index"
    stats = emulator.stats()
    assert stats["peak_unfinished"] == 2
    assert sorted(stats["creates_by_title"].values()) == [1] * 6
    again = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert again.returncode == 0
    assert "Nothing to submit." in again.stdout
    assert emulator.stats()["creates_accepted"] == 6
    status = heyrender("status", manifest, "--json", env=emulator.env())
    lines = [json.loads(line) for line in status.stdout.splitlines()]
    assert {row["key"]: row["video_id"] for row in lines} == {
        k: e.video_id for k, e in rows.items()
    }
    assert "test-key" not in first.stdout + first.stderr + manifest.with_suffix(".lock").read_text()


def test_apply_under_faults_creates_each_row_exactly_once(drill, start_emulator) -> None:
    manifest = drill(12)
    emulator = start_emulator(
        "--render-seconds",
        "0.3",
        "--max-concurrent",
        "4",
        "--fault-rate",
        "0.35",
        "--seed",
        "7",
        "--slow-seconds",
        "1",
    )
    result = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env(), timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    stats = emulator.stats()
    assert (
        stats["faults"].get("created-then-drop", 0) + stats["faults"].get("created-then-502", 0) > 0
    )
    assert sorted(stats["creates_by_title"].values()) == [1] * 12
    rows = entries(manifest)
    assert all(e.status == "completed" for e in rows.values())
    listed = {e.video_id for e in rows.values()}
    assert len(listed) == 12


def test_limit_samples_then_the_rest_follows(drill, start_emulator) -> None:
    manifest = drill(5)
    emulator = start_emulator("--render-seconds", "0.2", "--max-concurrent", "5")
    sample = heyrender("apply", manifest, "--yes", "--limit", "2", *FAST, env=emulator.env())
    assert sample.returncode == 4 and emulator.stats()["creates_accepted"] == 2  # held back
    plan = heyrender("plan", manifest, "--json", env=emulator.env())
    assert json.loads(plan.stdout)["summary"]["create"] == 3
    rest = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert rest.returncode == 0 and emulator.stats()["creates_accepted"] == 5


def test_no_wait_then_status_refresh(drill, start_emulator) -> None:
    manifest = drill(3)
    emulator = start_emulator("--render-seconds", "0.5", "--max-concurrent", "5")
    submitted = heyrender("apply", manifest, "--yes", "--no-wait", *FAST, env=emulator.env())
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "heyrender status --refresh" in submitted.stdout
    assert all(e.status == "waiting" for e in entries(manifest).values())
    time.sleep(0.7)
    refreshed = heyrender("status", manifest, "--refresh", env=emulator.env())
    assert refreshed.stdout.startswith("3 completed")
    assert all(e.status == "completed" for e in entries(manifest).values())


def test_outdated_rows_are_replaced_only_when_asked_and_old_ids_are_kept(
    drill, start_emulator
) -> None:
    manifest = drill(3)
    emulator = start_emulator("--render-seconds", "0.2", "--max-concurrent", "5")
    assert heyrender("apply", manifest, "--yes", *FAST, env=emulator.env()).returncode == 0
    old = entries(manifest)["p01@x.io"].video_id
    csv = manifest.parent / "people.csv"
    csv.write_text(csv.read_text().replace("Name1,", "Renamed,"))
    plan = heyrender("plan", manifest, "--detailed-exitcode", env=emulator.env())
    assert plan.returncode == 2
    assert "~ p01@x.io" in plan.stdout
    untouched = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert untouched.returncode == 4, "outdated rows left as they are: held back"
    assert "Nothing to submit." not in untouched.stdout
    assert "1 outdated row left as they are" in untouched.stdout
    assert "p01@x.io. Pass --replace-outdated" in untouched.stdout
    replaced = heyrender(
        "apply", manifest, "--yes", "--replace-outdated", *FAST, env=emulator.env()
    )
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    row = entries(manifest)["p01@x.io"]
    assert row.video_id != old and row.previous_video_ids == (old,)
    assert heyrender("plan", manifest, "--detailed-exitcode", env=emulator.env()).returncode == 0


def test_failed_renders_exit_1_and_are_retried_by_the_next_apply(drill, start_emulator) -> None:
    manifest = drill(6)
    emulator = start_emulator(
        "--render-seconds", "0.2", "--max-concurrent", "6", "--fail-rate", "0.5", "--seed", "2"
    )
    first = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    failed = [e for e in entries(manifest).values() if e.status == "failed"]
    assert first.returncode == 1 and failed
    assert all(e.failure_code == "RENDER_FAILED" for e in failed)
    plan = json.loads(heyrender("plan", manifest, "--json", env=emulator.env()).stdout)
    assert sorted(plan["groups"]["create"]) == sorted(e.key for e in failed)


def test_running_out_of_credit_stops_submitting_and_says_what_remains(
    drill, start_emulator
) -> None:
    manifest = drill(6)
    emulator = start_emulator("--render-seconds", "0.2", "--max-concurrent", "1", "--credits", "2")
    result = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert result.returncode == 1
    assert "Stopped submitting:" in result.stdout and "credit" in result.stdout
    assert "4 rows still to create." in result.stdout, "3 never sent, 1 failed for credit"
    assert emulator.stats()["creates_accepted"] == 3


def test_a_rejected_key_stops_everything(drill, start_emulator) -> None:
    manifest = drill(2)
    emulator = start_emulator("--api-key", "the-right-one")
    result = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env("sk-wrong-key"))
    assert result.returncode == 1
    assert "Error: stopped: HeyGen answered 401 unauthorized" in result.stderr
    assert "Traceback" not in result.stderr
    assert "sk-wrong-key" not in result.stdout + result.stderr
    assert emulator.stats()["creates_accepted"] == 0


def test_timeout_exits_3_and_a_later_apply_finishes(drill, start_emulator) -> None:
    manifest = drill(2)
    emulator = start_emulator("--render-seconds", "2", "--max-concurrent", "2")
    result = heyrender("apply", manifest, "--yes", "--timeout", "0.5", *FAST, env=emulator.env())
    assert result.returncode == 3, result.stdout + result.stderr
    assert "To continue: heyrender apply" in result.stdout
    later = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert later.returncode == 0 and emulator.stats()["creates_accepted"] == 2


def test_a_second_apply_on_the_same_manifest_exits_at_once(drill, start_emulator) -> None:
    manifest = drill(4)
    emulator = start_emulator("--render-seconds", "3", "--max-concurrent", "4")
    first = apply_in_background(manifest, emulator)
    try:
        wait_for_creates(emulator, 4)
        second = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
        assert second.returncode == 1
        assert f"is being applied by pid {first.pid} on " in second.stderr
        assert "nothing was submitted" in second.stderr
        assert first.wait(timeout=30) == 0
    finally:
        first.kill()
        first.communicate()
    assert emulator.stats()["creates_accepted"] == 4


def test_ctrl_c_records_what_is_in_flight_and_exits_130(drill, start_emulator) -> None:
    manifest = drill(4)
    emulator = start_emulator("--render-seconds", "3", "--max-concurrent", "2")
    process = apply_in_background(manifest, emulator)
    wait_for_creates(emulator, 2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Interrupted" in out
    # each create the emulator took is in the lockfile: with its video ID, or, when Ctrl-C
    # came while its answer was on the way, as an intent with the key that replays it
    recorded = entries(manifest).values()
    assert {e.title for e in recorded} >= set(emulator.stats()["creates_by_title"])
    assert all(e.video_id or e.idempotency_key for e in recorded)
    resumed = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert sorted(emulator.stats()["creates_by_title"].values()) == [1] * 4


def test_download_saves_completed_videos_once(drill, start_emulator, tmp_path) -> None:
    manifest = drill(3)
    emulator = start_emulator("--render-seconds", "0.1", "--max-concurrent", "5", "--url-ttl", "60")
    assert heyrender("apply", manifest, "--yes", *FAST, env=emulator.env()).returncode == 0
    out = tmp_path / "videos"
    first = heyrender("download", manifest, "--out", out, env=emulator.env())
    assert first.returncode == 0, first.stdout + first.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["p00@x.io.mp4", "p01@x.io.mp4", "p02@x.io.mp4"]
    assert all((out / f).read_bytes()[4:8] == b"ftyp" for f in files)
    again = heyrender("download", manifest, "--out", out, env=emulator.env())
    assert "3 already in" in again.stdout and "->" not in again.stdout


def test_demo_runs_end_to_end_without_a_key() -> None:
    import os
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("HEYGEN_API_KEY", "HEYGEN_API_BASE")}
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
    result = subprocess.run(
        [sys.executable, str(demo)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "using the bundled emulator" in result.stdout
    assert "Done: 5 completed, 0 failed" in result.stdout
    assert "\n5 completed\n" in result.stdout


def test_kill_9_at_random_moments_never_pays_twice_nor_loses_a_video(drill, start_emulator) -> None:
    import random

    rows = 16
    manifest = drill(rows)
    emulator = start_emulator(
        "--render-seconds",
        "1",
        "--max-concurrent",
        "3",
        "--fault-rate",
        "0.15",
        "--seed",
        "5",
        "--slow-seconds",
        "0.4",
    )
    chance = random.Random(20261125)
    command = [
        sys.executable,
        "-m",
        "heyrender",
        "apply",
        str(manifest),
        "--yes",
        "--poll-interval",
        "0.05",
        "--settle-grace",
        "1",
    ]
    kills = attempts = 0
    while kills < 6 and attempts < 20:
        attempts += 1
        process = subprocess.Popen(
            command, env=emulator.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            process.wait(timeout=chance.uniform(0.3, 1.5))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            kills += 1
    assert kills >= 4, "the test must actually kill runs mid-flight"
    final = heyrender(
        "apply",
        manifest,
        "--yes",
        "--poll-interval",
        "0.05",
        "--settle-grace",
        "1",
        env=emulator.env(),
        timeout=240,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    stats = emulator.stats()
    assert len(stats["creates_by_title"]) == rows
    assert all(count == 1 for count in stats["creates_by_title"].values()), stats[
        "creates_by_title"
    ]
    status = heyrender("status", manifest, "--json", env=emulator.env())
    lines = [json.loads(line) for line in status.stdout.splitlines()]
    assert len(lines) == rows
    assert all(row["video_id"] and row["status"] == "completed" for row in lines)
    assert stats["creates_accepted"] == rows
