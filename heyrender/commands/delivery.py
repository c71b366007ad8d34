"""`heyrender export`: one line per row for mail merges, as CSV or JSON lines (delivery).

Each line has the CSV's key and the columns picked with --columns, then what heyrender
knows: status, video_id, video page URL, thumbnail URL, duration and download path.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any

from heyrender.api.client import Settings
from heyrender.campaign.csvsource import CsvSource
from heyrender.campaign.expand import row_filter
from heyrender.campaign.manifest import Manifest
from heyrender.commands.media import Fresh, fresh_statuses, local_files, page_url
from heyrender.errors import CsvError, InputError
from heyrender.state.store import State
from heyrender.wording import counted

OWN_COLUMNS = (
    "status",
    "video_id",
    "video_page_url",
    "thumbnail_url",
    "duration",
    "download_path",
)
NOT_SUBMITTED = "not_submitted"


class ExportFormat(str, Enum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class ExportOptions:
    fmt: ExportFormat
    columns: tuple[str, ...]
    videos: Path
    settings: Settings | None  # None: no status calls, so no thumbnail or page URLs


def picked(manifest: Manifest, header: list[str], columns: tuple[str, ...]) -> list[str]:
    key = manifest.source.key
    csv_name = manifest.source.csv.name
    for name in columns:
        if name not in header:
            raise InputError(
                f"--columns {name}: {csv_name} has no column {name!r} "
                f"(columns: {', '.join(header)})"
            )
        if name in OWN_COLUMNS:
            raise InputError(
                f"--columns {name}: export writes its own {name!r} column; rename it in {csv_name}"
            )
    return [key, *(name for name in dict.fromkeys(columns) if name != key)]


def header_of(manifest: Manifest) -> list[str]:
    with CsvSource(manifest.source.csv) as source:
        if manifest.source.key not in source.header:
            raise manifest.error(
                f"{manifest.source.key!r} is not a column of {manifest.source.csv.name}",
                "source",
                "key",
            )
        return source.header


def records(
    manifest: Manifest, options: ExportOptions, columns: list[str], state: State, fresh: Fresh
) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    with CsvSource(manifest.source.csv) as source:
        keep = row_filter(manifest, source.header)
        for row in source:
            key = row.values[manifest.source.key].strip()
            context = {"row": row.values, "vars": manifest.vars, "key": key}
            if not key or (keep is not None and not keep(context)):
                continue
            if key in seen:
                raise CsvError(manifest.source.csv, f"key {key!r} appears twice", line=row.line)
            seen.add(key)
            record: dict[str, Any] = {name: row.values.get(name, "") for name in columns}
            record[manifest.source.key] = key
            entry = state.entries.get(key)
            video = fresh.videos.get(key)
            local = local_files(options.videos, key)
            duration = (entry.duration if entry else None) or (video.duration if video else None)
            record.update(
                status=entry.status if entry else NOT_SUBMITTED,
                video_id=entry.video_id if entry else None,
                video_page_url=page_url(video),
                thumbnail_url=video.thumbnail_url if video else None,
                duration=duration,
                download_path=str(local.video.resolve()) if local.video else None,
            )
            yield record


def export(
    manifest: Manifest, options: ExportOptions, out: IO[str], warn: Callable[[str], None]
) -> int:
    columns = picked(manifest, header_of(manifest), options.columns)
    state = State.load(manifest.lockfile_path, manifest.path.name)
    fresh = Fresh({})
    if options.settings is not None:
        fresh = fresh_statuses(options.settings, state.entries.values(), manifest.api)
        if fresh.failed:
            warn(
                f"{counted(fresh.failed, 'completed video')} could not be asked about: "
                "no fresh URLs"
            )
    rows = records(manifest, options, columns, state, fresh)
    if options.fmt is ExportFormat.JSONL:
        for record in rows:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    writer = csv.DictWriter(out, fieldnames=[*columns, *OWN_COLUMNS], lineterminator="\n")
    writer.writeheader()
    for record in rows:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return 0
