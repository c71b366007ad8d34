"""Uploads before creates: each distinct file once, by content hash, recorded durably.

    assets = await upload_for_rows(campaign, keys, settings, echo)
    for row, body in campaign.bodies(keys, assets=assets): ...

A file is uploaded only when the campaign's asset map (state/assets.py) does not know its
hash; each new asset ID is fsynced into that map before it is used in any body. A kill
at any instant loses at most an upload in flight, and the next run's identical
Idempotency-Key replays it instead of storing the bytes twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from heyrender.api.client import Settings
from heyrender.api.uploads import Uploader
from heyrender.campaign.media import MediaFile, size_text
from heyrender.campaign.rows import Campaign
from heyrender.state.assets import AssetRecord, AssetStore
from heyrender.wording import counted

DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class UploadPlan:
    """The uploads a run would do, apart from the videos."""

    to_upload: tuple[MediaFile, ...]
    already_uploaded: int

    @property
    def bytes(self) -> int:
        return sum(file.size for file in self.to_upload)

    def to_json(self) -> dict[str, object]:
        return {
            "count": len(self.to_upload),
            "bytes": self.bytes,
            "already_uploaded": self.already_uploaded,
            "files": [
                {"path": str(f.path), "sha256": f.sha256, "size": f.size, "mime": f.mime}
                for f in self.to_upload
            ],
        }


def plan_uploads(files: Sequence[MediaFile], store: AssetStore) -> UploadPlan:
    distinct = list({f.sha256: f for f in files}.values())
    missing = tuple(f for f in distinct if store.asset_id(f.sha256) is None)
    return UploadPlan(missing, len(distinct) - len(missing))


async def ensure_uploaded(
    settings: Settings,
    files: Sequence[MediaFile],
    store: AssetStore,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_uploaded: Callable[[MediaFile, str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, str]:
    """Every file's asset ID by sha256, uploading those the store does not know yet.

    The first failure cancels the other uploads and is raised; what finished is recorded.
    """
    missing = plan_uploads(files, store).to_upload
    if missing:
        slots = asyncio.Semaphore(concurrency)
        async with Uploader(settings, transport) as uploader:

            async def one(file: MediaFile) -> None:
                async with slots:
                    asset = await uploader.upload(file)
                record = AssetRecord.now(file.sha256, asset.asset_id, file.size, file.mime)
                await asyncio.to_thread(store.record, record)
                if on_uploaded is not None:
                    on_uploaded(file, asset.asset_id)

            tasks = [asyncio.create_task(one(file)) for file in missing]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    known = {file.sha256: store.asset_id(file.sha256) for file in files}
    return {sha: asset_id for sha, asset_id in known.items() if asset_id is not None}


async def upload_for_rows(
    campaign: Campaign,
    keys: Sequence[str],
    settings: Settings,
    echo: Callable[[str], None] | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, str]:
    """ensure_uploaded for the files these rows send, with the campaign's own asset map."""
    files = campaign.media_files(list(keys))
    if not files:
        return {}
    store = AssetStore.at(campaign.manifest.campaign.root)
    plan = plan_uploads(files, store)
    if plan.to_upload and echo is not None:
        count = len(plan.to_upload)
        echo(f"Uploading {counted(count, 'file')} ({size_text(plan.bytes)}).")
    return await ensure_uploaded(settings, files, store, transport=transport)
