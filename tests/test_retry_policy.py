"""One retry policy for every HeyGen call: the rules on a fake clock, then the callers that
share them (the client's reads and creates, the uploader's POSTs and its presigned PUT)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from heyrender.api import uploads
from heyrender.api.client import ApiKey, HeyGenClient, Settings
from heyrender.api.retrying import RetryPolicy, retried
from heyrender.campaign.media import MediaFile
from heyrender.errors import (
    ApiError,
    AuthError,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from tests.pictures import png

SECRET = "sk-retry-secret-0123456789"
SETTINGS = Settings("http://heygen.test", ApiKey(SECRET), backoff_base=0.001, max_attempts=4)
POLICY = RetryPolicy(
    attempts=4,
    backoff_base=0.5,
    backoff_cap=3.0,
    rate_limit_cap=10.0,
    connect_attempts=3,
    in_progress_attempts=5,
    in_progress_pause=1.0,
)


class Script:
    """An attempt that raises each of `outcomes` in turn, then answers "done"; a fake clock."""

    def __init__(self, *outcomes: Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.pauses: list[float] = []

    async def attempt(self) -> str:
        self.calls += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return "done"

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def run(self, policy: RetryPolicy = POLICY) -> str:
        return asyncio.run(
            retried(
                self.attempt,
                policy,
                lost=lambda exc: TransientError(f"lost: {type(exc).__name__}"),
                unreachable=lambda exc: TransientError("could not connect to the test"),
                sleep=self.sleep,
            )
        )


REQUEST = httpx.Request("GET", "http://heygen.test/x")


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("refused", request=REQUEST)


def test_transient_failures_back_off_with_full_jitter_then_the_last_is_raised() -> None:
    script = Script(*(TransientError(f"503 #{n}") for n in range(10)))
    with pytest.raises(TransientError, match="503 #3"):
        script.run()
    assert script.calls == POLICY.attempts
    assert len(script.pauses) == POLICY.attempts - 1
    for n, pause in enumerate(script.pauses):
        assert 0 <= pause <= min(POLICY.backoff_cap, POLICY.backoff_base * 2**n)


def test_a_lost_answer_is_worded_by_the_caller_and_retried_like_a_5xx() -> None:
    script = Script(httpx.ReadTimeout("slow", request=REQUEST), TransientError("503"))
    assert script.run() == "done" and script.calls == 3


def test_a_refused_connection_has_its_own_short_budget_and_names_no_exception_chain() -> None:
    script = Script(*(refused() for _ in range(10)))
    with pytest.raises(TransientError, match="could not connect to the test") as caught:
        script.run()
    assert script.calls == POLICY.connect_attempts
    assert caught.value.__suppress_context__
    for n, pause in enumerate(script.pauses):
        floor = POLICY.connect_pause_floor
        assert floor <= pause <= floor + min(POLICY.connect_backoff_cap, POLICY.backoff_base * 2**n)


def test_refused_connections_do_not_use_up_the_attempts_for_answers() -> None:
    script = Script(refused(), refused(), *(TransientError("503") for _ in range(3)))
    assert script.run() == "done" and script.calls == 6


def test_a_429_waits_its_retry_after_capped_and_jittered_and_counts_as_an_attempt() -> None:
    script = Script(RateLimited("429", retry_after=2.0), RateLimited("429", retry_after=9999.0))
    assert script.run() == "done"
    first, second = script.pauses
    assert 2.0 <= first <= 2.4
    assert POLICY.rate_limit_cap <= second <= POLICY.rate_limit_cap * 1.2
    script = Script(*(RateLimited(f"429 #{n}", retry_after=0.0) for n in range(10)))
    with pytest.raises(RateLimited, match="429 #3"):
        script.run()
    assert script.calls == POLICY.attempts


def test_a_429_is_handed_back_at_once_where_the_caller_paces_itself() -> None:
    script = Script(RateLimited("429", retry_after=3.0))
    with pytest.raises(RateLimited):
        script.run(POLICY.evolve(resend_unknown=True, wait_when_rate_limited=False))
    assert script.calls == 1 and script.pauses == []


def test_a_create_that_may_have_landed_is_resent_only_with_a_key() -> None:
    script = Script(OutcomeUnknown("504"), OutcomeUnknown("504"))
    with pytest.raises(OutcomeUnknown):
        script.run()
    assert script.calls == 1 and script.pauses == []
    script = Script(OutcomeUnknown("504"), OutcomeUnknown("504"))
    assert script.run(POLICY.evolve(resend_unknown=True, wait_when_rate_limited=True)) == "done"
    assert script.calls == 3


def test_request_in_progress_waits_on_its_own_budget() -> None:
    keyed = POLICY.evolve(resend_unknown=True, wait_when_rate_limited=True)
    busy = [OutcomeUnknown("409", code="request_in_progress") for _ in range(10)]
    script = Script(*busy)
    with pytest.raises(OutcomeUnknown, match="409"):
        script.run(keyed)
    assert script.calls == POLICY.in_progress_attempts
    assert all(1.0 <= pause <= 1.5 for pause in script.pauses)
    script = Script(*busy[:4], *(OutcomeUnknown("504") for _ in range(3)))
    assert script.run(keyed) == "done" and script.calls == 8


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest("400", status=400),
        NoCredit("402", status=402),
        AuthError("401", status=401),
        ApiError("other"),
    ],
)
def test_answers_that_cannot_change_are_raised_at_once(error: ApiError) -> None:
    script = Script(error)
    with pytest.raises(type(error)):
        script.run()
    assert script.calls == 1 and script.pauses == []


def test_settings_make_the_policy() -> None:
    settings = SETTINGS.evolve(connect_attempts=5, rate_limit_cap=7.0, in_progress_attempts=9)
    policy = settings.retry_policy()
    assert (policy.attempts, policy.connect_attempts) == (4, 5)
    assert (policy.rate_limit_cap, policy.in_progress_attempts) == (7.0, 9)
    assert not policy.resend_unknown and policy.wait_when_rate_limited


# the callers ---------------------------------------------------------------------------


def media(folder: Path, size: int = 0) -> MediaFile:
    data = png() + b"\x00" * max(size - len(png()), 0)
    path = folder / "a.png"
    path.write_bytes(data)
    return MediaFile(path, hashlib.sha256(data).hexdigest(), len(data), "image/png")


Handler = Callable[[httpx.Request], httpx.Response]


def upload(
    tmp_path: Path, handler: Handler, size: int = 0, settings: Settings = SETTINGS
) -> uploads.UploadedAsset:
    """One upload; a pause of the order of seconds would end it with TimeoutError."""

    async def main() -> uploads.UploadedAsset:
        async with uploads.Uploader(settings, httpx.MockTransport(handler)) as uploader:
            return await asyncio.wait_for(uploader.upload(media(tmp_path, size)), 4)

    return asyncio.run(main())


def read(handler: Handler, settings: Settings = SETTINGS) -> object:
    async def main() -> object:
        async with HeyGenClient(settings, httpx.MockTransport(handler)) as client:
            return await asyncio.wait_for(client.read("GET", "/v3/users/me"), 4)

    return asyncio.run(main())


def counting(handler: Handler) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def counted(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return seen, counted


def never_connects(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize("caller", ["client read", "upload"])
def test_client_and_uploader_give_up_on_a_refused_connection_alike(tmp_path, caller) -> None:
    seen, handler = counting(never_connects)
    words = "upload could not connect" if caller == "upload" else "could not connect"
    with pytest.raises(TransientError, match=f"^{words} to http://heygen.test$"):
        upload(tmp_path, handler) if caller == "upload" else read(handler)
    assert len(seen) == SETTINGS.connect_attempts


@pytest.mark.parametrize("caller", ["client read", "upload"])
def test_client_and_uploader_cap_a_long_retry_after_alike(tmp_path, caller) -> None:
    """A Retry-After of a day, capped at 0.05 s: both finish well inside wait_for's 4 s."""
    settings = SETTINGS.evolve(rate_limit_cap=0.05)
    limited = {"error": {"code": "rate_limit_exceeded"}}
    answers = [
        httpx.Response(429, json=limited, headers={"Retry-After": "86400"}),
        httpx.Response(200, json={"data": {"asset_id": "asset-1"}}),
    ]
    seen, handler = counting(lambda request: answers.pop(0))
    upload(tmp_path, handler, settings=settings) if caller == "upload" else read(handler, settings)
    assert len(seen) == 2


