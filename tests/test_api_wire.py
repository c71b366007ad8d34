"""The wire adapter and the client's failure classes, through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from heyrender.api import wire
from heyrender.api.client import ApiKey, HeyGenClient, Settings
from heyrender.errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)

BODY = {"avatar_id": "a", "voice_id": "v", "script": "hi", "title": "t"}


def client_for(handler: Callable[[httpx.Request], httpx.Response], **overrides) -> HeyGenClient:
    settings = Settings(
        "http://heygen.test", ApiKey("sk-secret-123"), backoff_base=0.001, **overrides
    )
    return HeyGenClient(settings, transport=httpx.MockTransport(handler))


def run(coroutine):
    return asyncio.run(coroutine)


def answer(status: int, payload, headers=None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=payload, headers=headers)


async def create(client: HeyGenClient, **kwargs) -> str:
    async with client:
        return await client.create_video(BODY, **kwargs)


def test_both_envelope_shapes_give_the_video_id() -> None:
    assert (
        run(
            create(
                client_for(
                    answer(200, {"error": None, "data": {"video_id": "v1", "status": "waiting"}})
                )
            )
        )
        == "v1"
    )
    assert run(create(client_for(answer(200, {"video_id": "v2"})))) == "v2"


@pytest.mark.parametrize(
    ("status", "payload", "kind"),
    [
        (
            400,
            {"data": None, "error": {"code": "invalid_parameter", "message": "bad"}},
            InvalidRequest,
        ),
        (
            404,
            {"data": None, "error": {"code": "avatar_not_found", "message": "no"}},
            InvalidRequest,
        ),
        (401, {"data": None, "error": {"code": "unauthorized", "message": "no"}}, AuthError),
        (403, None, AuthError),
        (402, {"data": None, "error": {"code": "insufficient_credit", "message": "no"}}, NoCredit),
        (
            200,
            {"data": None, "error": {"code": "trial_video_limit_exceeded", "message": "no"}},
            NoCredit,
        ),
        (
            200,
            {"data": None, "error": {"code": "invalid_parameter", "message": "bad"}},
            InvalidRequest,
        ),
        (500, None, OutcomeUnknown),
        (502, {"error": {"code": "bad_gateway", "message": "x"}}, OutcomeUnknown),
        (504, None, OutcomeUnknown),
    ],
)
def test_each_create_failure_has_exactly_one_class(status, payload, kind) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return (
            httpx.Response(status, json=payload) if payload is not None else httpx.Response(status)
        )

    with pytest.raises(kind):
        run(create(client_for(handler)))
    assert len(calls) == 1, "a create is never resent on its own"


def test_a_dropped_or_timed_out_create_is_unknown_and_never_resent() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(
        OutcomeUnknown, match="timed out waiting for the answer; the video may exist"
    ):
        run(create(client_for(handler)))
    assert len(calls) == 1


def test_a_create_that_never_connected_is_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"error": None, "data": {"video_id": "v9"}})

    assert run(create(client_for(handler))) == "v9"
    assert len(calls) == 3


def test_rate_limited_create_waits_for_retry_after_or_hands_it_back() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(
                429,
                json={"data": None, "error": {"code": "rate_limit_exceeded", "message": "x"}},
                headers={"Retry-After": "0.01"},
            )
        return httpx.Response(200, json={"error": None, "data": {"video_id": "v3"}})

    assert run(create(client_for(handler))) == "v3"
    calls.clear()
    with pytest.raises(RateLimited) as caught:
        run(create(client_for(handler), wait_when_rate_limited=False))
    assert caught.value.retry_after == pytest.approx(0.01)


def test_reads_retry_transient_failures_with_backoff() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("dropped", request=request)
        if len(calls) == 2:
            return httpx.Response(503)
        return httpx.Response(
            200, json={"error": None, "data": {"id": "v1", "status": "processing"}}
        )

    async def poll():
        async with client_for(handler) as client:
            return await client.video_status("v1")

    assert run(poll()).status == "processing"
    assert len(calls) == 3


def test_reads_give_up_after_max_attempts() -> None:
    async def poll():
        async with client_for(answer(500, None), max_attempts=3) as client:
            return await client.video_status("v1")

    with pytest.raises(TransientError):
        run(poll())


def test_200_with_error_is_checked_before_status() -> None:
    async def poll():
        async with client_for(
            answer(
                200,
                {
                    "data": {"status": "completed"},
                    "error": {"code": "unauthorized", "message": "x"},
                },
            )
        ) as client:
            return await client.video_status("v1")

    with pytest.raises(AuthError):
        run(poll())


def test_unknown_statuses_are_in_progress_and_credit_failures_are_recognised() -> None:
    queued = wire.status_of({"data": {"id": "v", "status": "queued"}}, "v")
    assert not queued.finished
    broke = wire.status_of(
        {
            "data": {
                "id": "v",
                "status": "failed",
                "failure_code": "MOVIO_PAYMENT_INSUFFICIENT_CREDIT",
            }
        },
        "v",
    )
    assert broke.finished and broke.out_of_credit


def test_retry_after_is_parsed_and_capped() -> None:
    assert wire.retry_after_seconds("7") == 7
    assert wire.retry_after_seconds(None) == wire.DEFAULT_RETRY_AFTER
    assert wire.retry_after_seconds("100000", cap=60) == 60
    assert wire.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0


def test_the_key_is_sent_but_never_shown(monkeypatch) -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-api-key"])
        return httpx.Response(
            401, json={"data": None, "error": {"code": "unauthorized", "message": "bad key"}}
        )

    client = client_for(handler)
    with pytest.raises(AuthError) as caught:
        run(create(client))
    assert seen == ["sk-secret-123"]
    for text in (str(caught.value), repr(caught.value), repr(client), repr(client.settings)):
        assert "sk-secret-123" not in text


def test_missing_key_says_how_to_set_it(monkeypatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    assert "HEYGEN_API_KEY is not set" in str(caught.value)
    assert "export HEYGEN_API_KEY=" in (caught.value.hint or "")


def test_base_url_from_option_then_environment(monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setenv("HEYGEN_API_BASE", "http://127.0.0.1:9/")
    assert Settings.from_env().base_url == "http://127.0.0.1:9"
    assert Settings.from_env("https://other.test").base_url == "https://other.test"
    monkeypatch.delenv("HEYGEN_API_BASE")
    assert Settings.from_env().base_url == "https://api.heygen.com"


def test_listing_reads_every_page_each_id_once_and_filters_created_since() -> None:
    pages = {
        None: {
            "videos": [{"id": "c", "title": "c", "status": "waiting", "created_at": 30}],
            "token": "p2",
        },
        "p2": {
            "videos": [
                {"video_id": "b", "title": "b", "status": "completed", "created_at": 20},
                {"id": "a", "title": "a", "status": "completed", "created_at": 10},
            ],
            "token": "p3",
        },
        "p3": {  # pages overlap while creates continue, and order is not promised
            "videos": [
                {"id": "c", "title": "c", "status": "waiting", "created_at": 30},
                {"id": "d", "title": "d", "status": "waiting", "created_at": 40},
            ],
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"error": None, "data": pages[request.url.params.get("token")]}
        )

    async def collect():
        async with client_for(handler) as client:
            return [v.video_id async for v in client.videos(created_since=15)]

    assert run(collect()) == ["c", "b", "d"]


def test_create_sends_the_body_as_json() -> None:
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"error": None, "data": {"video_id": "v"}})

    run(create(client_for(handler)))
    assert sent == [BODY]
