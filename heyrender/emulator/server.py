"""The emulator's HTTP server: the app, auth, error envelopes, fault injection, v2's endpoints,
signed file URLs and statistics. v3's endpoints live in `v3`, assets in `uploads`."""

from __future__ import annotations

import asyncio
import hashlib
import html
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from heyrender.campaign.schema import RequestValidator
from heyrender.emulator import paging, uploads, v3
from heyrender.emulator.assets import AssetStore
from heyrender.emulator.billing import DEFAULT_BALANCE_USD, BillingType, Wallet
from heyrender.emulator.faults import CREATE_FAULTS, READ_FAULTS
from heyrender.emulator.files import KINDS, Signer
from heyrender.emulator.idempotency import (
    DEFAULT_TTL,
    HEADER,
    IN_FLIGHT,
    REPLAYED_HEADER,
    Answer,
    IdempotencyStore,
    Replay,
    valid_key,
)
from heyrender.emulator.replies import Failure, envelope, invalid, json_object
from heyrender.emulator.state import Account, Refused, Video
from heyrender.errors import ConfigError
from heyrender.versions import ApiVersion

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_HEADER = "x-api-key"
MAX_JSON_BYTES = 2**22


@dataclass(frozen=True)
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
    balance_usd: float = DEFAULT_BALANCE_USD
    billing_type: BillingType = BillingType.WALLET
    idempotency_ttl: float = DEFAULT_TTL
    fault_kinds: tuple[str, ...] = CREATE_FAULTS


async def drop(request: web.Request) -> web.StreamResponse:
    """Closes the connection without an answer."""
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError


def speaks_v3(request: web.Request) -> bool:
    return not request.path.startswith("/v2/")


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else '(unknown path)'}"


