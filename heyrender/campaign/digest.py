"""The request hash: SHA-256 over a body's canonical JSON (sorted keys, compact, UTF-8).

The lockfile records it for every row, so its text must never change: `canonical_json` is its
definition. `digest` computes the same bytes about three times faster, through orjson, whenever
orjson's text is provably the same; plan and apply hash every row.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

from heyrender.errors import HeyrenderError

CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# The same encoder as CANONICAL.encode uses, made once rather than per call, and without the
# check for circular references (a body is a tree): a third less CPU, the same text.
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_canonical: Any = (
    _make_encoder(
        None, CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
    if _make_encoder is not None
    else None
)


# Where orjson's text may differ from json's: a float under 1e-4, which it writes with an
# exponent of another form ("1e-7" for "1e-07") or as a decimal ("0.00001" for "1e-05"), and NaN
# or an infinity, which it writes as null where json refuses them. A string that holds such
# text only costs the slower path (literal regexes search faster than `in`); "e-" counts only
# after a digit, as in every exponent, for scripts often say "re-" or "e-mail".
MARKS = (
    re.compile(rb"e-(?<=[0-9]e-)").search,  # the literal first: scanned for as fast as one
    re.compile(re.escape(b"0.0000")).search,
    re.compile(re.escape(b"null")).search,
)


def may_differ(text: bytes) -> bool:
    exponent, decimal, null = MARKS
    return exponent(text) is not None or decimal(text) is not None or null(text) is not None


def orjson_agrees() -> bool:
    """Whether this orjson writes floats of every other size as json does (3.x does), and
    small ones in a form may_differ catches."""
    probes = (0.1, 123456.789, 1e15, 1e16, 1.5e17, 1e21, 1e22, 1.7976931348623157e308, -1e300)
    if any(orjson.dumps(x) != json.dumps(x).encode() for x in probes):
        return False
    return all(may_differ(orjson.dumps(x)) for x in (1e-5, 2.5e-7, 5e-324, float("nan")))


FAST = orjson_agrees()
# Only what json writes too: a date, a dataclass or a subclass (a dict whose items() is not its
# storage) goes to the default, which refuses it, so json's encoder decides.
SORTED = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def canonical_json(body: dict[str, Any]) -> str:
    """The body as sorted, compact JSON: what a request hash covers. Every body is hashed
    before it is recorded or sent, so a NaN or infinity stops here, never reaching a POST."""
    try:
        if _canonical is None:  # pragma: no cover - Python without the C accelerator
            return CANONICAL.encode(body)
        return "".join(_canonical(body, 0))
    except ValueError as exc:  # allow_nan=False
        raise HeyrenderError(
            f"a request body holds a number JSON cannot carry ({exc}); it cannot be hashed or sent"
        ) from None


def canonical_bytes(body: dict[str, Any], plain_floats: bool = False) -> bytes:
    """canonical_json(body) as UTF-8. With `plain_floats`, the caller vouches that every
    float in the body is one orjson writes as json does (campaign/expand.py's plain_float:
    the expansion's fast path checks each as it makes it), and orjson's text is not searched
    for the marks of other floats."""
    if not FAST:  # pragma: no cover - an orjson that writes floats its own way
        return canonical_json(body).encode()
    try:
        text = orjson.dumps(body, option=SORTED)
    except TypeError:  # an integer past 64 bits, a string that is not text, a subclass, a date...
        return canonical_json(body).encode()
    if not plain_floats and may_differ(text):
        return canonical_json(body).encode()
    return text


def digest(body: dict[str, Any], plain_floats: bool = False) -> bytes:
    """The 32 bytes of the body's request hash."""
    return hashlib.sha256(canonical_bytes(body, plain_floats)).digest()


def request_hash(body: dict[str, Any]) -> str:
    return "sha256:" + digest(body).hex()
