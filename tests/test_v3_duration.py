"""Why a v3 row records no `duration` in the lockfile while a v2 row does, pinned against
HeyGen's published v3 schemas (schemas/heygen/v3-reference.json, from HeyGen's CLI).

apply and `status --refresh` poll `GET /v3/videos/statuses`, whose items are video_id,
status and error only: no duration under any name. v2 has no bulk call, so it polls
`GET /v2/videos/{id}`, the whole video, duration included. v3's whole video,
`GET /v3/videos/{id}`, does carry `duration`, and export and report read it there.
Should HeyGen's bulk answer gain it, the first test fails: map it in v3.status_item."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx

from heyrender.api.client import ApiKey, Settings
from heyrender.api.provider import open_provider
from heyrender.state import lockfile
from heyrender.status import Status
from heyrender.versions import ApiVersion
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "schemas" / "heygen" / "v3-reference.json").read_text())
BULK_FIELDS = {"batch_id", "error", "item_index", "status", "video_id"}


def fields(method: str, path: str) -> dict[str, Any]:
    """The properties of one video in an endpoint's answer, as HeyGen publishes them."""
    for entry in REFERENCE["endpoints"]:
        if (entry["method"], entry["path"]) == (method, path):
            data = entry["response"]["properties"]["data"]
            found: dict[str, Any] = data.get("items", data)["properties"]
            return found
    raise KeyError((method, path))


def test_heygens_bulk_statuses_carry_no_duration_while_its_whole_video_does() -> None:
    assert set(fields("GET", "/v3/videos/statuses")) == BULK_FIELDS
    for path in ("/v3/videos/{video_id}", "/v3/videos"):
        duration = fields("GET", path)["duration"]
        assert duration["type"] == "number" and "seconds" in duration["description"]


def test_the_emulator_answers_both_as_heygen_does_and_the_adapter_reads_each(
    start_emulator,
) -> None:
    emulator = start_emulator("--render-seconds", "0.1")
    settings = Settings(emulator.url, ApiKey("test-key"), backoff_base=0.01)
    body = {"type": "avatar", "avatar_id": "a1", "voice_id": "v1", "script": "Hello there"}

    async def main() -> None:
        async with open_provider(settings, ApiVersion.V3) as provider:
            video_id = await provider.create(body | {"title": "one"}, "heyrender:test:1")
            for _ in range(200):
                polled = (await provider.statuses([video_id]))[video_id]
                if polled.finished:
                    break
                await asyncio.sleep(0.05)
            assert polled.status is Status.COMPLETED and polled.duration is None
            whole = await provider.video(video_id)
            assert whole.duration is not None and whole.duration > 0

    asyncio.run(main())
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": "k"}) as api:
        videos = api.get("/v3/videos").json()["data"]
        ids = ",".join(video["id"] for video in videos)
        bulk = api.get("/v3/videos/statuses", params={"video_ids": ids}).json()["data"]
    assert bulk and all(set(item) <= BULK_FIELDS for item in bulk)


def test_v2_rows_record_the_duration_v3_rows_take_it_from_heygen_when_exported(
    tmp_path: Path, start_emulator
) -> None:
    emulator = start_emulator("--render-seconds", "0.1", "--max-concurrent", "4")
    manifests = {}
    for api in ("v2", "v3"):
        folder = tmp_path / api
        folder.mkdir()
        (folder / "people.csv").write_text(campaign_csv(2))
        manifests[api] = folder / "drill.yaml"
        manifests[api].write_text(f"api: {api}\n" + CAMPAIGN_MANIFEST)
        done = heyrender(
            "apply", manifests[api], "--yes", "--poll-interval", "0.02", env=emulator.env()
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def heygens_duration(api: str, video_id: str | None) -> float:
        with httpx.Client(base_url=emulator.url, headers={"x-api-key": "k"}) as client:
            duration: float = client.get(f"/{api}/videos/{video_id}").json()["data"]["duration"]
            return duration

    v2 = lockfile.load(manifests["v2"].with_suffix(".lock"))
    assert [e.duration == heygens_duration("v2", e.video_id) for e in v2.values()] == [True] * 2
    v3 = lockfile.load(manifests["v3"].with_suffix(".lock"))
    assert [(e.status, e.duration) for e in v3.values()] == [(Status.COMPLETED, None)] * 2
    exported = heyrender("export", manifests["v3"], env=emulator.env())
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 2
    for row in rows:
        assert float(row["duration"]) == heygens_duration("v3", row["video_id"])
