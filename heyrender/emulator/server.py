"""The emulator's HTTP server: HeyGen's endpoints, auth, fault injection and signed file URLs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from heyrender.api import wire
from heyrender.campaign.schema import RequestValidator
from heyrender.emulator.state import Account, Refused, Video
from heyrender.emulator.thumbnail import JPEG
from heyrender.errors import ConfigError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READ_FAULTS = ("500", "502", "503", "slow", "drop")
CREATE_FAULTS = (*READ_FAULTS, "created-then-drop", "created-then-502")


def mp4(payload: bytes) -> bytes:
    """A minimal MP4: an ftyp box, then an mdat box holding payload."""
    ftyp = b"ftyp" + b"mp42" + (0).to_bytes(4, "big") + b"mp42isom"
    mdat = b"mdat" + payload
    return b"".join((len(box) + 4).to_bytes(4, "big") + box for box in (ftyp, mdat))


@dataclass
class Options:
    render_seconds: float = 3.0
    fail_rate: float = 0.0
    max_concurrent: int = 3
    api_key: str | None = None
    url_ttl: float = 7 * 24 * 3600.0
    fault_rate: float = 0.0
    slow_seconds: float = 120.0
    retry_after: float = 1.0
    credits: int | None = None
    seed: int | None = None
    quiet: bool = False


def envelope(data: Any) -> web.Response:
    return web.json_response({"error": None, "data": data})


def failure(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"data": None, "error": {"code": code, "message": message}}, status=status, headers=headers
    )


async def drop(request: web.Request) -> web.StreamResponse:
    """Closes the connection without an answer."""
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError


class Emulator:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.account = Account(
            render_seconds=options.render_seconds,
            fail_rate=options.fail_rate,
            max_concurrent=options.max_concurrent,
            credits=options.credits,
            seed=options.seed,
        )
        self.faults = random.Random(options.seed)
        self.fault_counts: Counter[str] = Counter()
        self.requests = 0
        self.secret = secrets.token_bytes(16)
        self.validator = RequestValidator()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.log, self.authenticate], client_max_size=2**22)
        app.router.add_post(wire.CREATE_PATH, self.create)
        app.router.add_get(wire.LIST_PATH, self.list_videos)
        app.router.add_get("/v2/videos/{video_id}", self.status)
        app.router.add_get("/_emulator/stats", self.stats)
        app.router.add_get("/_emulator/files/{name}", self.file)
        return app

    @web.middleware
    async def log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        self.requests += 1
        status: int | str = "dropped"
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            if not self.options.quiet:
                took = (time.perf_counter() - started) * 1000
                fault = request.get("fault")
                print(
                    f"{request.remote} {request.method} {request.path_qs.split('?')[0]} {status} "
                    f"{took:.1f}ms" + (f" fault={fault}" if fault else ""),
                    file=sys.stderr,
                    flush=True,
                )

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            return await handler(request)
        key = request.headers.get(wire.KEY_HEADER, "")
        if not key or (self.options.api_key is not None and key != self.options.api_key):
            return failure(401, "unauthorized", "Missing or invalid x-api-key.")
        return await handler(request)

    def pick_fault(self, request: web.Request, kinds: tuple[str, ...]) -> str | None:
        if self.options.fault_rate <= 0 or self.faults.random() >= self.options.fault_rate:
            return None
        kind = self.faults.choice(kinds)
        self.fault_counts[kind] += 1
        request["fault"] = kind
        return kind

    async def before(self, request: web.Request, fault: str | None) -> web.StreamResponse | None:
        """Faults that strike before any work is done."""
        if fault in ("500", "502", "503"):
            return failure(int(fault), "internal_error", "Emulated server error.")
        if fault == "drop":
            return await drop(request)
        if fault == "slow":
            await asyncio.sleep(self.options.slow_seconds)
        return None

    async def create(self, request: web.Request) -> web.StreamResponse:
        fault = self.pick_fault(request, CREATE_FAULTS)
        early = await self.before(request, None if fault == "slow" else fault)
        if early is not None:
            return early
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return failure(400, "invalid_parameter", "The body is not JSON.")
        if not isinstance(body, dict):
            return failure(400, "invalid_parameter", "The body must be a JSON object.")
        problems = self.validator.problems(body)
        if problems:
            return failure(400, "invalid_parameter", "; ".join(map(str, problems)))
        try:
            video = self.account.create(body)
        except Refused as refused:
            headers = (
                {"Retry-After": f"{self.options.retry_after:g}"} if refused.status == 429 else None
            )
            return failure(refused.status, refused.code, str(refused), headers)
        if fault == "slow":  # the video exists; only its answer is late, as behind a gateway
            await asyncio.sleep(self.options.slow_seconds)
        if fault == "created-then-drop":
            return await drop(request)
        if fault == "created-then-502":
            return failure(502, "bad_gateway", "Emulated gateway error.")
        return envelope({"video_id": video.video_id, "status": "waiting"})

    async def status(self, request: web.Request) -> web.StreamResponse:
        early = await self.before(request, self.pick_fault(request, READ_FAULTS))
        if early is not None:
            return early
        video = self.account.videos.get(request.match_info["video_id"])
        if video is None:
            return failure(404, "video_not_found", "No video with this id.")
        return envelope(self.describe(video, request))

    async def list_videos(self, request: web.Request) -> web.StreamResponse:
        early = await self.before(request, self.pick_fault(request, READ_FAULTS))
        if early is not None:
            return early
        try:
            limit = min(max(int(request.query.get("limit", "10")), 1), 100)
            token = request.query.get("token")
            offset = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        except ValueError:
            return failure(400, "invalid_parameter", "limit and token must be valid.")
        videos = self.account.newest_first(offset, limit)
        now = self.account.clock()
        more = offset + len(videos) < len(self.account.oldest_first)
        next_token = (
            base64.urlsafe_b64encode(str(offset + len(videos)).encode()).decode() if more else None
        )
        items = [
            {
                "id": v.video_id,
                "title": v.title,
                "status": v.status(now),
                "created_at": int(v.created_at),
            }
            for v in videos
        ]
        return envelope({"videos": items, "token": next_token})

    def describe(self, video: Video, request: web.Request) -> dict[str, Any]:
        now = self.account.clock()
        status = video.status(now)
        data: dict[str, Any] = {
            "id": video.video_id,
            "status": status,
            "title": video.title,
            "created_at": int(video.created_at),
        }
        if status == "completed":
            base = f"{request.scheme}://{request.host}"
            data.update(
                video_url=self.signed(base, f"{video.video_id}.mp4"),
                thumbnail_url=self.signed(base, f"{video.video_id}.jpg"),
                duration=video.duration,
                completed_at=int(video.finishes_at),
            )
        elif status == "failed" and video.failure:
            data.update(failure_code=video.failure[0], failure_message=video.failure[1])
        return data

    def signature(self, name: str, expires: int) -> str:
        return hmac.new(self.secret, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def signed(self, base: str, name: str) -> str:
        expires = int(time.time() + self.options.url_ttl)
        query = f"expires={expires}&signature={self.signature(name, expires)}"
        return f"{base}/_emulator/files/{name}?{query}"

    async def file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        try:
            expires = int(request.query.get("expires", "0"))
        except ValueError:
            expires = 0
        given = request.query.get("signature", "")
        if expires < time.time() or not hmac.compare_digest(given, self.signature(name, expires)):
            return web.Response(status=403, text="Request has expired or the signature is wrong.")
        video_id, _, extension = name.rpartition(".")
        if video_id not in self.account.videos or extension not in ("mp4", "jpg"):
            return web.Response(status=404, text="Not found.")
        if extension == "mp4":
            return web.Response(body=mp4(video_id.encode() * 64), content_type="video/mp4")
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {**self.account.stats(), "faults": dict(self.fault_counts), "requests": self.requests}
        )


async def serve(options: Options, host: str, port: int) -> None:
    """Serves until SIGINT or SIGTERM; prints the address it listens on first."""
    runner = web.AppRunner(
        Emulator(options).app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"the emulator cannot listen on {host}:{port}: {exc.strerror}") from None
    print(f"heyrender emulator listening on http://{host}:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    print("heyrender emulator stopping", file=sys.stderr, flush=True)
    await runner.cleanup()


def run(options: Options, host: str, port: int) -> None:
    asyncio.run(serve(options, host, port))
