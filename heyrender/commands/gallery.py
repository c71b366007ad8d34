"""`heyrender report`: one static HTML page with a card per row, for people who approve videos.

The page is self-contained (inline CSS, JS and data; no server, no CDN) and opens from
file://. Media comes from downloaded files when present (linked relative to the page),
else from fresh URLs when an API key is set; a card says when there is neither.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from heyrender.api.client import Settings
from heyrender.api.wire import VideoStatus
from heyrender.campaign.cost import duration
from heyrender.campaign.csvsource import CsvSource
from heyrender.campaign.expand import Expansion
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.validate import checked_rows
from heyrender.commands.gallery_page import PAGE
from heyrender.commands.media import Fresh, fresh_statuses, local_files
from heyrender.state import files
from heyrender.state.lockfile import Entry
from heyrender.state.store import State
from heyrender.status import Status
from heyrender.wording import counted

NOT_SUBMITTED, INVALID, ORPHANED = "not submitted", "invalid", "orphaned"
LEFT_OUT = "In "  # how an orphan's note starts when the CSV still holds its key
URL_LIFETIME = timedelta(days=7)
PAGE_NAME = "index.html"
PAGE_MARK = b" - heyrender report</title>"  # in the head of every page report writes
PAGE_HEAD = 8192


@dataclass(frozen=True)
class ReportOptions:
    out: Path
    videos: Path
    settings: Settings | None  # None: downloaded files only, no status calls


def link(target: Path, page_folder: Path) -> str:
    """A path the page can load from file://, relative to where the page is."""
    relative = os.path.relpath(target.resolve(), page_folder.resolve())
    return quote(Path(relative).as_posix())


def is_report_page(path: Path) -> bool:
    """Whether an existing file is a page heyrender report wrote (so it may be replaced)."""
    fd = files.open_existing(path)
    if fd is None:
        return False
    try:
        return PAGE_MARK in os.read(fd, PAGE_HEAD)
    finally:
        os.close(fd)


def row_status(entry: Entry | None, problems: bool) -> str:
    if problems:
        return INVALID
    return entry.status if entry is not None else NOT_SUBMITTED


def media(
    key: str, entry: Entry, video: VideoStatus | None, options: ReportOptions
) -> dict[str, Any]:
    local = local_files(options.videos, key)
    card: dict[str, Any] = {}
    if local.video is not None:
        card["v"] = link(local.video, options.out)
    elif video is not None and video.video_url:
        card["v"] = video.video_url
    if local.thumbnail is not None:
        card["i"] = link(local.thumbnail, options.out)
    elif video is not None and video.thumbnail_url:
        card["i"] = video.thumbnail_url
    if not card:
        card["n"] = (
            "No downloaded file and no fresh URL: run heyrender download, or set "
            "HEYGEN_API_KEY and make the report again"
            if options.settings is None
            else "HeyGen did not answer with a URL for this video; make the report again"
        )
    return card


def cards(
    manifest: Manifest, state: State, fresh: Fresh, options: ReportOptions
) -> Iterator[dict[str, Any]]:
    """One compact object per row, in CSV order (short names keep 10,000 rows small), then
    one per lockfile row no longer in the CSV, in key order."""
    expansion = Expansion(manifest)
    seen: set[str] = set()
    for row in checked_rows(expansion):
        seen.add(row.key)
        entry = state.entries.get(row.key)
        body = row.body or {}
        card: dict[str, Any] = {"k": row.key, "s": row_status(entry, bool(row.problems))}
        title = body.get("title") or (entry.title if entry else None)
        if title:
            card["t"] = title
        if isinstance(body.get("script"), str):
            card["x"] = body["script"]
        video = fresh.videos.get(row.key)
        seconds = (entry.duration if entry else None) or (video.duration if video else None)
        if seconds:
            card["d"] = duration(seconds)
        else:
            estimated = manifest.cost.seconds(body) if body else None
            if estimated is not None:
                card["d"] = f"~{duration(estimated)} (estimated)"
        if entry is not None:
            card.update(outcome(row.key, entry, video, options))
        if row.problems:
            card["f"] = "invalid"
            card["m"] = "; ".join(str(problem) for problem in row.problems)
        yield card
    expansion.check_keys()
    orphans = sorted(state.entries.keys() - seen)
    kept_out = left_out_by_where(manifest, set(orphans))
    for key in orphans:
        video = fresh.videos.get(key)
        yield orphan(key, state.entries[key], video, manifest, options, key in kept_out)


