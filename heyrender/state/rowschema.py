"""The schema of a lockfile row, derived from the fields and types of its dataclass.

Every row of a lockfile and every journal record passes through `RowSchema.check`, so a
hand edit that breaks a row is reported with its field, never a traceback or a silent
misreading. A field added to the dataclass is checked by its type without an edit here;
a few fields carry a stronger rule by name (a status is one of `Status`, a time is UTC).
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from heyrender.status import WITH_VIDEO, Status

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME_EXAMPLE = "2026-11-25T06:25:48Z"
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:.\-]{1,255}")
# The lockfile's form of a time, within what Python's datetime reads (and RFC 3339's date-time
# format, checked beside it, leaves): years 0001 to 9999, no leap second.
YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
CANONICAL_TIME = rf"^{YEAR}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-5][0-9]Z$"
STATUSES = tuple(status.value for status in Status)
STATUS_VALUES = frozenset(STATUSES)
VIDEO_STATUSES = tuple(status.value for status in Status if status in WITH_VIDEO)

Check = Callable[[Any], Any]


class RowInvalid(ValueError):
    """One field of one row breaks the schema; the message names the field."""


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def wrong(name: str, expected: str, value: Any) -> RowInvalid:
    return RowInvalid(f"{name}: expected {expected}, found {json_kind(value)} {shown(value)}")


def text_check(name: str, *, required: bool) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not str:
            raise wrong(name, "a string", value)
        if required and not value:
            raise RowInvalid(f"row has no {name}")
        return value

    return check


def integer_check(name: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not int:
            raise wrong(name, "a whole number", value)
        return value

    return check


def number_check(name: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) not in (int, float) or not finite(value):
            raise wrong(name, "a number", value)
        return value

    return check


def finite(value: float) -> bool:
    """Whether a float holds the number: a whole number past 1e308 overflows one."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def boolean_check(name: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not bool:
            raise wrong(name, "true or false", value)
        return value

    return check


def enum_check(name: str, kind: type[Enum]) -> Check:
    values = {member.value: member for member in kind}

    def check(value: Any) -> Any:
        member = values.get(value) if isinstance(value, (str, int)) else None
        if member is None:
            raise RowInvalid(f"{name}: {shown(value)} is not one of {', '.join(map(str, values))}")
        return member

    return check


def sequence_check(name: str, item: Check) -> Check:
    def check(value: Any) -> Any:
        if value is None:
            return ()
        if type(value) is not list:
            raise wrong(name, "a list", value)
        return tuple(item(each) for each in value)

    return check


def mapping_check(name: str, key: Check, item: Check) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not dict:
            raise wrong(name, "an object", value)
        return {key(k): item(v) for k, v in value.items()}

    return check


def optional(check: Check) -> Check:
    def allow_null(value: Any) -> Any:
        return None if value is None else check(value)

    return allow_null


def type_check(name: str, hint: Any, *, required: bool) -> Check:
    """The check that a JSON value fits the field's Python type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = type_check(name, rest[0], required=required) if len(rest) == 1 else lambda v: v
        return optional(inner) if len(rest) < len(args) else inner
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return sequence_check(name, type_check(f"{name} item", args[0], required=False))
    if origin is dict and len(args) == 2:
        key = type_check(f"{name} key", args[0], required=True)
        return mapping_check(name, key, type_check(f"{name} value", args[1], required=True))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return enum_check(name, hint)
    if hint is bool:
        return boolean_check(name)
    if hint is int:
        return integer_check(name)
    if hint is float:
        return number_check(name)
    if hint is str:
        return text_check(name, required=required)
    return lambda value: value


def without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        return rest[0] if len(rest) == 1 else hint
    return hint


SIXTY_FOUR_BITS = {"minimum": -(2**63), "maximum": 2**63 - 1}


def type_schema(hint: Any, *, required: bool) -> dict[str, Any]:
    """The JSON Schema of what `type_check` accepts unchanged, for the fast path."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = type_schema(rest[0], required=required) if len(rest) == 1 else {}
        return nullable(inner) if len(rest) < len(args) else inner
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": ["array", "null"], "items": type_schema(args[0], required=False)}
    if origin is dict and len(args) == 2:
        return {
            "type": "object",
            "propertyNames": type_schema(args[0], required=True),
            "additionalProperties": type_schema(args[1], required=True),
        }
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {"enum": [member.value for member in hint]}
    if hint is bool:
        return {"type": "boolean"}
    if hint in (int, float):  # within 64 bits: what every decoder reads exactly
        return {"type": "integer" if hint is int else "number", **SIXTY_FOUR_BITS}
    if hint is str:
        return {"type": "string", "minLength": 1} if required else {"type": "string"}
    return {}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return schema


def named_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """`named_rule` for the fast path: only what passes unchanged."""
    if name == "status":
        return {"enum": list(STATUSES)}
    if name.endswith("_at"):
        return {"type": ["string", "null"], "pattern": CANONICAL_TIME, "format": "date-time"}
    if name == "idempotency_key":
        return {**schema, "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"}
    if name in ("attempt", "duration"):
        return {**schema, "minimum": 0}
    if name == "previous_video_ids":
        return {**schema, "items": {"type": "string", "minLength": 1}}
    return schema


