"""HeyGen's v3 assets: a multipart upload up to 32 MB, the direct-upload flow for larger files,
`GET /v3/assets/{id}`, and the asset's public URL serving its bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from heyrender.emulator.assets import (
    MAX_DIRECT_UPLOAD_BYTES,
    MAX_UPLOAD_BYTES,
    Asset,
    StoreFull,
    sniff,
)
from heyrender.emulator.faults import CREATE_FAULTS
from heyrender.emulator.idempotency import Answer
from heyrender.emulator.replies import Failure, envelope, invalid, ok, parse_object

if TYPE_CHECKING:
    from aiohttp import StreamReader

    from heyrender.emulator.server import Emulator

TYPES = "png, jpeg, mp4, webm, mp3, wav or pdf"
CHUNK = 1 << 16


def too_large(limit: int, hint: str = "") -> Failure:
    return Failure(413, "file_too_large", f"The file is larger than {limit:,} bytes.{hint}", "file")


async def read_capped(stream: StreamReader | BodyPartReader, limit: int, hint: str = "") -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await (
            stream.read_chunk(CHUNK) if isinstance(stream, BodyPartReader) else stream.read(CHUNK)
        )
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large(limit, hint)
        chunks.append(chunk)


class Assets:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.store = emulator.assets

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v3/assets", self.upload)
        router.add_post("/v3/assets/direct-uploads", self.direct_upload)
        router.add_get("/v3/assets/{asset_id}", self.get)
        router.add_post("/v3/assets/{asset_id}/complete", self.complete)
        router.add_put("/_emulator/uploads/{asset_id}", self.put)
        router.add_get("/_emulator/assets/{asset_id}", self.serve)

    def describe(self, asset: Asset, request: web.Request) -> dict[str, Any]:
        return {
            "asset_id": asset.asset_id,
            "url": f"{request.scheme}://{request.host}/_emulator/assets/{asset.asset_id}",
            "mime_type": asset.mime_type,
            "size_bytes": len(asset.data),
        }

    def finish(self, asset: Asset, data: bytes) -> Asset:
        mime_type = sniff(data[:16])
        if mime_type is None:
            del self.store.assets[asset.asset_id]
            raise invalid(f"The file's content is not a supported type ({TYPES}).", "file")
        return self.store.complete(asset, data, mime_type)

    def reserve(self, size: int) -> None:
        try:
            self.store.reserve(size)
        except StoreFull as full:
            raise Failure(413, "storage_full", f"Asset storage is full: {full}.", "file") from None

    async def upload(self, request: web.Request) -> web.StreamResponse:
        async def work() -> Answer:
            hint = " Use POST /v3/assets/direct-uploads for larger files."
            if (request.content_length or 0) > MAX_UPLOAD_BYTES + CHUNK:
                raise too_large(MAX_UPLOAD_BYTES, hint)
            if not request.content_type.startswith("multipart/"):
                raise invalid("The body must be multipart/form-data with a 'file' part.", "file")
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.name == "file":
                    data = await read_capped(part, MAX_UPLOAD_BYTES, hint)
                    break
            else:
                raise invalid("The form has no 'file' part.", "file")
            if not data:
                raise invalid("The file is empty.", "file")
            self.reserve(len(data))
            asset = self.finish(self.store.new(), data)
            return Answer(200, ok(self.describe(asset, request)))

        fault = self.emulator.pick_fault(request, CREATE_FAULTS)
        return await self.emulator.once(request, "POST /v3/assets", work, fault)

    async def direct_upload(self, request: web.Request) -> web.StreamResponse:
        async def work() -> Answer:
            raw = await request.read()
            body = parse_object(raw) if raw.strip() else {}
            size = body.get("size_bytes")
            if size is not None and (not isinstance(size, int) or size < 0):
                raise invalid("size_bytes must be a whole number of bytes.", "size_bytes")
            if isinstance(size, int) and size > MAX_DIRECT_UPLOAD_BYTES:
                raise too_large(MAX_DIRECT_UPLOAD_BYTES)
            asset = self.store.new()
            path = f"/_emulator/uploads/{asset.asset_id}?token={asset.upload_token}"
            data = {
                "asset_id": asset.asset_id,
                "upload_url": f"{request.scheme}://{request.host}{path}",
                "method": "PUT",
            }
            return Answer(200, ok(data))

        return await self.emulator.once(request, "POST /v3/assets/direct-uploads", work)

    async def put(self, request: web.Request) -> web.StreamResponse:
        asset = self.store.assets.get(request.match_info["asset_id"])
        if asset is None or request.query.get("token") != asset.upload_token:
            raise Failure(403, "forbidden", "This upload URL is not valid.")
        if asset.complete:
            raise Failure(409, "asset_already_complete", "This asset is already complete.")
        if (request.content_length or 0) > MAX_DIRECT_UPLOAD_BYTES:
            raise too_large(MAX_DIRECT_UPLOAD_BYTES)
        self.reserve(request.content_length or 0)
        asset.data = await read_capped(request.content, MAX_DIRECT_UPLOAD_BYTES)
        return web.Response(status=200)

    async def complete(self, request: web.Request) -> web.StreamResponse:
        asset = self.store.assets.get(request.match_info["asset_id"])
        if asset is None:
            raise Failure(404, "asset_not_found", "No asset with this id.", "asset_id")
        if not asset.complete:
            if not asset.data:
                raise invalid("Nothing was uploaded to this asset's upload URL.", "asset_id")
            self.finish(asset, asset.data)
        return envelope(self.describe(asset, request))

    async def get(self, request: web.Request) -> web.StreamResponse:
        asset = self.store.find(request.match_info["asset_id"])
        if asset is None:
            raise Failure(404, "asset_not_found", "No asset with this id.", "asset_id")
        return envelope(self.describe(asset, request))

    async def serve(self, request: web.Request) -> web.StreamResponse:
        asset = self.store.find(request.match_info["asset_id"])
        if asset is None:
            return web.Response(status=404, text="Not found.")
        return web.Response(body=asset.data, content_type=asset.mime_type)