def left_out_by_where(manifest: Manifest, keys: set[str]) -> set[str]:
    """Those of these keys that are still in the CSV, on a row its `where` leaves out: plan
    counts them orphaned too, but they are not gone from the CSV."""
    if not keys or not manifest.source.where:
        return set()
    column = manifest.source.key
    with CsvSource(manifest.source.csv) as source:
        return {key for row in source if (key := row.values[column].strip()) in keys}


def outcome(
    key: str, entry: Entry, video: VideoStatus | None, options: ReportOptions
) -> dict[str, Any]:
    """What a recorded row's card shows of its video: its media, or why it failed."""
    if entry.status is Status.COMPLETED:
        return media(key, entry, video, options)
    if entry.status is Status.FAILED:
        return {"f": entry.failure_code or "failed", "m": entry.failure_message or ""}
    return {}


def orphan(
    key: str,
    entry: Entry,
    video: VideoStatus | None,
    manifest: Manifest,
    options: ReportOptions,
    left_out: bool = False,
) -> dict[str, Any]:
    """A lockfile row whose key is not among the CSV's rows (gone from it, or `left_out` by
    its where): its video may still be paid for and out in the world, so the page keeps it in
    view."""
    card: dict[str, Any] = {"k": key, "s": ORPHANED}
    if entry.title:
        card["t"] = entry.title
    seconds = entry.duration or (video.duration if video else None)
    if seconds:
        card["d"] = duration(seconds)
    card.update(outcome(key, entry, video, options))
    video_id = f", video {entry.video_id}" if entry.video_id else ""
    csv_name = manifest.source.csv.name
    where = f"{LEFT_OUT}{csv_name} but left out by source.where"
    card["o"] = (
        f"{where if left_out else 'No longer in ' + csv_name}; its lockfile row stays "
        f"({entry.status.value}{video_id}) and apply leaves it alone"
    )
    return card


def page(manifest: Manifest, rows: list[dict[str, Any]], fresh_urls: bool) -> str:
    now = datetime.now(timezone.utc)
    counts = Counter(card["s"] for card in rows)
    meta = {
        "name": manifest.name,
        "generated": now.strftime("%Y-%m-%d %H:%M UTC"),
        "expires": (now + URL_LIFETIME).strftime("%Y-%m-%d") if fresh_urls else None,
        "counts": dict(sorted(counts.items())),
    }
    data = json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, separators=(",", ":"))
    # inside <script>, "</" could end the element early: JSON allows "<\/" for it
    data = data.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    title = manifest.name.replace("&", "&amp;").replace("<", "&lt;")
    head, _, tail = PAGE.partition("{{DATA}}")
    return head.replace("{{TITLE}}", title) + data + tail


def report(manifest: Manifest, options: ReportOptions, echo: Callable[[str], None]) -> int:
    state = State.load(manifest.lockfile_path, manifest.path.name)
    fresh = Fresh({})
    if options.settings is not None:
        fresh = fresh_statuses(options.settings, state.entries.values(), manifest.api)
    options.out.mkdir(parents=True, exist_ok=True)
    rows = list(cards(manifest, state, fresh, options))
    target = options.out / PAGE_NAME
    files.write_atomically(target, [page(manifest, rows, options.settings is not None)])
    completed = sum(1 for card in rows if card["s"] == Status.COMPLETED)
    playable = sum(1 for card in rows if "v" in card and card["s"] == Status.COMPLETED)
    orphaned = sum(1 for card in rows if card["s"] == ORPHANED)
    left_out = sum(1 for card in rows if card["s"] == ORPHANED and card["o"].startswith(LEFT_OUT))
    gone = (
        f"not among the CSV's rows: {left_out:,} left out by source.where"
        if left_out
        else "no longer in the CSV"
    )
    echo(
        f"Wrote {target} ({counted(len(rows) - orphaned, 'row')}, {completed:,} completed, "
        f"{playable:,} playable" + (f"; {orphaned:,} orphaned, {gone}" if orphaned else "") + ")"
    )
    if fresh.failed:
        echo(f"{counted(fresh.failed, 'video')} could not be asked about; their cards say so")
    if completed > playable and options.settings is None:
        echo(
            f"{counted(completed - playable, 'completed video')} without a downloaded file; "
            "run heyrender download, or set HEYGEN_API_KEY for fresh URLs"
        )
    return 0