def utc_time(name: str) -> Check:
    """A time in the lockfile's form; an ISO 8601 time with an offset is accepted and
    rewritten in UTC, a time without one is refused (it could be any zone)."""

    def check(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not str:
            raise wrong(name, f"a time like {TIME_EXAMPLE}", value)
        if len(value) == 20 and value[10] == "T" and value[19] == "Z":
            try:
                datetime.fromisoformat(value[:19])
                return value
            except ValueError:
                pass
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RowInvalid(f"{name}: {shown(value)} is not a time like {TIME_EXAMPLE}") from None
        if moment.tzinfo is None:
            raise RowInvalid(
                f"{name}: {shown(value)} has no time zone; write it in UTC like {TIME_EXAMPLE}"
            )
        return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)

    return check


def status_value(name: str, check: Check) -> Check:
    def status(value: Any) -> Any:
        text = getattr(value, "value", value)
        if type(text) is not str or text not in STATUS_VALUES:  # a list or an object: no hash
            raise RowInvalid(f"{name}: {shown(value)} is not one of {', '.join(STATUSES)}")
        return check(value)

    return status


def pattern(name: str, check: Check, rule: re.Pattern[str], says: str) -> Check:
    def matches(value: Any) -> Any:
        value = check(value)
        if value is not None and not rule.fullmatch(value):
            raise RowInvalid(f"{name}: {shown(value)} is not {says}")
        return value

    return matches


def at_least(name: str, check: Check, low: float) -> Check:
    def bounded(value: Any) -> Any:
        value = check(value)
        if value is not None and value < low:
            raise RowInvalid(f"{name}: {shown(value)} is below {low:g}")
        return value

    return bounded


def non_empty_items(name: str, check: Check) -> Check:
    def each(value: Any) -> Any:
        value = check(value)
        if value and not all(value):
            raise RowInvalid(f"{name}: holds an empty string")
        return value

    return each


def named_rule(name: str, check: Check) -> Check:
    """Rules a field's type cannot say, by the field's name."""
    if name == "status":
        return status_value(name, check)
    if name.endswith("_at"):
        return utc_time(name)
    if name == "idempotency_key":
        return pattern(name, check, IDEMPOTENCY_KEY, "1 to 255 of A-Z a-z 0-9 _ : . -")
    if name in ("attempt", "duration"):
        return at_least(name, check, 0)
    if name == "previous_video_ids":
        return non_empty_items(name, check)
    return check


class RowSchema:
    """Checks decoded JSON rows against a dataclass and returns its constructor arguments.

    Two paths, one set of rules: a batch of rows in the lockfile's own form is checked at
    once by a compiled JSON Schema (jsonschema-rs); a batch with any row that fails it is
    checked row by row in Python, which rewrites what it can (a time with an offset) and
    names the field of what it cannot.
    """

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        self.required: tuple[str, ...] = ()
        self.checks: dict[str, Check] = {}
        properties: dict[str, Any] = {}
        self.sequences: tuple[str, ...] = ()
        self.integers: tuple[str, ...] = ()  # JSON Schema's integer takes 1.0; the checks do not
        self.enums: dict[str, dict[Any, Enum]] = {}
        for item in fields(cls):
            required = item.default is MISSING and item.default_factory is MISSING
            if required:
                self.required += (item.name,)
            hint = hints[item.name]
            check = type_check(item.name, hint, required=required)
            self.checks[item.name] = named_rule(item.name, check)
            properties[item.name] = named_schema(item.name, type_schema(hint, required=required))
            base = without_none(hint)
            if typing.get_origin(base) is tuple:
                self.sequences += (item.name,)
            elif base is int:
                self.integers += (item.name,)
            elif isinstance(base, type) and issubclass(base, Enum):
                self.enums[item.name] = {member.value: member for member in base}
        self.document = {
            "type": "object",
            "required": list(self.required),
            "additionalProperties": False,
            "properties": properties,
        }
        self.video_rule = "status" in self.checks and "video_id" in self.checks
        if self.video_rule:
            self.document["if"] = {
                "required": ["status"],
                "properties": {"status": {"enum": list(VIDEO_STATUSES)}},
            }
            self.document["then"] = {
                "required": ["video_id"],
                "properties": {"video_id": {"type": "string", "minLength": 1}},
            }
        self._batch: Any = None

    def check(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise RowInvalid("each row must be a JSON object")
        for name in self.required:
            if not data.get(name):
                raise RowInvalid(f"row has no {name}")
        checks = self.checks
        out = {}
        for name, value in data.items():
            check = checks.get(name)
            if check is None:
                raise RowInvalid(f"unknown field {shown(name)}; known: {', '.join(checks)}")
            out[name] = check(value)
        if self.video_rule:
            status = getattr(out.get("status"), "value", out.get("status"))
            if status in VIDEO_STATUSES and not out.get("video_id"):
                raise RowInvalid(f"video_id: a {status} row must name its video, and has none")
        return out

    def all_valid(self, rows: list[Any]) -> bool:
        """True when every row passes as it is written; then `converted` is all they need."""
        if self._batch is None:
            import jsonschema_rs

            self._batch = jsonschema_rs.validator_for(
                {"type": "array", "items": self.document}, validate_formats=True
            )
        try:
            if not self._batch.is_valid(rows):
                return False
        except ValueError:
            return False
        return not any(type(row.get(name)) is float for name in self.integers for row in rows)

    def converted(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row that passed `all_valid`, as constructor arguments (lists become tuples)."""
        for name in self.sequences:
            if name in row:
                row[name] = tuple(row[name] or ())
        for name, members in self.enums.items():
            value = row.get(name)
            if value is not None:
                row[name] = members[value]
        return row
