"""What apply says and how it exits, as users see it: real processes against the emulator."""

from __future__ import annotations

import subprocess
import urllib.request

import pytest

from heyrender.state import lockfile
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

FAST = ("--poll-interval", "0.05", "--settle-grace", "0.5")
REPLACED = "p01@x.io"


@pytest.fixture
def rendered(campaign, start_emulator):
    """A campaign of 3 rows, all rendered; returns (manifest, emulator)."""
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(3), name="drill")
    emulator = start_emulator("--render-seconds", "0.1")
    first = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert first.returncode == 0, first.stdout + first.stderr
    return manifest, emulator


def replacing(rendered, *flags: str) -> subprocess.CompletedProcess[str]:
    """apply --replace of one done row, with these flags."""
    manifest, emulator = rendered
    return heyrender(
        "apply", manifest, "--yes", "--replace", REPLACED, *flags, *FAST, env=emulator.env()
    )


def test_the_plan_shown_names_the_replaced_row_as_to_create(rendered) -> None:
    result = replacing(rendered)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Plan: 1 to create, 0 outdated, 0 uncertain. 2 done" in result.stdout
    assert f"+ {REPLACED} (replacing its done video, as --replace asks)" in result.stdout
    assert "Submitting 1 video, following 0 videos already rendering." in result.stdout


def test_a_replacement_cut_by_the_timeout_is_work_left(rendered) -> None:
    result = replacing(rendered, "--timeout", "0")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Done: 2 completed, 0 failed, 0 in progress, 0 uncertain, 1 still to create." in (
        result.stdout
    )
    assert "The timeout came with work left" in result.stdout


def test_a_replacement_stopped_by_an_unreachable_api_is_reported_unmade(rendered) -> None:
    result = replacing(rendered, "--api-base", "http://127.0.0.1:9")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 row still to create" in result.stderr


def test_one_video_is_counted_in_the_singular_when_approval_is_needed(
    campaign, start_emulator
) -> None:
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(1), name="drill")
    emulator = start_emulator()
    result = heyrender("apply", manifest, *FAST, env=emulator.env(), stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "apply would submit 1 video and needs approval" in result.stderr


def test_the_learned_render_cap_is_the_accounts_and_said_once(campaign, start_emulator) -> None:
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(8), name="drill")
    emulator = start_emulator("--render-seconds", "0.5", "--max-concurrent", "3")
    result = heyrender("apply", manifest, "--yes", *FAST, env=emulator.env())
    assert result.returncode == 0, result.stdout + result.stderr
    said = [line for line in (result.stdout + result.stderr).splitlines() if "allows" in line]
    assert len(said) == 1, said
    assert said[0].endswith("account: HeyGen allows 3 renders at once; keeping to that")


def test_download_of_a_deleted_video_says_so_and_a_refresh_records_it_missing(
    rendered,
) -> None:
    manifest, emulator = rendered
    env = emulator.env()
    lock = manifest.with_suffix(".lock")
    gone = lockfile.load(lock)[REPLACED].video_id
    request = urllib.request.Request(f"{emulator.url}/v3/videos/{gone}", method="DELETE")
    request.add_header("x-api-key", "test-key")
    urllib.request.urlopen(request, timeout=10).read()
    before = lock.read_bytes()

    result = heyrender("download", manifest, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{REPLACED}: HeyGen no longer has video {gone}" in result.stdout
    assert (
        f"HeyGen no longer has 1 video ({REPLACED}); downloading again will not help. "
        f"Run heyrender status {manifest} --refresh to record it as missing: "
        "heyrender plan and apply will then create it again."
    ) in result.stdout
    assert "run heyrender download again" not in result.stdout
    assert lock.read_bytes() == before, "download does not write the lockfile"

    refreshed = heyrender("status", manifest, "--refresh", env=env)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    rows = lockfile.load(lock)
    assert rows[REPLACED].status == "missing"
    assert {rows[k].status for k in rows if k != REPLACED} == {"completed"}
    plan = heyrender("plan", manifest, env=env)
    assert f"+ {REPLACED} (missing: HeyGen no longer knows video {gone}" in plan.stdout
    again = heyrender("download", manifest, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