class Emulator:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.account = Account(
            render_seconds=options.render_seconds,
            fail_rate=options.fail_rate,
            max_concurrent=options.max_concurrent,
            credits=options.credits,
            seed=options.seed,
            wallet=Wallet(options.balance_usd, options.billing_type),
        )
        self.faults = random.Random(options.seed)
        self.fault_counts: Counter[str] = Counter()
        self.requests = 0
        self.requests_by_endpoint: Counter[str] = Counter()
        self.signer = Signer(options.url_ttl)
        self.idempotency = IdempotencyStore(options.idempotency_ttl)
        self.assets = AssetStore()
        self.validator = RequestValidator()

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self.log, self.errors, self.authenticate], client_max_size=MAX_JSON_BYTES
        )
        app.router.add_post("/v2/videos", self.create)
        app.router.add_get("/v2/videos", self.list_videos)
        app.router.add_get("/v2/videos/{video_id}", self.status)
        v3.Videos(self).register(app.router)
        uploads.Assets(self).register(app.router)
        app.router.add_get("/_emulator/stats", self.stats)
        app.router.add_get("/_emulator/files/{name}", self.file)
        app.router.add_get("/_emulator/videos/{video_id}", self.page)
        return app

    @web.middleware
    async def log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        self.requests += 1
        self.requests_by_endpoint[endpoint(request)] += 1
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
                    f"{request.remote} {request.method} {request.path} {status} "
                    f"{took:.1f}ms" + (f" fault={fault}" if fault else ""),
                    file=sys.stderr,
                    flush=True,
                )

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every error in the envelope of the API the path belongs to; never a bare page."""
        try:
            return await handler(request)
        except Failure as failed:
            answer = failed
        except web.HTTPNotFound:
            answer = Failure(404, "not_found", f"No endpoint {request.method} {request.path}.")
        except web.HTTPMethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.allowed_methods))
            answer = Failure(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        except web.HTTPRequestEntityTooLarge as exc:
            answer = Failure(413, "payload_too_large", f"The body is larger than {exc.text}.")
        except web.HTTPException:
            raise
        except Exception:
            traceback.print_exc(file=sys.stderr)
            answer = Failure(500, "internal_error", "The emulator failed on this request.")
        return answer.response(speaks_v3(request))

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            return await handler(request)
        key = request.headers.get(KEY_HEADER, "")
        if not key or (self.options.api_key is not None and key != self.options.api_key):
            raise Failure(401, "unauthorized", "Missing or invalid x-api-key.", KEY_HEADER)
        return await handler(request)

    def pick_fault(self, request: web.Request, kinds: tuple[str, ...]) -> str | None:
        allowed = [kind for kind in kinds if kind in self.options.fault_kinds]
        if not allowed or self.options.fault_rate <= 0:
            return None
        if self.faults.random() >= self.options.fault_rate:
            return None
        kind = self.faults.choice(allowed)
        self.fault_counts[kind] += 1
        request["fault"] = kind
        return kind

    async def before(self, request: web.Request, fault: str | None) -> None:
        """Faults that strike before any work is done."""
        if fault in ("500", "502", "503"):
            raise Failure(int(fault), "internal_error", "Emulated server error.")
        if fault == "drop":
            await drop(request)
        if fault == "slow":
            await asyncio.sleep(self.options.slow_seconds)

    def refused(self, refused: Refused) -> Failure:
        headers = (
            {"Retry-After": f"{self.options.retry_after:g}"} if refused.status == 429 else None
        )
        return Failure(refused.status, refused.code, str(refused), headers=headers)

    async def once(
        self,
        request: web.Request,
        scope: str,
        work: Callable[[], Awaitable[Answer]],
        fault: str | None = None,
    ) -> web.StreamResponse:
        """Runs a create under its Idempotency-Key, if it has one, with the create faults."""
        await self.before(request, None if fault == "slow" else fault)
        key = request.headers.get(HEADER)
        if key is not None:
            if not valid_key(key):
                raise invalid(
                    f"{HEADER} must be 1 to 255 characters of A-Z, a-z, 0-9, '_', ':', '.', '-'.",
                    HEADER,
                )
            claimed = self.idempotency.claim(scope, key, await self.fingerprint(request))
            if isinstance(claimed, Replay):
                if not claimed.same_body and not self.options.quiet:
                    print(
                        f"warning: {scope} replayed {HEADER} {key} for another body",
                        file=sys.stderr,
                    )
                first = claimed.answer
                return web.json_response(
                    first.payload,
                    status=first.status,
                    headers={**first.headers, REPLAYED_HEADER: "true"},
                )
            if claimed is IN_FLIGHT:
                raise Failure(
                    409,
                    "request_in_progress",
                    "A request with this Idempotency-Key is still in progress; retry later.",
                    HEADER,
                )
        answer: Answer | None = None
        try:
            answer = await work()
            if fault == "slow":  # the work is done; only its answer is late, as behind a gateway
                await asyncio.sleep(self.options.slow_seconds)
        finally:
            if key is not None:
                self.idempotency.settle(scope, key, answer)
        if fault == "created-then-drop":
            return await drop(request)
        if fault == "created-then-502":
            raise Failure(502, "bad_gateway", "Emulated gateway error.")
        return web.json_response(answer.payload, status=answer.status, headers=answer.headers)

    async def fingerprint(self, request: web.Request) -> str:
        """A JSON body's hash (read once; aiohttp keeps it for the handler), else ''."""
        if request.content_type != "application/json":
            return ""
        return hashlib.sha256(await request.read()).hexdigest()

    def create_video(self, body: dict[str, Any], api: ApiVersion) -> Video:
        try:
            return self.account.create(body, api)
        except Refused as refused:
            raise self.refused(refused) from None

    # v2: no Idempotency-Key; sending one body twice makes two videos, as on HeyGen.
    async def create(self, request: web.Request) -> web.StreamResponse:
        fault = self.pick_fault(request, CREATE_FAULTS)
        await self.before(request, None if fault == "slow" else fault)
        body = await json_object(request)
        problems = self.validator.problems(body)
        if problems:
            raise invalid("; ".join(map(str, problems)))
        video = self.create_video(body, ApiVersion.V2)
        if fault == "slow":  # the video exists; only its answer is late, as behind a gateway
            await asyncio.sleep(self.options.slow_seconds)
        if fault == "created-then-drop":
            return await drop(request)
        if fault == "created-then-502":
            raise Failure(502, "bad_gateway", "Emulated gateway error.")
        return envelope({"video_id": video.video_id, "status": "waiting"})

    async def status(self, request: web.Request) -> web.StreamResponse:
        await self.before(request, self.pick_fault(request, READ_FAULTS))
        video = self.account.find(request.match_info["video_id"])
        if video is None:
            raise Failure(404, "video_not_found", "No video with this id.")
        return envelope(self.describe_v2(video, request))

    async def list_videos(self, request: web.Request) -> web.StreamResponse:
        await self.before(request, self.pick_fault(request, READ_FAULTS))
        limit = paging.limit(request)
        videos, more = self.account.page(paging.cursor(request.query.get("token")), limit)
        now = self.account.clock()
        items = [
            {
                "id": v.video_id,
                "title": v.title,
                "status": v.status(now),
                "created_at": int(v.created_at),
            }
            for v in videos
        ]
        return envelope({"videos": items, "token": paging.next_token(videos, more)})

    def describe_v2(self, video: Video, request: web.Request) -> dict[str, Any]:
        now = self.account.clock()
        status = video.status(now)
        data: dict[str, Any] = {
            "id": video.video_id,
            "status": status,
            "title": video.title,
            "created_at": int(video.created_at),
        }
        if status == "completed":
            data.update(
                video_url=self.file_url(request, video, video.output_format),
                thumbnail_url=self.file_url(request, video, "jpg"),
                duration=video.duration,
                completed_at=int(video.finishes_at),
            )
        elif status == "failed" and video.failure:
            data.update(failure_code=video.failure[0], failure_message=video.failure[1])
        return data

    def file_url(self, request: web.Request, video: Video, kind: str) -> str:
        name = f"{video.video_id}.{kind}"
        return f"{base_url(request)}/_emulator/files/{name}?{self.signer.query(name)}"

    async def file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        expires, given = request.query.get("expires", ""), request.query.get("signature", "")
        if not self.signer.valid(name, expires, given):
            return web.Response(status=403, text="Request has expired or the signature is wrong.")
        video_id, _, kind = name.partition(".")
        if self.account.find(video_id) is None or kind not in KINDS:
            return web.Response(status=404, text="Not found.")
        content_type, make = KINDS[kind]
        return web.Response(body=make(video_id), content_type=content_type)

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The stand-in for a video's page in HeyGen's app (v3's `video_page_url`)."""
        video = self.account.find(request.match_info["video_id"])
        if video is None:
            return web.Response(status=404, text="Not found.")
        title = html.escape(video.title or video.video_id)
        return web.Response(text=f"<!doctype html><title>{title}</title>", content_type="text/html")

    async def stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                **self.account.stats(),
                "faults": dict(self.fault_counts),
                "requests": self.requests,
                "requests_by_endpoint": dict(self.requests_by_endpoint),
                "idempotent_replays": self.idempotency.replays,
                "idempotent_replays_of_another_body": self.idempotency.replays_of_another_body,
                "uploads": {
                    "count": self.assets.uploads,
                    "bytes": self.assets.uploaded_bytes,
                },
            }
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
