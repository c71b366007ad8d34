"""Writes manifest.schema.json from video-request.schema.json (run: make schemas).

The manifest's `video:` section is the request body with every value allowed to be
a Jinja template, so its fields mirror the request schema with types widened to
strings. Cross-field rules are checked per row after rendering, not here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATE = {"type": "string", "pattern": "\\{\\{|\\{%"}


def widen(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: schema[k] for k in ("description", "default") if k in schema}
    if schema.get("type") == "object":
        out["type"] = "object"
        out["additionalProperties"] = False
        out["properties"] = {k: widen(v) for k, v in schema["properties"].items()}
    elif "enum" in schema:
        out["anyOf"] = [{"enum": schema["enum"]}, TEMPLATE, {"const": ""}]
    elif schema.get("type") in ("number", "boolean"):
        out["type"] = [schema["type"], "string"]
    else:
        out["type"] = "string"
    return out


RATE = {"type": "number", "minimum": 0}
COST = {
    "type": "object",
    "additionalProperties": False,
    "description": "How plan and apply estimate the cost; HeyGen changes its prices.",
    "properties": {
        "words_per_minute": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 150,
            "description": "Speech rate at voice_settings.speed 1.0.",
        },
        "avatar_id_kind": {
            "enum": ["studio", "photo"],
            "default": "studio",
            "description": "How to price rows with avatar_id: a digital twin or studio "
            "avatar, or a photo avatar.",
        },
        "rates": {
            "type": "object",
            "additionalProperties": False,
            "description": "USD per second of video.",
            "properties": {
                "photo": {**RATE, "default": 0.05, "description": "Photo avatar, 720p/1080p."},
                "photo_4k": {**RATE, "default": 0.0667, "description": "Photo avatar, 4k."},
                "studio": {
                    **RATE,
                    "default": 0.0667,
                    "description": "Digital twin or studio avatar, 720p/1080p.",
                },
                "studio_4k": {
                    **RATE,
                    "default": 0.0833,
                    "description": "Digital twin or studio avatar, 4k.",
                },
            },
        },
    },
}


def build(request_schema: dict[str, Any]) -> dict[str, Any]:
    video = widen(request_schema)
    video["description"] = (
        "The POST /v2/videos request body. Every string is a Jinja template over "
        "row, vars and key; a field that renders to the empty string is left out."
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/heyrender/heyrender/schemas/manifest.schema.json",
        "title": "heyrender manifest, version 1",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "source", "video"],
        "properties": {
            "version": {"const": 1, "description": "Manifest format version."},
            "name": {
                "type": "string",
                "minLength": 1,
                "pattern": "^[^/]+$",
                "description": "Campaign name; defaults to the manifest's file stem.",
            },
            "source": {
                "type": "object",
                "additionalProperties": False,
                "required": ["csv", "key"],
                "properties": {
                    "csv": {
                        "type": "string",
                        "minLength": 1,
                        "description": "CSV of recipients, relative to the manifest.",
                    },
                    "key": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Column that identifies a row: unique and non-empty.",
                    },
                    "where": {
                        "type": "string",
                        "description": "Only rows where this template renders true.",
                    },
                },
            },
            "vars": {
                "type": "object",
                "description": "Constants available to templates as vars.*.",
            },
            "video": video,
            "cost": COST,
        },
    }


def main() -> None:
    request = json.loads((HERE / "video-request.schema.json").read_text())
    text = json.dumps(build(request), indent=2, ensure_ascii=False) + "\n"
    target = HERE / "manifest.schema.json"
    if "--check" in sys.argv:
        sys.exit(0 if target.read_text() == text else "manifest.schema.json is stale: make schemas")
    target.write_text(text)


if __name__ == "__main__":
    main()
