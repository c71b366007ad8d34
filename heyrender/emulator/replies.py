"""The two envelopes the emulator answers in, and reading a request's JSON body as HeyGen does.

v2: `{"error": null, "data": ...}`, on failure `{"data": null, "error": {code, message}}`.
v3: the same success shape; a failure's error also carries `param` and `doc_url`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

DOC_URL = "https://docs.heygen.com/reference/errors"
MAX_DEPTH = 64


class Failure(Exception):
    """An error answer; the server renders it in the envelope of the API the path belongs to."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = dict(headers or {})

    def payload(self, v3: bool) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if v3:
            error.update(param=self.param, doc_url=f"{DOC_URL}#{self.code}")
        return {"data": None, "error": error}

    def response(self, v3: bool) -> web.Response:
        return web.json_response(self.payload(v3), status=self.status, headers=self.headers)


def ok(data: Any) -> dict[str, Any]:
    return {"error": None, "data": data}


def envelope(data: Any) -> web.Response:
    return web.json_response(ok(data))


def invalid(message: str, param: str | None = None) -> Failure:
    return Failure(400, "invalid_parameter", message, param)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def depth(value: Any) -> int:
    """How deeply arrays and objects nest, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_object(raw: bytes) -> dict[str, Any]:
    """A JSON object, strictly: no NaN or Infinity, no overflowing numbers, no deep nesting."""
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite
        )
    except RecursionError:
        raise invalid(f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except UnicodeDecodeError:
        raise invalid("The body is not UTF-8.") from None
    except ValueError as exc:
        raise invalid(f"The body is not valid JSON: {exc}.") from None
    if value is None:
        raise invalid("The body is null; a JSON object is required.")
    if not isinstance(value, dict):
        raise invalid("The body must be a JSON object.")
    if depth(value) > MAX_DEPTH:
        raise invalid(f"The body nests deeper than {MAX_DEPTH} levels.")
    return value


async def json_object(request: web.Request) -> dict[str, Any]:
    return parse_object(await request.read())
