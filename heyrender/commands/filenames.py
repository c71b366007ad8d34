"""File names for downloaded videos: safe on Linux, macOS and Windows, one file per key.

The rule: a key that is already a plain name (lowercase ASCII letters, digits and
`. _ @ + -`, not a Windows device name, not ending in a dot, short, not itself
looking like a hashed name) is used as it is. Any other key becomes its cleaned
form plus `-` and the first 8 hex digits of the SHA-256 of the exact key.

So two keys never share a file, even where file names ignore case: plain names
are distinct lowercase strings that never end in `-<8 hex>`, and every other name
ends in the hash of its own exact key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from heyrender.errors import HeyrenderError

SUFFIX = ".mp4"
MAX_STEM = 100  # characters (all ASCII): far below the 255-byte limit, temp prefix included
HASH_DIGITS = 8

PLAIN = re.compile(r"[a-z0-9][a-z0-9._@+-]*")
UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
LOOKS_HASHED = re.compile(rf"-[0-9a-f]{{{HASH_DIGITS}}}$")
WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{port}{n}" for port in ("com", "lpt") for n in range(10)]
)


def is_plain(key: str) -> bool:
    return (
        PLAIN.fullmatch(key) is not None
        and len(key) <= MAX_STEM
        and not key.endswith(".")
        and key.split(".", 1)[0] not in WINDOWS_DEVICES
        and LOOKS_HASHED.search(key) is None
    )


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]


def file_name(key: str) -> str:
    """The video file name for one row key (see the module docstring for the rule)."""
    if is_plain(key):
        return key + SUFFIX
    cleaned = UNSAFE.sub("_", key).lstrip(".")[:MAX_STEM] or "row"
    if cleaned.split(".", 1)[0].lower() in WINDOWS_DEVICES:  # CON.txt-1a2b3c4d is CON too
        cleaned = f"_{cleaned}"
    return f"{cleaned}-{key_hash(key)}{SUFFIX}"


def file_names(keys: Iterable[str]) -> dict[str, str]:
    """Each key's file name; refuses (rather than overwrites) if two would share one."""
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key in keys:
        name = file_name(key)
        other = seen.setdefault(name.casefold(), key)
        if other != key:
            raise HeyrenderError(
                f"rows {other!r} and {key!r} would be saved to the same file name {name!r}",
                hint="rename one of the keys in the CSV",
            )
        names[key] = name
    return names
