"""A hostile reviewer's findings on runs: a closed output pipe, a server that echoes the API
key, and what apply says about rows it resends after a kill."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from heyrender.state import lockfile
from heyrender.state.store import journal_path
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv

FAST = ("--poll-interval", "0.05")
SECRET = "SEKRET-0123456789abcdef"


def write_campaign(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text(campaign_csv(rows))
    path = folder / "drill.yaml"
    path.write_text(CAMPAIGN_MANIFEST)
    return path


def apply_into_pipe(manifest: Path, env: dict[str, str], *flags: str) -> subprocess.Popen:
    """apply with stdout and stderr on one pipe, as `apply ... 2>&1 | head` has them."""
    return subprocess.Popen(
        [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes", *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def read_lines_then_close(process: subprocess.Popen, lines: int) -> None:
    """Reads a few lines, then closes the pipe as `head` does when it exits."""
    assert process.stdout is not None
    for _ in range(lines):
        process.stdout.readline()
    process.stdout.close()


def statuses(manifest: Path) -> dict[str, str]:
    return {k: str(e.status) for k, e in lockfile.load(manifest.with_suffix(".lock")).items()}


# 3. what apply says after a kill on v3 ------------------------------------------------


def test_rows_resent_with_their_keys_after_a_kill_are_not_called_uncertain(
    tmp_path, start_emulator
) -> None:
    emulator = start_emulator(
        "--render-seconds", "0.2", "--max-concurrent", "20", "--fault-rate", "1",
        "--fault-kinds", "slow", "--slow-seconds", "5",
    )  # fmt: skip
    manifest = write_campaign(tmp_path / "c", 3)
    process = apply_into_pipe(manifest, emulator.env(), "--poll-interval", "0.05")
    journal = journal_path(manifest.with_suffix(".lock"))
    deadline = time.monotonic() + 40  # the balance read takes 5 s first
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("submitting") >= 3:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    process.kill()
    process.communicate()
    emulator.stop()
    again = start_emulator("--render-seconds", "0.2", "--max-concurrent", "20")
    result = subprocess.run(
        [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes", *FAST],
        env=again.env(),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert "Resending 3 interrupted create(s)" in result.stdout, result.stdout + result.stderr
    assert "uncertain row(s) left as they are" not in result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
