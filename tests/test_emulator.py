"""The emulator over real loopback HTTP, and the client against it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

from heyrender.api.client import ApiKey, HeyGenClient, Settings
from heyrender.errors import (
    AuthError,
    ExpiredUrl,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
)

ROOT = Path(__file__).resolve().parent.parent
RESPONSES = json.loads((ROOT / "schemas" / "api-responses.schema.json").read_text())
OPENAPI = ROOT.parent / "shared" / "heygen" / "generate-video.openapi.json"


def body(title: str, **extra) -> dict:
    return {
        "avatar_id": "a1",
        "voice_id": "v1",
        "script": "Hello there friend",
        "title": title,
        **extra,
    }


def shape(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", **RESPONSES})


def check(payload: dict, *shapes: str) -> None:
    for name in shapes:
        errors = list(shape(name).iter_errors(payload))
        assert not errors, (name, payload, errors[0].message)


def client(url: str, key: str = "k", **overrides) -> HeyGenClient:
    return HeyGenClient(Settings(url, ApiKey(key), backoff_base=0.01, backoff_cap=0.2, **overrides))


def test_answers_have_heygens_shapes_through_the_whole_lifecycle(start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "0.6", "--fail-rate", "0.5", "--seed", "3")
    seen_statuses = set()
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": "k"}) as http:
        created = [http.post("/v2/videos", json=body(f"t{i}")).json() for i in range(3)]
        create_schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        if OPENAPI.exists():
            spec = json.loads(OPENAPI.read_text())
            create_schema = spec["paths"]["/v2/videos"]["post"]["responses"]["200"]["content"][
                "application/json"
            ]["schema"]
        for answer in created:
            check(answer, "ok")
            jsonschema.validate(answer["data"], create_schema)
            assert answer["data"]["status"] == "waiting"
        ids = [answer["data"]["video_id"] for answer in created]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not {"completed", "failed"} <= seen_statuses:
            for video_id in ids:
                answer = http.get(f"/v2/videos/{video_id}").json()
                check(answer, "ok")
                check(answer["data"], "video")
                seen_statuses.add(answer["data"]["status"])
            time.sleep(0.05)
        listing = http.get("/v2/videos", params={"limit": 2}).json()
        check(listing, "ok")
        check(listing["data"], "list")
        assert [v["id"] for v in listing["data"]["videos"]] == ids[::-1][:2]
        rest = http.get("/v2/videos", params={"limit": 2, "token": listing["data"]["token"]}).json()
        assert [v["id"] for v in rest["data"]["videos"]] == ids[:1]
        assert rest["data"]["token"] is None
        for answer in (
            http.get("/v2/videos/nope"),
            http.post("/v2/videos", json={"avatar_id": "a"}),
        ):
            check(answer.json(), "error")
        assert http.get("/v2/videos/nope").status_code == 404
    assert {"waiting", "processing", "completed", "failed"} <= seen_statuses


def test_invalid_bodies_get_400_with_the_validate_sentence(start_emulator) -> None:
    emulator = start_emulator()
    answer = httpx.post(
        f"{emulator.url}/v2/videos",
        headers={"x-api-key": "k"},
        json={"avatar_id": "a", "script": "x"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "invalid_parameter",
        "message": "voice_id: required when script is given",
    }


def test_auth_with_a_fixed_key(start_emulator) -> None:
    emulator = start_emulator("--api-key", "right")
    for headers in ({}, {"x-api-key": "wrong"}):
        answer = httpx.get(f"{emulator.url}/v2/videos", headers=headers)
        assert answer.status_code == 401
        check(answer.json(), "error")
    assert httpx.get(f"{emulator.url}/v2/videos", headers={"x-api-key": "right"}).status_code == 200


def test_concurrency_cap_gives_429_with_retry_after(start_emulator) -> None:
    emulator = start_emulator(
        "--max-concurrent", "2", "--render-seconds", "5", "--retry-after", "3"
    )
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": "k"}) as http:
        answers = [http.post("/v2/videos", json=body(f"t{i}")) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "3"
    assert answers[2].json()["error"]["code"] == "rate_limit_exceeded"
    stats = emulator.stats()
    assert (stats["rate_limited"], stats["peak_unfinished"], stats["creates_accepted"]) == (1, 2, 2)
    assert stats["creates_by_title"] == {"t0": 1, "t1": 1}


def test_file_urls_serve_bytes_expire_and_refresh(start_emulator) -> None:
    emulator = start_emulator("--render-seconds", "0.1", "--url-ttl", "1")

    async def scenario(tmp: Path):
        async with client(emulator.url) as api:
            video_id = await api.create_video(body("f"))
            await asyncio.sleep(0.2)
            status = await api.video_status(video_id)
            assert status.status == "completed"
            assert await api.download(status.video_url, tmp / "v.mp4") > 0
            thumb = httpx.get(status.thumbnail_url)
            assert thumb.headers["content-type"] == "image/jpeg"
            await asyncio.sleep(2.1)
            with pytest.raises(ExpiredUrl):
                await api.download(status.video_url, tmp / "late.mp4")
            fresh = await api.video_status(video_id)
            assert fresh.video_url != status.video_url
            await api.download(fresh.video_url, tmp / "v2.mp4")
        return (tmp / "v.mp4").read_bytes(), (tmp / "v2.mp4").read_bytes()

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        first, second = asyncio.run(scenario(Path(folder)))
    assert first == second and first[4:8] == b"ftyp"


def test_client_classes_against_the_emulator(start_emulator) -> None:
    emulator = start_emulator(
        "--credits", "1", "--render-seconds", "0.2", "--max-concurrent", "5", "--api-key", "good"
    )

    async def scenario():
        async with client(emulator.url, "bad") as api:
            with pytest.raises(AuthError):
                await api.create_video(body("x"))
        async with client(emulator.url, "good") as api:
            with pytest.raises(InvalidRequest):
                await api.create_video({"avatar_id": "a"})
            first = await api.create_video(body("one"))
            last = await api.create_video(body("two"))
            with pytest.raises(NoCredit):
                await api.create_video(body("three"))
            await asyncio.sleep(0.3)
            assert (await api.video_status(first)).status == "completed"
            assert (await api.video_status(last)).out_of_credit

    asyncio.run(scenario())


def test_client_waits_out_rate_limits(start_emulator) -> None:
    emulator = start_emulator(
        "--max-concurrent", "1", "--render-seconds", "0.3", "--retry-after", "0.2"
    )

    async def scenario():
        async with client(emulator.url) as api:
            await api.create_video(body("a"))
            with pytest.raises(RateLimited):
                await api.create_video(body("b"), wait_when_rate_limited=False)
            await api.create_video(body("b"))

    asyncio.run(scenario())
    assert emulator.stats()["creates_by_title"] == {"a": 1, "b": 1}


def test_client_under_faults_never_creates_a_video_twice(start_emulator) -> None:
    emulator = start_emulator(
        "--fault-rate",
        "0.4",
        "--seed",
        "11",
        "--slow-seconds",
        "2",
        "--max-concurrent",
        "100",
        "--render-seconds",
        "0.2",
    )

    async def scenario():
        outcomes = {}
        async with client(
            emulator.url, create_timeout=0.5, read_timeout=0.5, max_attempts=20
        ) as api:

            async def one(i: int):
                try:
                    outcomes[f"t{i}"] = await api.create_video(body(f"t{i}"))
                except OutcomeUnknown:
                    outcomes[f"t{i}"] = None

            await asyncio.gather(*(one(i) for i in range(40)))
            known = [v for v in outcomes.values() if v]
            statuses = await asyncio.gather(*(api.video_status(v) for v in known))
            listed = [v async for v in api.videos()]
        return outcomes, statuses, listed

    outcomes, statuses, listed = asyncio.run(scenario())
    stats = emulator.stats()
    assert all(count == 1 for count in stats["creates_by_title"].values())
    assert {s.video_id for s in statuses} == {v for v in outcomes.values() if v}
    unknown = {title for title, video in outcomes.items() if video is None}
    assert unknown, "with 40% faults some creates must end unknown"
    created_anyway = unknown & set(stats["creates_by_title"])
    assert {v.title for v in listed} >= created_anyway
    assert sum(stats["faults"].values()) > 0


def test_logs_a_line_per_request_and_stops_on_sigterm(start_emulator, tmp_path) -> None:
    emulator = start_emulator()
    httpx.get(f"{emulator.url}/v2/videos", headers={"x-api-key": "sk-hidden"})
    httpx.get(f"{emulator.url}/v2/videos/abc", headers={"x-api-key": "sk-hidden"})
    assert emulator.stop() == 0
    log = (tmp_path / "emulator0.log").read_text()
    lines = [line for line in log.splitlines() if "/v2/videos" in line]
    assert len(lines) == 2 and " GET /v2/videos 200 " in lines[0] and " 404 " in lines[1]
    assert "sk-hidden" not in log


def test_a_taken_port_is_a_clear_error(start_emulator) -> None:
    import subprocess
    import sys

    port = start_emulator().url.rsplit(":", 1)[1]
    taken = subprocess.run(
        [sys.executable, "-m", "heyrender", "emulator", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert taken.returncode == 2
    assert taken.stderr.startswith(f"Error: the emulator cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in taken.stderr
