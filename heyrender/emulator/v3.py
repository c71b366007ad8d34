"""HeyGen's v3 video endpoints and the account: create (with Idempotency-Key), get, list,
bulk statuses, delete, and `GET /v3/users/me`."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from aiohttp import web

from heyrender.campaign import schema
from heyrender.campaign.schema import RequestValidator
from heyrender.emulator import paging
from heyrender.emulator.faults import CREATE_FAULTS, READ_FAULTS
from heyrender.emulator.idempotency import Answer
from heyrender.emulator.replies import Failure, envelope, invalid, json_object, ok
from heyrender.emulator.state import Video
from heyrender.versions import ApiVersion

if TYPE_CHECKING:
    from heyrender.emulator.server import Emulator

REQUEST_SCHEMA_V3 = "video-request-v3.schema.json"
MAX_STATUS_IDS = 100
# the emulator's internal lifecycle word -> what v3's GET says, and what the statuses call says
GET_STATUS = {"waiting": "pending"}
BULK_STATUS = {"waiting": "queued"}


class Videos:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.account = emulator.account

    @cached_property
    def validator(self) -> RequestValidator:
        return RequestValidator(schema.load(REQUEST_SCHEMA_V3))

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v3/videos", self.create)
        router.add_get("/v3/videos", self.list)
        router.add_get("/v3/videos/statuses", self.statuses)
        router.add_get("/v3/videos/{video_id}", self.get)
        router.add_delete("/v3/videos/{video_id}", self.delete)
        router.add_get("/v3/users/me", self.me)

    async def create(self, request: web.Request) -> web.StreamResponse:
        async def work() -> Answer:
            body = await json_object(request)
            problems = self.validator.problems(body)
            if problems:
                raise invalid("; ".join(map(str, problems)), problems[0].field or None)
            video = self.emulator.create_video(body, ApiVersion.V3)
            data = {
                "video_id": video.video_id,
                "status": "waiting",
                "output_format": video.output_format,
            }
            return Answer(200, ok(data))

        fault = self.emulator.pick_fault(request, CREATE_FAULTS)
        return await self.emulator.once(request, "POST /v3/videos", work, fault)

    async def read_fault(self, request: web.Request) -> None:
        await self.emulator.before(request, self.emulator.pick_fault(request, READ_FAULTS))

    def found(self, request: web.Request) -> Video:
        video = self.account.find(request.match_info["video_id"])
        if video is None:
            raise Failure(404, "video_not_found", "No video with this id.", "video_id")
        return video

    async def get(self, request: web.Request) -> web.StreamResponse:
        await self.read_fault(request)
        return envelope(self.describe(self.found(request), request))

    async def delete(self, request: web.Request) -> web.StreamResponse:
        video = self.found(request)
        self.account.delete(video.video_id)
        return envelope({"id": video.video_id, "deleted": True})

    async def list(self, request: web.Request) -> web.StreamResponse:
        await self.read_fault(request)
        limit = paging.limit(request)
        title = request.query.get("title") or None
        videos, more = self.account.page(paging.cursor(request.query.get("token")), limit, title)
        return web.json_response(
            {
                "error": None,
                "data": [self.describe(video, request) for video in videos],
                "has_more": more,
                "next_token": paging.next_token(videos, more),
            }
        )

    async def statuses(self, request: web.Request) -> web.StreamResponse:
        await self.read_fault(request)
        given = request.query.get("video_ids", "")
        ids = list(dict.fromkeys(part.strip() for part in given.split(",") if part.strip()))
        if not ids and not request.query.get("batch_ids"):
            raise invalid("video_ids is required: up to 100 comma-separated ids.", "video_ids")
        if len(ids) > MAX_STATUS_IDS:
            raise invalid(
                f"video_ids holds {len(ids)} ids; at most {MAX_STATUS_IDS} are allowed.",
                "video_ids",
            )
        now = self.account.clock()
        items: list[dict[str, Any]] = []
        for video_id in ids:
            video = self.account.find(video_id)
            if video is None:
                items.append({"video_id": video_id, "status": "not_found", "error": None})
                continue
            status = video.status(now)
            error = None
            if status == "failed" and video.failure:
                error = {"code": video.failure[0], "message": video.failure[1]}
            items.append(
                {"video_id": video_id, "status": BULK_STATUS.get(status, status), "error": error}
            )
        return web.json_response(
            {"error": None, "data": items, "has_more": False, "next_token": None}
        )

    async def me(self, request: web.Request) -> web.StreamResponse:
        await self.read_fault(request)
        return envelope(self.account.wallet.user(self.account.clock()))

    def describe(self, video: Video, request: web.Request) -> dict[str, Any]:
        now = self.account.clock()
        status = video.status(now)
        finished = status in ("completed", "failed")
        completed = status == "completed"
        url = self.emulator.file_url
        data: dict[str, Any] = {
            "id": video.video_id,
            "title": video.title or None,
            "status": GET_STATUS.get(status, status),
            "created_at": int(video.created_at),
            "completed_at": int(video.finishes_at) if finished else None,
            "duration": video.duration if completed else None,
            "video_url": url(request, video, video.output_format) if completed else None,
            "thumbnail_url": url(request, video, "jpg") if completed else None,
            "gif_url": url(request, video, "gif") if completed else None,
            "captioned_video_url": (
                url(request, video, "captioned.mp4") if completed and video.captioned else None
            ),
            "subtitle_url": url(request, video, "srt") if completed else None,
            "video_page_url": f"{request.scheme}://{request.host}/_emulator/videos/{video.video_id}",
            "folder_id": None,
            "failure_code": video.failure[0] if status == "failed" and video.failure else None,
            "failure_message": video.failure[1] if status == "failed" and video.failure else None,
        }
        return data
