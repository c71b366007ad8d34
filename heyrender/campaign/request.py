"""A row's fields in the manifest's vocabulary, as the body the chosen API takes.

The manifest keeps the seed's field names under either API. Under v3 the image source
becomes the union on `type`: `avatar_id` -> `type: avatar`; `image_url` and
`image_asset_id` -> `type: image` with `image: {type: url | asset_id, ...}`. A native v3
`type` and `image` pass through as written, and so does every other field.
"""

from __future__ import annotations

from typing import Any

from heyrender.versions import ApiVersion

SEED_IMAGE_FIELDS = {"image_url": "url", "image_asset_id": "asset_id"}


def request_body(fields: dict[str, Any], api: ApiVersion) -> dict[str, Any]:
    """The body to send for these (validated) fields: v2 takes them as they are."""
    if api is ApiVersion.V2:
        return fields
    body: dict[str, Any] = {"type": fields.get("type") or v3_type(fields)}
    for name, value in fields.items():
        if name in SEED_IMAGE_FIELDS:
            shape = SEED_IMAGE_FIELDS[name]
            body["image"] = {"type": shape, shape: value}
        elif name != "type":
            body[name] = value
    return body


def v3_type(fields: dict[str, Any]) -> str:
    return "avatar" if "avatar_id" in fields else "image"
