"""Whole applies on v3 (and v2) against the emulator: exactly once across copies and kills,
and the run-layer faults of issue 8. Real processes; few rows, short renders."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from heyrender.state import lockfile
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

FAST = ("--poll-interval", "0.05")


def write_campaign(folder: Path, rows: int, manifest: str = CAMPAIGN_MANIFEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text(campaign_csv(rows))
    path = folder / "drill.yaml"
    path.write_text(manifest)
    return path


def apply_process(manifest: Path, env: dict[str, str], *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes", *FAST, *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def video_ids(manifest: Path) -> dict[str, str | None]:
    return {k: e.video_id for k, e in lockfile.load(manifest.with_suffix(".lock")).items()}


def test_two_copies_applied_at_once_create_each_title_once_and_agree(
    tmp_path, start_emulator
) -> None:
    """Two teammates (or CI runners) with copies of one campaign folder, one account. Some
    creates answer late, so the second copy's same key meets 409 request_in_progress."""
    emulator = start_emulator(
        "--render-seconds", "0.5", "--max-concurrent", "20", "--fault-rate", "0.3",
        "--fault-kinds", "slow", "--slow-seconds", "1", "--seed", "3",
    )  # fmt: skip
    alice = write_campaign(tmp_path / "alice" / "campaign", 8)
    bob = tmp_path / "bob" / "campaign"
    shutil.copytree(alice.parent, bob)
    first = apply_process(alice, emulator.env(), "--concurrency", "8")
    second = apply_process(bob / "drill.yaml", emulator.env(), "--concurrency", "8")
    outs = [p.communicate(timeout=90) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    stats = emulator.stats()
    assert sorted(stats["creates_by_title"].values()) == [1] * 8, stats["creates_by_title"]
    assert stats["idempotent_replays"] >= 1
    ids = video_ids(alice)
    assert ids == video_ids(bob / "drill.yaml") and all(ids.values())


def test_a_run_killed_at_random_moments_is_finished_without_a_settle_wait(
    tmp_path, start_emulator
) -> None:
    emulator = start_emulator(
        "--render-seconds", "0.5", "--max-concurrent", "4", "--fault-rate", "0.1",
        "--fault-kinds", "slow", "--fault-kinds", "created-then-drop", "--fault-kinds", "502",
        "--slow-seconds", "0.5", "--seed", "9",
    )  # fmt: skip
    manifest = write_campaign(tmp_path / "c", 10)
    chance = random.Random(20261125)
    kills = 0
    for _ in range(12):
        process = apply_process(manifest, emulator.env(), "--settle-grace", "600")
        try:
            process.wait(timeout=chance.uniform(0.4, 1.2))
        except subprocess.TimeoutExpired:
            process.kill()
            kills += 1
        process.communicate()
        if kills >= 4:
            break
    assert kills >= 3, "the test must actually kill runs mid-flight"
    started = time.monotonic()
    final = heyrender(
        "apply", manifest, "--yes", *FAST, "--settle-grace", "600", env=emulator.env()
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert time.monotonic() - started < 60, "no --settle-grace wait (600 s) on v3"
    stats = emulator.stats()
    assert sorted(stats["creates_by_title"].values()) == [1] * 10, stats["creates_by_title"]
    assert all(video_ids(manifest).values())


def test_api_v2_still_runs_end_to_end(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "0.2", "--max-concurrent", "3")
    manifest = write_campaign(tmp_path / "c", 3, "api: v2\n" + CAMPAIGN_MANIFEST)
    result = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert result.returncode == 0, result.stdout + result.stderr
    stats = emulator.stats()
    assert stats["creates_by_api"] == {"v2": 3, "v3": 0}
    assert not any(e.idempotency_key for e in lockfile.load(manifest.with_suffix(".lock")).values())


def test_a_deleted_video_is_missing_then_planned_replaced_and_refreshed(
    tmp_path, start_emulator
) -> None:
    emulator = start_emulator("--render-seconds", "0.2", "--max-concurrent", "5")
    manifest = write_campaign(tmp_path / "c", 2)
    env = emulator.env()
    assert heyrender("apply", manifest, "--yes", "--no-wait", *FAST, env=env).returncode == 0
    gone = video_ids(manifest)["p00@x.io"]
    import urllib.request

    request = urllib.request.Request(f"{emulator.url}/v3/videos/{gone}", method="DELETE")
    request.add_header("x-api-key", "test-key")
    urllib.request.urlopen(request, timeout=10).read()
    refreshed = heyrender("status", manifest, "--refresh", env=env)
    assert refreshed.returncode == 0, refreshed.stderr
    assert lockfile.load(manifest.with_suffix(".lock"))["p00@x.io"].status == "missing"
    plan = heyrender("plan", manifest, env=env)
    assert f"+ p00@x.io (missing: HeyGen no longer knows video {gone})" in plan.stdout
    again = heyrender("apply", manifest, "--yes", "--replace", "p00@x.io", *FAST, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    row = lockfile.load(manifest.with_suffix(".lock"))["p00@x.io"]
    assert row.status == "completed" and row.video_id != gone and gone in row.previous_video_ids
    assert row.attempt == 2


def test_a_video_vanishing_mid_run_frees_its_slot_and_exits_1(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "30", "--max-concurrent", "5")
    manifest = write_campaign(tmp_path / "c", 1)
    process = apply_process(manifest, emulator.env(), "--timeout", "60")
    deadline = time.monotonic() + 20
    while emulator.stats()["creates_accepted"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    import urllib.request

    video = next(iter(emulator.stats()["creates_by_title"]))
    del video
    ids = [v for v in video_ids_when_recorded(manifest) if v]
    request = urllib.request.Request(f"{emulator.url}/v3/videos/{ids[0]}", method="DELETE")
    request.add_header("x-api-key", "test-key")
    urllib.request.urlopen(request, timeout=10).read()
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1, out + err
    assert "missing: HeyGen no longer knows" in out
    assert "1 missing" in out


def video_ids_when_recorded(manifest: Path) -> list[str | None]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        journal = manifest.with_suffix(".lock.journal")
        if journal.exists():
            rows = [json.loads(line) for line in journal.read_text().splitlines() if line]
            found = [row.get("video_id") for row in rows if row.get("video_id")]
            if found:
                return found
        time.sleep(0.05)
    return []


def test_a_401_on_create_lets_the_next_apply_with_the_right_key_go_at_once(
    tmp_path, start_emulator
) -> None:
    emulator = start_emulator("--api-key", "right", "--render-seconds", "0.1")
    manifest = write_campaign(tmp_path / "c", 2)
    wrong = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env("wrong"))
    assert wrong.returncode == 1 and "401" in wrong.stderr
    assert {e.status for e in lockfile.load(manifest.with_suffix(".lock")).values()} <= {
        "not_created"
    }
    started = time.monotonic()
    right = heyrender(
        "apply", manifest, "--yes", *FAST, "--settle-grace", "600", env=emulator.env("right")
    )
    assert right.returncode == 0, right.stdout + right.stderr
    assert time.monotonic() - started < 30 and "Settling" not in right.stdout


def test_an_unreachable_api_base_fails_fast_naming_it(tmp_path) -> None:
    manifest = write_campaign(tmp_path / "c", 2)
    env = {**__import__("os").environ, "HEYGEN_API_KEY": "k"}
    started = time.monotonic()
    result = heyrender("apply", manifest, "--yes", "--api-base", "http://127.0.0.1:9", env=env)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert "http://127.0.0.1:9" in result.stderr and "--api-base" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_api_base_and_non_ascii_key_are_clean_errors(tmp_path) -> None:
    manifest = write_campaign(tmp_path / "c", 1)
    env = {**__import__("os").environ, "HEYGEN_API_KEY": "k"}
    broken = heyrender("apply", manifest, "--yes", "--api-base", "http://[::1", env=env)
    assert broken.returncode == 2 and "is not an http(s) URL" in broken.stderr
    env["HEYGEN_API_KEY"] = "sk-caf\u00e9"
    accented = heyrender("apply", manifest, "--yes", "--api-base", "http://127.0.0.1:9", env=env)
    assert accented.returncode == 2 and "not printable ASCII" in accented.stderr
    assert "caf" not in accented.stderr
    for result in (broken, accented):
        assert "Traceback" not in result.stderr


def test_timeout_0_is_a_timeout_and_never_exits_0_with_rows_to_create(
    tmp_path, start_emulator
) -> None:
    emulator = start_emulator("--render-seconds", "0.2")
    manifest = write_campaign(tmp_path / "c", 2)
    result = heyrender("apply", manifest, "--yes", "--timeout", "0", *FAST, env=emulator.env())
    assert result.returncode == 3, result.stdout + result.stderr
    assert "2 still to create" in result.stdout
    assert emulator.stats()["creates_accepted"] == 0


def test_sigterm_and_ctrl_c_during_the_start_up_settle_exit_130(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "0.2")
    manifest = write_campaign(tmp_path / "c", 1, "api: v2\n" + CAMPAIGN_MANIFEST)
    lock = manifest.with_suffix(".lock")
    for number in (signal.SIGTERM, signal.SIGINT):
        entry = lockfile.Entry(
            "p00@x.io",
            "sha256:x",
            "submitting",
            title="drill/p00@x.io",
            intent_at=lockfile.now_iso(),
        )
        lockfile.save(lock, {entry.key: entry}, manifest.name)
        before = listings(emulator)
        process = apply_process(manifest, emulator.env(), "--settle-grace", "600")
        deadline = time.monotonic() + 20
        while listings(emulator) == before:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(number)
        out, err = process.communicate(timeout=20)
        assert process.returncode == 130, out + err
        assert "Interrupted" in out and "Traceback" not in err
        assert lockfile.load(lock)["p00@x.io"].status == "submitting"


def listings(emulator) -> int:
    counts = emulator.stats()["requests_by_endpoint"]
    return sum(n for name, n in counts.items() if name.startswith("GET /v2/videos"))


def test_a_second_copy_meets_409_request_in_progress_waits_and_gets_the_same_video(
    tmp_path, start_emulator
) -> None:
    """Every answer is held back 3 s: the two copies start together, so after their balance
    reads (3 s each, side by side) their creates arrive well within 3 s of each other; the
    later one gets 409 request_in_progress, waits, and is answered with the replay."""
    emulator = start_emulator(
        "--render-seconds", "0.2", "--fault-rate", "1", "--fault-kinds", "slow",
        "--slow-seconds", "3",
    )  # fmt: skip
    alice = write_campaign(tmp_path / "alice" / "campaign", 1)
    bob = tmp_path / "bob" / "campaign"
    shutil.copytree(alice.parent, bob)
    first = apply_process(alice, emulator.env())
    second = apply_process(bob / "drill.yaml", emulator.env())
    outs = [p.communicate(timeout=90) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert "POST /v3/videos 409" in Path(emulator.log).read_text()
    stats = emulator.stats()
    assert list(stats["creates_by_title"].values()) == [1]
    assert stats["idempotent_replays"] >= 1
    assert video_ids(alice) == video_ids(bob / "drill.yaml")
