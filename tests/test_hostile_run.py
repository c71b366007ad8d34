"""A hostile reviewer's findings on runs: a closed output pipe, a server that echoes the API
key, and what apply says about rows it resends after a kill."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest

from heyrender.api import wire
from heyrender.api.client import ApiKey, Settings
from heyrender.api.provider import open_provider
from heyrender.campaign.rows import Desired
from heyrender.run.options import RunOptions
from heyrender.run.reconcile import Reconciler, RunReport, Submission
from heyrender.state import lockfile
from heyrender.state.store import State, journal_path
from heyrender.status import Status
from heyrender.versions import ApiVersion
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv

FAST = ("--poll-interval", "0.05")
SECRET = "SEKRET-0123456789abcdef"


def write_campaign(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text(campaign_csv(rows))
    path = folder / "drill.yaml"
    path.write_text(CAMPAIGN_MANIFEST)
    return path


def apply_into_pipe(
    manifest: Path, env: dict[str, str], *flags: str, stderr: int = subprocess.STDOUT
) -> subprocess.Popen:
    """apply with stdout and stderr on one pipe, as `apply ... 2>&1 | head` has them."""
    return subprocess.Popen(
        [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes", *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def read_lines_then_close(process: subprocess.Popen, lines: int) -> None:
    """Reads a few lines, then closes the pipe as `head` does when it exits."""
    assert process.stdout is not None
    for _ in range(lines):
        process.stdout.readline()
    process.stdout.close()


def statuses(manifest: Path) -> dict[str, str]:
    return {k: str(e.status) for k, e in lockfile.load(manifest.with_suffix(".lock")).items()}


# 1. a closed output pipe ------------------------------------------------------------


def test_a_closed_pipe_never_stops_the_run_nor_its_concurrency(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "0.6", "--max-concurrent", "20")
    manifest = write_campaign(tmp_path / "c", 8)
    process = apply_into_pipe(
        manifest, emulator.env(), "--concurrency", "2", *FAST, stderr=subprocess.PIPE
    )
    read_lines_then_close(process, 3)  # `apply ... | head -3`
    assert process.stderr is not None
    with process.stderr:
        errors = process.stderr.read().decode()
    assert process.wait(timeout=90) == 0, "the run goes on to its normal end"
    assert "Traceback" not in errors and "never retrieved" not in errors, errors
    assert set(statuses(manifest).values()) == {"completed"}
    stats = emulator.stats()
    assert sorted(stats["creates_by_title"].values()) == [1] * 8, stats["creates_by_title"]
    assert stats["peak_unfinished"] <= 2, "--concurrency holds with nobody reading"


def test_sigterm_after_the_pipe_closed_exits_130_at_once(tmp_path, start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "60", "--max-concurrent", "20")
    manifest = write_campaign(tmp_path / "c", 4)
    process = apply_into_pipe(manifest, emulator.env(), *FAST)
    read_lines_then_close(process, 3)
    deadline = time.monotonic() + 30
    while emulator.stats()["creates_accepted"] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a few polls land on the closed pipe
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 130, "one SIGTERM is enough"
    assert len(statuses(manifest)) == 4 and all(
        e.video_id for e in lockfile.load(manifest.with_suffix(".lock")).values()
    )
    assert not manifest.with_suffix(".lock.owner").exists(), "the state lock is released"


class Broken:
    """A reporter whose every call fails, as a screen whose reader went away might."""

    def __init__(self) -> None:
        self.calls = 0

    def say(self, line: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    info = say

    def show_plan(self, plan, title) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def event(self, key: str, what: str) -> None:
        self.calls += 1
        raise BrokenPipeError(32, "Broken pipe")

    def approve(self, count: int) -> None:
        pass

    def watching(self, counts, total, done_before):
        return nullcontext()


class Server:
    """A small v3: creates (or a fixed answer), statuses (or a fixed answer); counts renders
    in flight to check the concurrency."""

    def __init__(self, finish_after: int = 2) -> None:
        self.videos: dict[str, int] = {}  # id -> polls until finished
        self.finish_after = finish_after
        self.create_answer: httpx.Response | None = None
        self.status_answers: list[httpx.Response] = []
        self.failure_message: str | None = None
        self.peak = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v3/videos":
            if self.create_answer is not None:
                return self.create_answer
            video_id = f"vid{len(self.videos)}"
            self.videos[video_id] = self.finish_after
            self.peak = max(self.peak, sum(1 for left in self.videos.values() if left > 0))
            return httpx.Response(200, json={"data": {"video_id": video_id}})
        if path == "/v3/videos/statuses":
            if self.status_answers:
                return self.status_answers.pop(0)
            items = []
            for video_id in request.url.params["video_ids"].split(","):
                self.videos[video_id] -= 1
                done = self.videos[video_id] <= 0
                item: dict = {"video_id": video_id, "status": "processing"}
                if done and self.failure_message is not None:
                    item = {
                        "video_id": video_id,
                        "status": "failed",
                        "error": {"code": f"bad_{SECRET}", "message": self.failure_message},
                    }
                elif done:
                    item["status"] = "completed"
                items.append(item)
            return httpx.Response(200, json={"data": items})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})


def rows(n: int) -> list[Desired]:
    return [Desired(f"k{i}", i + 2, f"sha256:{i}", f"m/k{i}") for i in range(n)]


def run_rows(
    server: Server, state: State, n: int, reporter: object, concurrency: int = 2
) -> RunReport:
    settings = Settings("http://heygen.test", ApiKey(SECRET), backoff_base=0.001, max_attempts=2)
    options = RunOptions(concurrency=concurrency, poll_interval=0.01, settle_grace=0, timeout=20)

    async def main() -> RunReport:
        transport = httpx.MockTransport(server)
        async with open_provider(settings, ApiVersion.V3, transport=transport) as provider:
            reconciler = Reconciler(state, provider, options, reporter, "m\nm.yaml")  # type: ignore[arg-type]
            body = {"type": "avatar", "avatar_id": "a", "script": "hi"}
            return await reconciler.run(
                iter(Submission(r, {**body, "title": r.title}) for r in rows(n))
            )

    return asyncio.run(main())


def test_a_reporter_that_raises_never_frees_a_slot_nor_stops_the_run(state) -> None:
    server = Server(finish_after=3)
    reporter = Broken()
    report = run_rows(server, state, 8, reporter, concurrency=2)
    assert report.fatal is None and not report.interrupted
    assert {e.status for e in state.entries.values()} == {Status.COMPLETED}
    assert len(server.videos) == 8 and server.peak <= 2, server.peak
    assert reporter.calls >= 8


def test_an_unexpected_error_in_a_task_is_logged_once_and_ends_the_run(
    state, monkeypatch, caplog
) -> None:
    def explode(self, video_id, video):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Reconciler, "observe", explode)
    with caplog.at_level(logging.ERROR):
        report = run_rows(Server(), state, 2, Broken())
    assert report.fatal is not None and "internal error" in str(report.fatal)
    assert sum("internal error" in r.message for r in caplog.records) == 1
    assert {e.status for e in state.entries.values()} == {Status.WAITING}, "recorded, resumable"


# 2. a server that echoes the key ------------------------------------------------------


def echo(status: int) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": "invalid_parameter", "message": f"bad key {SECRET}"}}
    )


class Events:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def event(self, key: str, what: str) -> None:
        self.lines.append(f"{key}: {what}")

    say = info = event


def on_disk(state: State) -> str:
    """The lockfile and the journal (before and after a checkpoint folds it in)."""
    journal = journal_path(state.lock_path)
    text = journal.read_text() if journal.exists() else ""
    state.checkpoint()
    return text + state.lock_path.read_text()


@pytest.mark.parametrize("status", [400, 401, 500])
def test_a_create_answer_echoing_the_key_never_reaches_error_log_or_lockfile(
    state, status, caplog
) -> None:
    server = Server()
    server.create_answer = echo(status)
    events = Events()
    with caplog.at_level(logging.DEBUG):
        report = run_rows(server, state, 1, events)
    seen = "\n".join(
        [*events.lines, str(report.fatal), str(report.stop_reason), caplog.text]
        + [json.dumps(e.__dict__, default=str) for e in state.entries.values()]
    )
    assert SECRET not in seen and SECRET not in on_disk(state)
    assert "bad key ***" in seen
    if status == 400:
        assert state.entries["k0"].failure_message == (
            "HeyGen answered 400 invalid_parameter: bad key ***"
        )


def test_a_status_answer_echoing_the_key_is_scrubbed(state, caplog) -> None:
    server = Server(finish_after=1)
    server.status_answers = [echo(500), echo(500)]  # the client retries once
    server.failure_message = f"render failed for key {SECRET}"
    events = Events()
    with caplog.at_level(logging.DEBUG):
        run_rows(server, state, 1, events)
    entry = state.entries["k0"]
    assert entry.status is Status.FAILED
    assert entry.failure_message == "render failed for key ***"
    assert entry.failure_code == "bad_***"
    assert any("status check failed" in line and "***" in line for line in events.lines)
    assert SECRET not in "\n".join(events.lines) + caplog.text + on_disk(state)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"error": {"message": f"bad key {SECRET}"}}).encode(),
        json.dumps({"error": {"message": f"bad key {SECRET}"}}).replace("S", "\\u0053").encode(),
        json.dumps({"error": {"message": f"bad key {SECRET}"}}).encode("utf-16"),
    ],
    ids=["plain", "escaped", "utf-16"],
)
def test_the_key_is_scrubbed_however_the_json_spells_it(raw: bytes) -> None:
    assert wire.decode(raw, SECRET) == {"error": {"message": "bad key ***"}}


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
    assert "Resending 3 interrupted creates" in result.stdout, result.stdout + result.stderr
    assert "left as they are" not in result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
