"""`heyrender status` output: rows as text grouped by status, or as JSON lines.

Built a batch of rows at a time from plain row dicts (state/view.py), with json's own
string encoder: no Entry per row and no json.dumps call per row."""

from __future__ import annotations

import json.encoder
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from heyrender.state.lockfile import one_line
from heyrender.state.view import Row

CHUNK = 1000
SHOWN = ("title", "submitted_at", "finished_at", "failure_code", "failure_message")
quoted: Callable[[str], str] = json.encoder.encode_basestring  # what json.dumps uses


def row_json(row: Mapping[str, Any], video_url: str | None = None) -> str:
    """One row as `json.dumps` would write it: key, status, video_id, then what is known."""
    video_id = row.get("video_id")
    text = (
        f'{{"key": {quoted(row["key"])}, "status": {quoted(row["status"])}, '
        f'"video_id": {"null" if video_id is None else quoted(video_id)}'
    )
    if video_url:
        text += f', "video_url": {quoted(video_url)}'
    for name in SHOWN:
        value = row.get(name)
        if value is not None:
            text += f', "{name}": {quoted(value)}'
    return text + "}"


def row_text(row: Mapping[str, Any]) -> str:
    detail = row.get("video_id") or ""
    code, message = row.get("failure_code"), row.get("failure_message")
    if code or message:
        detail += f" {code or ''}: {message or ''}".rstrip()
    return f"    {row['key']} {detail}".rstrip()


def as_json(batches: Iterable[list[Row]], urls: Mapping[str, str]) -> list[str]:
    """One JSON object per row and line, joined a batch at a time."""
    out = []
    for batch in batches:
        if batch:
            if urls:
                lines = [row_json(row, urls.get(row["key"])) for row in batch]
            else:
                lines = [row_json(row) for row in batch]
            out.append(one_line("\n".join(lines)))
    return out


def as_text(batches: Iterable[list[Row]], manifest_name: str) -> list[str]:
    groups: dict[Any, list[str]] = {}
    for batch in batches:
        for row in batch:
            status = row["status"]
            status = getattr(status, "_value_", status)  # Status's hash is Python code: slow
            lines = groups.get(status)
            if lines is None:
                lines = groups[status] = []
            lines.append(row_text(row))
    if not groups:
        return [f"No lockfile rows yet for {manifest_name}; run heyrender apply."]
    out = [", ".join(f"{len(groups[s]):,} {s}" for s in sorted(groups))]
    for name in sorted(groups):
        lines = groups.pop(name)
        out += ["", f"  {name}:"]
        out += (one_line("\n".join(lines[i : i + CHUNK])) for i in range(0, len(lines), CHUNK))
    return out