def test_an_upload_resends_the_same_idempotency_key_and_keeps_the_key_out_of_errors(
    tmp_path: Path,
) -> None:
    answers = [
        httpx.Response(502),
        httpx.Response(409, json={"error": {"code": "request_in_progress", "message": "busy"}}),
        httpx.Response(400, json={"error": {"code": "invalid_parameter", "message": SECRET}}),
    ]
    seen, handler = counting(lambda request: answers.pop(0))
    with pytest.raises(InvalidRequest) as caught:
        upload(tmp_path, handler)
    assert len(seen) == 3
    assert len({r.headers["idempotency-key"] for r in seen}) == 1
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


def test_the_presigned_put_retries_under_the_same_policy_naming_only_its_server(
    tmp_path: Path,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(
            200,
            json={
                "data": {
                    "asset_id": "big-1",
                    "upload_url": "https://s3.test/put/1?X-Amz-Signature=signed-secret",
                }
            },
        )

    seen, counted = counting(handler)
    with pytest.raises(TransientError) as caught:
        upload(tmp_path, counted, size=uploads.SIMPLE_UPLOAD_MAX + 1)
    assert str(caught.value) == "upload could not connect to https://s3.test"
    assert [r.method for r in seen].count("PUT") == SETTINGS.connect_attempts


def test_the_presigned_put_honours_retry_after_and_takes_409_as_done(tmp_path: Path) -> None:
    """Retry-After 0.01 s, not the 5 s assumed where none is read: inside wait_for's 4 s."""
    puts = [
        httpx.Response(429, headers={"Retry-After": "0.01"}),
        httpx.Response(503),
        httpx.Response(409),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return puts.pop(0)
        data = {"asset_id": "big-1", "upload_url": "https://s3.test/put/1"}
        return httpx.Response(200, json={"data": data})

    seen, counted = counting(handler)
    assert upload(tmp_path, counted, size=uploads.SIMPLE_UPLOAD_MAX + 1).asset_id == "big-1"
    assert [r.method for r in seen] == ["POST", "PUT", "PUT", "PUT", "POST"]


def test_any_2xx_with_json_is_an_answer_for_creates_and_uploads(tmp_path: Path) -> None:
    created = httpx.Response(202, json={"data": {"video_id": "v1"}})

    async def create() -> object:
        async with HeyGenClient(SETTINGS, httpx.MockTransport(lambda r: created)) as client:
            return await client.create("/v3/videos", {}, idempotency_key="k")

    assert asyncio.run(create()) == {"data": {"video_id": "v1"}}
    stored = httpx.Response(201, json={"data": {"asset_id": "asset-9"}})
    assert upload(tmp_path, lambda request: stored).asset_id == "asset-9"
