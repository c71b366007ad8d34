"""The emulator's v3 API over real loopback HTTP, every answer checked against HeyGen's schemas
in schemas/heygen/v3-reference.json."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from heyrender.emulator.files import Signer

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "schemas" / "heygen" / "v3-reference.json").read_text())
KEY = {"x-api-key": "k"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema: null joins the type (and the enum)."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def response_schema(method: str, path: str) -> dict[str, Any]:
    for entry in REFERENCE["endpoints"]:
        if (entry["method"], entry["path"]) == (method, path):
            schema: dict[str, Any] = json_schema(entry["response"])
            return schema
    raise KeyError((method, path))


ERROR_ENVELOPE = {
    "type": "object",
    "required": ["data", "error"],
    "properties": {
        "data": {"type": "null"},
        "error": {
            "type": "object",
            "required": ["code", "message", "param", "doc_url"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "doc_url": {"type": "string"},
            },
        },
    },
}


def conforms(answer: httpx.Response, method: str, path: str) -> dict[str, Any]:
    """The answer's JSON, after checking its status and its shape against HeyGen's schema."""
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()
    jsonschema.validate(payload, response_schema(method, path))
    assert payload["error"] is None
    return payload


def error_of(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    payload = answer.json()
    jsonschema.validate(payload, ERROR_ENVELOPE)
    if code is not None:
        assert payload["error"]["code"] == code, payload
    error: dict[str, Any] = payload["error"]
    return error


def avatar(title: str, **extra: Any) -> dict[str, Any]:
    return {"type": "avatar", "avatar_id": "a1", "script": "Hello there friend", "title": title} | (
        extra
    )


def photo(title: str, **extra: Any) -> dict[str, Any]:
    image = {"type": "url", "url": "https://example.com/face.png"}
    body = {"type": "image", "image": image, "voice_id": "v1", "script": "Hi", "title": title}
    return body | extra


@pytest.fixture(scope="module")
def shared():
    """One emulator for the tests whose checks do not depend on what else it has seen."""
    from heyrender.emulator.process import EmulatorProcess

    emulator = EmulatorProcess("--max-concurrent", "100000", "--quiet")
    with httpx.Client(base_url=emulator.url, headers=KEY, timeout=30) as client:
        yield client
    emulator.stop()


def creates(api: httpx.Client) -> int:
    count: int = api.get("/_emulator/stats").json()["creates_accepted"]
    return count


@pytest.fixture
def http(start_emulator):
    """An httpx client against a fresh emulator with fast renders; `.emulator` is the process."""

    def connect(*flags: str) -> httpx.Client:
        emulator = start_emulator(*flags)
        client = httpx.Client(base_url=emulator.url, headers=KEY, timeout=30)
        client.emulator = emulator  # type: ignore[attr-defined]
        opened.append(client)
        return client

    opened: list[httpx.Client] = []
    yield connect
    for client in opened:
        client.close()


def wait_until_finished(api: httpx.Client, video_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = api.get(f"/v3/videos/{video_id}").json()["data"]
        if data["status"] in ("completed", "failed"):
            return data
        time.sleep(0.05)
    raise AssertionError(f"{video_id} did not finish")


def test_create_get_list_statuses_have_heygens_shapes(http) -> None:
    api = http("--render-seconds", "1", "--max-concurrent", "10")
    created = conforms(api.post("/v3/videos", json=avatar("one")), "POST", "/v3/videos")["data"]
    assert created["status"] == "waiting" and created["output_format"] == "mp4"
    webm = conforms(
        api.post("/v3/videos", json=photo("two", output_format="webm")), "POST", "/v3/videos"
    )
    assert webm["data"]["output_format"] == "webm"
    early = conforms(api.get(f"/v3/videos/{created['video_id']}"), "GET", "/v3/videos/{video_id}")
    if early["data"]["status"] != "completed":  # a busy machine may take a second to ask
        assert early["data"]["status"] in ("pending", "processing")
        assert early["data"]["video_url"] is None and early["data"]["completed_at"] is None
    done = wait_until_finished(api, created["video_id"])
    answer = conforms(api.get(f"/v3/videos/{created['video_id']}"), "GET", "/v3/videos/{video_id}")
    video = answer["data"]
    assert video == done | {k: video[k] for k in video if k.endswith("_url")}
    assert video["status"] == "completed" and video["title"] == "one"
    assert isinstance(video["completed_at"], int) and video["completed_at"] >= video["created_at"]
    assert video["duration"] > 0 and video["failure_code"] is None
    for field in ("video_url", "thumbnail_url", "gif_url", "subtitle_url", "video_page_url"):
        assert httpx.get(video[field]).status_code == 200, field
    assert httpx.get(video["video_url"]).content[4:8] == b"ftyp"
    assert httpx.get(video["subtitle_url"]).text.startswith("1\n00:00:00,000 --> ")
    assert video["captioned_video_url"] is None
    webm_video = wait_until_finished(api, webm["data"]["video_id"])
    assert httpx.get(webm_video["video_url"]).content[:4] == b"\x1a\x45\xdf\xa3"
    listing = conforms(api.get("/v3/videos"), "GET", "/v3/videos")
    assert [v["id"] for v in listing["data"]] == [webm["data"]["video_id"], created["video_id"]]
    assert listing["has_more"] is False and listing["next_token"] is None
    ids = ",".join([created["video_id"], "nope", webm["data"]["video_id"]])
    statuses = conforms(
        api.get("/v3/videos/statuses", params={"video_ids": ids}), "GET", "/v3/videos/statuses"
    )
    assert [(s["video_id"], s["status"]) for s in statuses["data"]] == [
        (created["video_id"], "completed"),
        ("nope", "not_found"),
        (webm["data"]["video_id"], "completed"),
    ]


def test_failed_videos_carry_their_failure(http) -> None:
    api = http("--render-seconds", "0.1", "--fail-rate", "1")
    video_id = api.post("/v3/videos", json=avatar("f")).json()["data"]["video_id"]
    video = wait_until_finished(api, video_id)
    assert (video["status"], video["failure_code"]) == ("failed", "RENDER_FAILED")
    assert video["video_url"] is None and isinstance(video["completed_at"], int)
    statuses = conforms(
        api.get("/v3/videos/statuses", params={"video_ids": video_id}), "GET", "/v3/videos/statuses"
    )
    assert statuses["data"][0]["error"]["code"] == "RENDER_FAILED"


def test_invalid_bodies_get_400_naming_the_field(shared) -> None:
    api, created = shared, creates(shared)
    error = error_of(
        api.post("/v3/videos", json={"type": "avatar", "script": "x"}), 400, "invalid_parameter"
    )
    assert error["param"] == "avatar_id" and "avatar_id" in error["message"]
    assert error["doc_url"].startswith("https://")
    v2_body = {"avatar_id": "a1", "voice_id": "v1", "script": "Hi"}
    error_of(api.post("/v3/videos", json=v2_body), 400, "invalid_parameter")
    speed = json.dumps(avatar("s", voice_settings={"speed": 1.0})).replace("1.0", "NaN")
    for text in (speed, speed.replace("NaN", "Infinity"), speed.replace("NaN", "1e999")):
        error = error_of(api.post("/v3/videos", content=text), 400, "invalid_parameter")
    assert creates(api) == created


def test_idempotency_key_replays_the_first_answer_even_for_another_body(shared) -> None:
    api = shared
    before = api.get("/_emulator/stats").json()
    key = {"Idempotency-Key": "campaign:row-1.attempt_0"}
    first = api.post("/v3/videos", json=avatar("replayed"), headers=key)
    again = api.post("/v3/videos", json=avatar("replayed"), headers=key)
    changed = api.post("/v3/videos", json=avatar("changed"), headers=key)
    assert first.json() == again.json() == changed.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    other = api.post("/v3/videos", json=avatar("replayed"), headers={"Idempotency-Key": "row-2"})
    assert other.json()["data"]["video_id"] != first.json()["data"]["video_id"]
    # keys are scoped per endpoint: the same key uploads an asset
    asset = api.post("/v3/assets", files={"file": ("p.png", PNG)}, headers=key)
    assert asset.status_code == 200 and "idempotent-replayed" not in asset.headers
    stats = api.get("/_emulator/stats").json()
    assert stats["creates_accepted"] - before["creates_accepted"] == 2
    assert stats["idempotent_replays"] - before["idempotent_replays"] == 2
    other_body = stats["idempotent_replays_of_another_body"]
    assert other_body - before["idempotent_replays_of_another_body"] == 1
    assert stats["creates_by_title"]["replayed"] == 2 and "changed" not in stats["creates_by_title"]


def test_a_refused_create_releases_its_key(shared) -> None:
    api = shared
    key = {"Idempotency-Key": "released-after-400"}
    error_of(api.post("/v3/videos", json={"type": "avatar"}, headers=key), 400)
    assert api.post("/v3/videos", json=avatar("ok"), headers=key).status_code == 200


def test_malformed_idempotency_keys_get_400(shared) -> None:
    api, created = shared, creates(shared)
    for key in ("", "a b", "x" * 256, "caf\u00e9", "a/b", "semi;colon"):
        headers = {"Idempotency-Key": key.encode("utf-8")}
        answer = api.post("/v3/videos", json=avatar("a"), headers=headers)
        assert error_of(answer, 400, "invalid_parameter")["param"] == "Idempotency-Key", key
    assert creates(api) == created
    longest = api.post("/v3/videos", json=avatar("a"), headers={"Idempotency-Key": "x" * 255})
    assert longest.status_code == 200


def test_replay_window_ends_after_the_ttl(http) -> None:
    api = http("--idempotency-ttl", "0.5", "--max-concurrent", "10")
    key = {"Idempotency-Key": "short-lived"}
    first = api.post("/v3/videos", json=avatar("a"), headers=key).json()["data"]["video_id"]
    assert api.post("/v3/videos", json=avatar("a"), headers=key).json()["data"]["video_id"] == first
    time.sleep(1.0)
    later = api.post("/v3/videos", json=avatar("a"), headers=key).json()["data"]["video_id"]
    assert later != first
    assert api.get("/_emulator/stats").json()["creates_by_title"] == {"a": 2}


def test_a_key_in_flight_gets_409_then_replays(http) -> None:
    api = http("--fault-rate", "1", "--fault-kinds", "slow", "--slow-seconds", "2")
    key = {"Idempotency-Key": "slow-one"}
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(api.post("/v3/videos", json=avatar("a"), headers=key))
    )
    first.start()
    deadline = time.monotonic() + 10
    while api.get("/_emulator/stats").json()["creates_accepted"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    error = error_of(
        api.post("/v3/videos", json=avatar("a"), headers=key), 409, "request_in_progress"
    )
    assert error["param"] == "Idempotency-Key"
    first.join(timeout=20)
    replay = api.post("/v3/videos", json=avatar("a"), headers=key)
    assert replay.json() == answers[0].json() and replay.headers["idempotent-replayed"] == "true"
    assert api.get("/_emulator/stats").json()["creates_accepted"] == 1


def test_a_create_whose_answer_was_lost_replays_under_its_key(http) -> None:
    api = http("--fault-rate", "1", "--fault-kinds", "created-then-502")
    key = {"Idempotency-Key": "lost-answer"}
    error_of(api.post("/v3/videos", json=avatar("a"), headers=key), 502, "bad_gateway")
    replay = api.post("/v3/videos", json=avatar("a"), headers=key)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert api.get("/_emulator/stats").json()["creates_accepted"] == 1


def test_pages_are_stable_while_creates_continue(shared) -> None:
    api = shared
    before = [
        api.post("/v3/videos", json=avatar(f"paged {i}")).json()["data"]["video_id"]
        for i in range(23)
    ]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, "title": "paged"} | (
            {"token": token} if token else {}
        )
        page = conforms(api.get("/v3/videos", params=params), "GET", "/v3/videos")
        seen += [video["id"] for video in page["data"]]
        api.post("/v3/videos", json=avatar(f"paged late {pages}"))  # a create between two pages
        pages += 1
        if not page["has_more"]:
            assert page["next_token"] is None
            break
        token = page["next_token"]
    assert seen == before[::-1] and pages == 5


def test_v2_pages_are_stable_too(http) -> None:
    api = http("--max-concurrent", "1000")
    v2 = {"avatar_id": "a", "voice_id": "v", "script": "hi"}
    before = [
        api.post("/v2/videos", json=v2 | {"title": f"t{i}"}).json()["data"]["video_id"]
        for i in range(7)
    ]
    first = api.get("/v2/videos", params={"limit": 4}).json()["data"]
    api.post("/v2/videos", json=v2 | {"title": "late"})
    rest = api.get("/v2/videos", params={"limit": 4, "token": first["token"]}).json()["data"]
    assert [v["id"] for v in first["videos"] + rest["videos"]] == before[::-1]
    assert rest["token"] is None


def test_title_filter_is_a_substring_match(http) -> None:
    api = http("--max-concurrent", "100")
    for title in ("Outreach Acme (dana)", "Outreach Globex (li)", "Other"):
        api.post("/v3/videos", json=avatar(title))
    found = conforms(api.get("/v3/videos", params={"title": "outreach"}), "GET", "/v3/videos")
    assert sorted(v["title"] for v in found["data"]) == [
        "Outreach Acme (dana)",
        "Outreach Globex (li)",
    ]
    one = api.get("/v3/videos", params={"title": "Outreach", "limit": 1}).json()
    assert len(one["data"]) == 1 and one["has_more"] is True
    assert api.get("/v3/videos", params={"title": "nobody"}).json()["data"] == []


def test_list_limits_outside_1_to_100_are_refused(shared) -> None:
    api = shared
    for limit in ("-1", "0", "101", "1000", "ten", "1.5"):
        assert error_of(api.get("/v3/videos", params={"limit": limit}), 400)["param"] == "limit"
        assert api.get("/v2/videos", params={"limit": limit}).status_code == 400
    for limit in ("1", "100"):
        assert api.get("/v3/videos", params={"limit": limit}).status_code == 200


def test_a_foreign_token_is_refused(shared) -> None:
    api = shared
    assert error_of(api.get("/v3/videos", params={"token": "garbage!"}), 400)["param"] == "token"


def test_statuses_call_limits_and_not_found(shared) -> None:
    api = shared
    error_of(api.get("/v3/videos/statuses"), 400, "invalid_parameter")
    many = ",".join(f"id{i}" for i in range(101))
    assert (
        error_of(api.get("/v3/videos/statuses", params={"video_ids": many}), 400)["param"]
        == "video_ids"
    )
    hundred = ",".join(f"id{i}" for i in range(100))
    answer = conforms(
        api.get("/v3/videos/statuses", params={"video_ids": hundred}), "GET", "/v3/videos/statuses"
    )
    assert len(answer["data"]) == 100 and {s["status"] for s in answer["data"]} == {"not_found"}


def test_delete_makes_a_video_unknown_everywhere(shared) -> None:
    api = shared
    keep = api.post("/v3/videos", json=avatar("deletion keep")).json()["data"]["video_id"]
    gone = api.post("/v3/videos", json=avatar("deletion gone")).json()["data"]["video_id"]
    deleted = conforms(api.delete(f"/v3/videos/{gone}"), "DELETE", "/v3/videos/{video_id}")
    assert deleted["data"] == {"id": gone, "deleted": True}
    error_of(api.get(f"/v3/videos/{gone}"), 404, "video_not_found")
    error_of(api.delete(f"/v3/videos/{gone}"), 404, "video_not_found")
    assert api.get(f"/v2/videos/{gone}").status_code == 404
    statuses = api.get("/v3/videos/statuses", params={"video_ids": f"{gone},{keep}"}).json()["data"]
    assert statuses[0]["status"] == "not_found"
    assert statuses[1]["status"] in ("queued", "pending", "processing", "completed")
    listed = api.get("/v3/videos", params={"title": "deletion"}).json()["data"]
    assert [v["id"] for v in listed] == [keep]


def test_users_me_wallet_is_drawn_down_and_a_create_it_cannot_pay_gets_402(http) -> None:
    api = http("--balance-usd", "2", "--render-seconds", "0.2", "--max-concurrent", "10")
    me = conforms(api.get("/v3/users/me"), "GET", "/v3/users/me")["data"]
    assert me["billing_type"] == "wallet" and me["wallet"]["remaining_balance"] == 2
    script = " ".join(["word"] * 25)  # 10 s at 150 words a minute
    video = api.post("/v3/videos", json=avatar("a", script=script)).json()["data"]["video_id"]
    assert wait_until_finished(api, video)["duration"] == 10
    me = conforms(api.get("/v3/users/me"), "GET", "/v3/users/me")["data"]
    assert me["wallet"]["remaining_balance"] == pytest.approx(2 - 10 * 0.0667)
    photo_4k = photo("b", script=script, resolution="4k")
    assert api.post("/v3/videos", json=photo_4k).status_code == 200  # 10 s at $0.0667
    too_much = avatar("c", script=" ".join(["word"] * 50))  # 20 s at $0.0667 > $0.666 left
    error_of(api.post("/v3/videos", json=too_much), 402, "insufficient_credit")
    cheap = photo("d", script=" ".join(["word"] * 25))  # 10 s at $0.05
    assert api.post("/v3/videos", json=cheap).status_code == 200
    assert api.get("/_emulator/stats").json()["spent_usd"] >= 0.667


@pytest.mark.parametrize("billing", ["subscription", "usage_based"])
def test_users_me_other_billing_shapes(http, billing: str) -> None:
    api = http("--billing-type", billing, "--balance-usd", "50")
    me = conforms(api.get("/v3/users/me"), "GET", "/v3/users/me")["data"]
    assert me["billing_type"] == billing and me["wallet"] is None
    if billing == "subscription":
        assert me["subscription"]["credits"]["premium_credits"]["remaining"] == 50
    else:
        assert me["usage_based"]["spending_cap_usd"] == 50
        assert me["usage_based"]["spending_current_usd"] == 0


def test_errors_come_in_heygens_envelope(shared) -> None:
    api = shared
    error_of(api.get("/v3/nothing-here"), 404, "not_found")
    error_of(api.put("/v3/videos"), 405, "method_not_allowed")
    error_of(api.patch("/v3/videos/abc"), 405)
    big = b'{"type": "avatar", "title": "' + b"x" * (5 * 2**20) + b'"}'
    error_of(api.post("/v3/videos", content=big), 413, "payload_too_large")
    for text in ("{", "null", "[1]", '"x"', "\xff", "[" * 100_000 + "]" * 100_000):
        error_of(api.post("/v3/videos", content=text), 400, "invalid_parameter")
    deep = '{"type": "avatar", "title": "x", "caption": ' + '{"a": ' * 100 + "1" + "}" * 101
    error_of(api.post("/v3/videos", content=deep), 400, "invalid_parameter")
    nested_null = avatar("n") | {"voice_settings": None}
    assert error_of(api.post("/v3/videos", json=nested_null), 400)["param"] == "voice_settings"
    unauthorized = httpx.get(f"{api.base_url}/v3/videos")
    error_of(unauthorized, 401, "unauthorized")
    v2 = api.get("/v2/videos/nope")
    assert v2.status_code == 404 and set(v2.json()["error"]) == {"code", "message"}
    assert api.post("/v2/videos", content="null").status_code == 400


def test_assets_upload_by_content_type_and_serve_their_bytes(http) -> None:
    api = http()
    key = {"Idempotency-Key": "upload-1"}
    answer = api.post("/v3/assets", files={"file": ("face.png", PNG, "image/png")}, headers=key)
    asset = conforms(answer, "POST", "/v3/assets")["data"]
    assert (asset["mime_type"], asset["size_bytes"]) == ("image/png", len(PNG))
    again = api.post("/v3/assets", files={"file": ("other.mp4", MP4)}, headers=key)
    assert again.json()["data"]["asset_id"] == asset["asset_id"]
    assert api.get(f"/v3/assets/{asset['asset_id']}").json()["data"] == asset
    served = httpx.get(asset["url"])
    assert served.content == PNG and served.headers["content-type"] == "image/png"
    samples = {
        "image/jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 16,
        "video/mp4": MP4,
        "video/webm": b"\x1a\x45\xdf\xa3" + b"\x00" * 16,
        "audio/mpeg": b"ID3\x04" + b"\x00" * 16,
        "audio/wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
        "application/pdf": b"%PDF-1.7\n",
    }
    for mime, data in samples.items():
        # the name and declared type lie; the content decides
        uploaded = api.post("/v3/assets", files={"file": ("x.png", data, "image/png")})
        assert conforms(uploaded, "POST", "/v3/assets")["data"]["mime_type"] == mime
    error_of(
        api.post("/v3/assets", files={"file": ("a.png", b"just text")}), 400, "invalid_parameter"
    )
    error_of(api.post("/v3/assets", files={"other": ("a.png", PNG)}), 400)
    error_of(api.post("/v3/assets", json={"file": "x"}), 400)
    error_of(api.get("/v3/assets/nope"), 404, "asset_not_found")
    stats = api.get("/_emulator/stats").json()
    assert stats["uploads"] == {"count": 7, "bytes": len(PNG) + sum(map(len, samples.values()))}


def test_uploads_over_32_mb_get_413_and_go_through_a_direct_upload(http) -> None:
    api = http("--quiet")
    big = MP4 + b"\x00" * (32 * 2**20)
    error = error_of(api.post("/v3/assets", files={"file": ("big.mp4", big)}), 413)
    assert "direct-uploads" in error["message"]
    started = api.post(
        "/v3/assets/direct-uploads",
        json={"size_bytes": len(big)},
        headers={"Idempotency-Key": "d1"},
    )
    assert started.status_code == 200
    upload = started.json()["data"]
    assert (
        httpx.put(upload["upload_url"].replace("token=", "token=x"), content=b"x").status_code
        == 403
    )
    error_of(api.post(f"/v3/assets/{upload['asset_id']}/complete"), 400)  # nothing uploaded yet
    assert httpx.put(upload["upload_url"], content=big, timeout=60).status_code == 200
    done = conforms(api.post(f"/v3/assets/{upload['asset_id']}/complete"), "POST", "/v3/assets")
    assert done["data"]["size_bytes"] == len(big) and done["data"]["mime_type"] == "video/mp4"
    assert api.get(f"/v3/assets/{upload['asset_id']}").json()["data"] == done["data"]
    assert httpx.get(done["data"]["url"], timeout=60).content == big
    assert api.get("/_emulator/stats").json()["uploads"]["count"] == 1


def test_stats_count_creates_per_api_and_requests_per_endpoint(http) -> None:
    api = http("--max-concurrent", "10")
    api.post("/v2/videos", json={"avatar_id": "a", "voice_id": "v", "script": "hi"})
    video_id = api.post("/v3/videos", json=avatar("x")).json()["data"]["video_id"]
    api.get(f"/v3/videos/{video_id}")
    api.get("/v3/videos/statuses", params={"video_ids": video_id})
    api.get("/v3/missing")
    stats = api.get("/_emulator/stats").json()
    assert stats["creates_by_api"] == {"v2": 1, "v3": 1}
    assert stats["requests_by_endpoint"] == {
        "POST /v2/videos": 1,
        "POST /v3/videos": 1,
        "GET /v3/videos/{video_id}": 1,
        "GET /v3/videos/statuses": 1,
        "GET (unknown path)": 1,
        "GET /_emulator/stats": 1,
    }


def test_a_signed_url_lives_at_least_its_ttl(monkeypatch) -> None:
    signer = Signer(ttl=1.0)
    monkeypatch.setattr(time, "time", lambda: 1000.9)
    query = dict(part.split("=") for part in signer.query("v.mp4").split("&"))
    monkeypatch.setattr(time, "time", lambda: 1001.85)  # 0.95 s later: int() said expired
    assert signer.valid("v.mp4", query["expires"], query["signature"])
    monkeypatch.setattr(time, "time", lambda: 1001.95)
    assert not signer.valid("v.mp4", query["expires"], query["signature"])
    assert not signer.valid("w.mp4", query["expires"], query["signature"])


@pytest.mark.parametrize(
    "flags",
    [
        ["--port", "70000"],
        ["--fail-rate", "1.5"],
        ["--fault-rate", "-0.1"],
        ["--render-seconds", "-1"],
        ["--retry-after", "nan"],
        ["--max-concurrent", "0"],
        ["--balance-usd", "-5"],
        ["--idempotency-ttl", "0"],
        ["--url-ttl", "inf"],
        ["--billing-type", "prepaid"],
    ],
)
def test_emulator_options_out_of_range_are_clear_errors(cli, flags: list[str]) -> None:
    result = cli("emulator", *flags)
    assert result.exit_code == 2
    assert f"Invalid value for '{flags[0]}'" in result.output
    assert "Traceback" not in result.output
