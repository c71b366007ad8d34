"""The v3 adapter and the exactly-once guards, in-process through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from contextlib import nullcontext

import httpx
import pytest

from heyrender.api.client import ApiKey, Settings
from heyrender.api.provider import BillingType, open_provider
from heyrender.campaign.rows import Desired
from heyrender.run.idempotency import campaign_identity, idempotency_key, next_attempt
from heyrender.run.options import RunOptions
from heyrender.run.reconcile import Reconciler, Submission
from heyrender.run.settle import settle
from heyrender.state.lockfile import Entry, now_iso
from heyrender.state.store import State
from heyrender.status import Status
from heyrender.versions import ApiVersion

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_:.-]{1,255}$")
FAST = RunOptions(concurrency=4, poll_interval=0.01, settle_grace=0.0, timeout=10)


class FakeV3:
    """A little HeyGen v3: idempotent creates, statuses, title filter; each call counted."""

    def __init__(self) -> None:
        self.videos: dict[str, dict] = {}
        self.keys: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.faults: list[httpx.Response | Exception] = []  # next answers to creates
        self.status_fault: httpx.Response | None = None
        self.list_fault: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[f"{request.method} {path}"] += 1
        if request.method == "POST" and path == "/v3/videos":
            return self.create(request)
        if path == "/v3/videos/statuses":
            if self.status_fault is not None:
                return self.status_fault
            ids = request.url.params["video_ids"].split(",")
            assert len(ids) <= 100
            return ok(
                [
                    {
                        "video_id": i,
                        "status": self.videos[i]["status"] if i in self.videos else "not_found",
                    }
                    for i in ids
                ]
            )
        if path == "/v3/videos" and request.method == "GET":
            if self.list_fault is not None:
                return self.list_fault
            title = request.url.params.get("title", "")
            found = [v for v in self.videos.values() if title in v["title"]]
            return httpx.Response(200, json={"data": found, "has_more": False, "next_token": None})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})

    def create(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        assert key and KEY_PATTERN.match(key)
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                if isinstance(fault, httpx.ReadTimeout):  # landed, answer lost
                    self.land(request, key)
                raise fault
            return fault
        return ok({"video_id": self.land(request, key), "status": "pending"})

    def land(self, request: httpx.Request, key: str) -> str:
        if key not in self.keys:
            video_id = f"vid{len(self.videos)}"
            body = json.loads(request.content)
            self.videos[video_id] = {
                "id": video_id,
                "title": body["title"],
                "status": "completed",
                "created_at": 2_000_000_000,
            }
            self.keys[key] = video_id
        return self.keys[key]


def ok(data) -> httpx.Response:
    return httpx.Response(200, json={"error": None, "data": data})


def error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code}})


def provider_for(server, api: ApiVersion = ApiVersion.V3):
    settings = Settings(
        "http://heygen.test",
        ApiKey("sk"),
        backoff_base=0.001,
        in_progress_pause=0.001,
        connect_attempts=2,
    )
    return open_provider(settings, api, transport=httpx.MockTransport(server))


class Quiet:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def say(self, line: str) -> None:
        pass

    def show_plan(self, plan, title) -> None:
        pass

    def event(self, key: str, what: str) -> None:
        self.events.append((key, what))

    def approve(self, count: int) -> None:
        pass

    def watching(self, counts, total, done_before):
        return nullcontext()


def rows(n: int) -> list[Desired]:
    return [Desired(f"k{i}", i + 2, f"sha256:{i}", f"m/k{i}") for i in range(n)]


def body(row: Desired) -> dict:
    return {"type": "avatar", "avatar_id": "a", "script": "hi", "title": row.title}


def apply_rows(server, state: State, desired: list[Desired], options: RunOptions = FAST):
    async def main():
        async with provider_for(server) as provider:
            reconciler = Reconciler(state, provider, options, Quiet(), "m\nm.yaml")
            report = await reconciler.run(iter(Submission(r, body(r)) for r in desired))
            return report, provider.requests

    return asyncio.run(main())


# the key ---------------------------------------------------------------------


def test_the_key_is_the_same_for_two_copies_of_a_campaign_and_new_for_a_new_attempt(
    tmp_path,
) -> None:
    one, two = tmp_path / "alice" / "campaign", tmp_path / "bob" / "clone"
    for folder in (one, two):
        folder.mkdir(parents=True)
        (folder / "m.yaml").write_text("")
    first = campaign_identity(one / "m.yaml", "m")
    assert first == campaign_identity(two / "m.yaml", "m")
    key = idempotency_key(first, "dana@acme.io", "sha256:aa", 1)
    assert KEY_PATTERN.match(key)
    assert key == idempotency_key(first, "dana@acme.io", "sha256:aa", 1)
    assert key != idempotency_key(first, "dana@acme.io", "sha256:aa", 2)
    assert key != idempotency_key(first, "dana@acme.io", "sha256:bb", 1)
    assert key != idempotency_key(first, "li@acme.io", "sha256:aa", 1)
    (two / ".git").mkdir()
    (two / "sub").mkdir()
    (two / "sub" / "m.yaml").write_text("")
    assert campaign_identity(two / "sub" / "m.yaml", "m") != first  # another manifest


def test_a_deliberate_re_render_is_a_new_attempt_a_create_that_never_landed_is_not() -> None:
    assert next_attempt(None) == 1
    base = Entry("k", "r", Status.NOT_CREATED, attempt=1)
    assert next_attempt(base) == 1
    assert next_attempt(base.evolve(status=Status.FAILED, video_id="v1")) == 2
    assert next_attempt(base.evolve(status=Status.MISSING, video_id="v1")) == 2
    assert next_attempt(base.evolve(video_id="v2", previous_video_ids=("v1",), attempt=2)) == 3


# creates ---------------------------------------------------------------------


def test_each_create_is_recorded_with_its_key_before_the_post_and_polled_in_bulk(
    state,
) -> None:
    server = FakeV3()
    report, _ = apply_rows(server, state, rows(6))
    assert report.fatal is None and not report.timed_out
    assert all(e.status is Status.COMPLETED for e in state.entries.values())
    assert len({e.idempotency_key for e in state.entries.values()}) == 6
    assert all(e.attempt == 1 for e in state.entries.values())
    assert server.calls["POST /v3/videos"] == 6
    # a poll covers every video in flight, so there are never more polls than videos; how
    # many creates land between two polls depends on how busy the machine is
    assert 1 <= server.calls["GET /v3/videos/statuses"] < 6, "one call polls every video"
    assert not any("GET /v3/videos/vid" in call for call in server.calls)
    state.close()
    journal = state.lock_path.with_name("m.lock.journal").read_text().splitlines()
    first = json.loads(journal[0])
    assert first["status"] == "submitting" and first["idempotency_key"].startswith("heyrender:1:")


def test_a_lost_answer_is_resent_at_once_with_the_same_key_and_makes_one_video(state) -> None:
    server = FakeV3()
    server.faults = [httpx.ReadTimeout("slow"), error(502, "bad_gateway")]
    apply_rows(server, state, rows(1))
    assert len(server.videos) == 1
    assert server.calls["POST /v3/videos"] == 3
    assert state.entries["k0"].video_id == "vid0"
    assert state.entries["k0"].status is Status.COMPLETED


def test_409_request_in_progress_waits_then_resends_the_same_key(state) -> None:
    server = FakeV3()
    server.faults = [error(409, "request_in_progress"), error(409, "request_in_progress")]
    apply_rows(server, state, rows(1))
    assert server.calls["POST /v3/videos"] == 3
    assert len(server.videos) == 1 and state.entries["k0"].status is Status.COMPLETED


def test_a_create_rejected_as_invalid_is_failed_and_never_resent(state) -> None:
    server = FakeV3()
    server.faults = [error(400, "invalid_parameter")]
    apply_rows(server, state, rows(1))
    entry = state.entries["k0"]
    assert entry.status is Status.FAILED and entry.failure_code == "invalid_parameter"
    assert server.calls["POST /v3/videos"] == 1


def test_a_create_that_never_connects_is_not_created_and_stops_the_run(state) -> None:
    server = FakeV3()
    server.faults = [httpx.ConnectError("refused")] * 20
    report, _ = apply_rows(server, state, rows(2))
    assert report.fatal is not None and "cannot be reached" in str(report.fatal)
    assert "http://heygen.test" in str(report.fatal)
    assert not server.videos
    for entry in state.entries.values():  # cut short mid-call: resent with its key next time
        assert entry.status is Status.NOT_CREATED or (
            entry.status is Status.SUBMITTING and entry.idempotency_key
        )


def test_a_402_at_submit_stops_submitting_and_records_no_video(state) -> None:
    server = FakeV3()
    server.faults = [error(402, "insufficient_credit")] * 4
    report, _ = apply_rows(server, state, rows(4), RunOptions(concurrency=1, poll_interval=0.01))
    assert report.stop_reason and "out of credit" in report.stop_reason
    assert server.calls["POST /v3/videos"] == 1
    assert state.entries["k0"].status is Status.NOT_CREATED
    assert "k1" not in state.entries


def test_a_401_on_create_is_a_create_that_did_not_happen(state) -> None:
    server = FakeV3()
    server.faults = [error(401, "unauthorized")]
    report, _ = apply_rows(server, state, rows(1))
    assert report.fatal is not None
    assert state.entries["k0"].status is Status.NOT_CREATED, "the next apply sends it at once"


def test_status_call_errors_are_retried_and_a_vanished_video_is_missing(state) -> None:
    server = FakeV3()
    server.status_fault = error(500, "internal")

    async def heal():
        await asyncio.sleep(0.2)
        server.status_fault = None
        server.videos.pop("vid1")

    async def main():
        async with provider_for(server) as provider:
            reconciler = Reconciler(state, provider, FAST, Quiet(), "m")
            healing = asyncio.ensure_future(heal())
            report = await reconciler.run(iter(Submission(r, body(r)) for r in rows(2)))
            await healing
            return report

    report = asyncio.run(main())
    assert report.fatal is None and not report.timed_out
    assert state.entries["k0"].status is Status.COMPLETED
    assert state.entries["k1"].status is Status.MISSING
    assert "vid1" in (state.entries["k1"].failure_message or "")


def test_statuses_go_100_per_call() -> None:
    server = FakeV3()
    for i in range(250):
        server.videos[f"v{i}"] = {"id": f"v{i}", "title": "t", "status": "processing"}

    async def main():
        async with provider_for(server) as provider:
            return await provider.statuses([f"v{i}" for i in range(250)] + ["gone"])

    found = asyncio.run(main())
    assert server.calls["GET /v3/videos/statuses"] == 3
    assert found["v7"].status is Status.PROCESSING and found["gone"].status is Status.MISSING


def test_balance_is_a_typed_value() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v3/users/me"
        return ok(
            {"billing_type": "wallet", "wallet": {"currency": "usd", "remaining_balance": 12.5}}
        )

    async def main():
        async with provider_for(server) as provider:
            return await provider.balance()

    balance = asyncio.run(main())
    assert balance.billing_type is BillingType.WALLET and balance.remaining_usd == 12.5


# settling by title -------------------------------------------------------------


def unsettled(key: str, title: str | None) -> Entry:
    return Entry(key, "r", Status.SUBMITTING, title=title, intent_at=now_iso())


def settle_with(server, state: State, keys: list[str], api=ApiVersion.V3):
    async def main():
        async with provider_for(server, api) as provider:
            return await settle(provider, state, keys, grace=0.0)

    return asyncio.run(main())


def test_settle_finds_the_one_video_by_exact_title_and_counts_each_id_once(state) -> None:
    server = FakeV3()
    server.videos["a"] = {"id": "a", "title": "m/k1", "status": "completed", "created_at": 0}
    server.videos["b"] = {"id": "b", "title": "m/k10", "status": "completed", "created_at": 0}
    state.entries["k1"] = unsettled("k1", "m/k1")
    settled = settle_with(server, state, ["k1"])
    assert settled["k1"].video_id == "a" and settled["k1"].status is Status.COMPLETED


def test_settle_never_adopts_a_video_another_row_owns(state) -> None:
    server = FakeV3()
    server.videos["a"] = {"id": "a", "title": "same", "status": "completed", "created_at": 0}
    state.entries["other"] = Entry("other", "r", Status.COMPLETED, title="same", video_id="a")
    state.entries["k1"] = unsettled("k1", "same")
    settled = settle_with(server, state, ["k1"])
    assert settled["k1"].status is Status.NOT_CREATED and settled["k1"].video_id is None


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("listing fails", "could not list videos to settle"),
        ("no title", "no title to find it by"),
        ("two matches", "2 videos are titled 'm/k1': a, b"),
    ],
)
def test_settle_guards_leave_the_row_uncertain(state, case, words) -> None:
    server = FakeV3()
    title: str | None = "m/k1"
    if case == "listing fails":
        server.list_fault = error(400, "invalid_parameter")
    if case == "no title":
        title = None
    if case == "two matches":
        for video_id in ("a", "b"):
            server.videos[video_id] = {"id": video_id, "title": "m/k1", "status": "completed"}
    state.entries["k1"] = unsettled("k1", title)
    settled = settle_with(server, state, ["k1"])
    assert settled["k1"].status is Status.UNCERTAIN
    assert words in (settled["k1"].failure_message or "")
    assert not server.calls["POST /v3/videos"], "nothing is resent"


def test_the_eta_counts_only_this_runs_work_and_is_never_negative() -> None:
    from collections import Counter as Tally

    from heyrender.commands.progress import Progress, eta_text

    # a resumed run: 500 rows were completed by earlier runs, 3 are this run's work
    progress = Progress(lambda: Tally({"completed": 500}), total=3)
    progress.event("k0", "completed")
    progress.event("k1", "completed")
    assert progress.eta() is not None and progress.eta() >= 0
    for key in ("k2", "k3", "k4"):
        progress.event(key, "completed")
    assert progress.eta() == 0
    assert eta_text(-5.0) == "unknown"
