"""The request schema: loading it, checking bodies against it, and saying why one fails."""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heyrender.errors import excerpt, shorten

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - the pure-Python validator still works, only slower
    jsonschema_rs = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import jsonschema

REQUEST_SCHEMA = "video-request.schema.json"  # the v2 body, and the manifest's vocabulary
V3_REQUEST_SCHEMA = "video-request-v3.schema.json"  # the v3 body, as sent
V3_FIELDS_SCHEMA = "manifest-video-v3.schema.json"  # the v3 rules over the manifest's vocabulary
MANIFEST_SCHEMA = "manifest.schema.json"
TEMPLATE_PATTERN = "\\{\\{|\\{%"  # how manifest.schema.json lets any value be a template
TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "a boolean",
}


CHECKOUT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def load(name: str) -> dict[str, Any]:
    """A schema from the source tree's schemas/, or from the copy a wheel installs."""
    local = CHECKOUT_SCHEMAS / name
    text = (
        local.read_text()
        if local.is_file()
        else (resources.files("heyrender.schemas").joinpath(name).read_text())
    )
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str
    # the fields a cross-field rule is about: a rule that only fails because one of them
    # could not be rendered says nothing new
    involves: frozenset[str] = dataclasses.field(default=frozenset(), compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def dotted(parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def quote(value: Any) -> str:
    return excerpt(value) if isinstance(value, str) else shorten(repr(value))


def type_words(expected: Any) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    return " or ".join(TYPE_WORDS.get(str(kind), str(kind)) for kind in kinds)


def template_choice(expected: Any) -> list[Any] | None:
    """The allowed values of a manifest field that may also be a template, else None."""
    if not isinstance(expected, list):
        return None
    if not any(branch.get("pattern") == TEMPLATE_PATTERN for branch in expected):
        return None
    return next((branch["enum"] for branch in expected if "enum" in branch), None)


def explain(error: jsonschema.ValidationError, field_prefix: str = "") -> FieldProblem:
    """One human sentence for one jsonschema error, at the field it concerns."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind, value, expected = error.validator, error.instance, error.validator_value
    message = schema.get("x-error")
    involves: frozenset[str] = frozenset()
    if kind == "required":
        missing = next((name for name in expected if name not in value), expected[0])
        path.append(missing)
        involves = frozenset({missing})
        message = "required" + (f" ({message})" if message else "")
    elif kind == "dependentRequired":
        owner = next(name for name, needs in expected.items() if name in value)
        path.append(next(n for n in expected[owner] if n not in value))
        involves = frozenset({owner, path[-1]})
        message = f"required when {owner} is given"
    elif kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(value) - set(allowed))
        path.append(extra[0])
        close = difflib.get_close_matches(extra[0], allowed, n=1)
        suggestion = f"did you mean {close[0]}?" if close else f"allowed: {', '.join(allowed)}"
        message = f"unknown field; {suggestion}"
    elif (
        message
        and kind == "oneOf"
        and all(set(branch) == {"required"} and len(branch["required"]) == 1 for branch in expected)
    ):
        given = [b["required"][0] for b in expected if b["required"][0] in value]
        involves = frozenset(b["required"][0] for b in expected)
        message += f" (found {', '.join(given)})" if given else " (found none)"
    elif message:
        pass
    elif kind == "enum":
        message = f"{quote(value)} is not one of {', '.join(map(str, expected))}"
    elif kind == "anyOf" and (choices := template_choice(expected)) is not None:
        message = f"{quote(value)} is not one of {', '.join(map(str, choices))}, nor a template"
    elif kind == "type":
        message = (
            f"is empty; it must be {type_words(expected)}"
            if value is None
            else f"{quote(value)} is not {type_words(expected)}"
        )
    elif kind in ("minimum", "maximum") and {"minimum", "maximum"} <= set(schema):
        message = f"{quote(value)} is outside {schema['minimum']} to {schema['maximum']}"
    elif kind == "maxLength":
        message = f"is {len(value):,} characters long; the limit is {expected:,}"
    elif kind == "minLength" and value == "":
        message = "must not be empty"
    else:
        message = error.message
    return FieldProblem(dotted([p for p in (field_prefix,) if p] + path), message, involves)


def is_valid(document_schema: dict[str, Any], document: Any) -> bool | None:
    """The compiled validator's verdict, or None when it is not installed."""
    if jsonschema_rs is None:
        return None
    return bool(jsonschema_rs.is_valid(document_schema, document))


def detailed_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """jsonschema, loaded only when a document is invalid and its errors need words."""
    import jsonschema

    return jsonschema.Draft202012Validator(schema)


class RequestValidator:
    """Checks request bodies: a compiled validator for speed, jsonschema for the words."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else load(REQUEST_SCHEMA)
        self._detailed: jsonschema.Draft202012Validator | None = None
        self._fast = jsonschema_rs.validator_for(self.schema) if jsonschema_rs else None
        self.is_valid = self._fast.is_valid if self._fast is not None else None

    def problems(self, body: dict[str, Any]) -> list[FieldProblem]:
        if self.is_valid is not None and self.is_valid(body):
            return []
        if self._detailed is None:
            self._detailed = detailed_validator(self.schema)
        errors = sorted(self._detailed.iter_errors(body), key=lambda e: list(map(str, e.path)))
        return [explain(error) for error in errors]


def field_types(schema: dict[str, Any] | None = None) -> dict[tuple[str, ...], str]:
    """Maps each number and boolean field path of the request to its JSON type.

    Without a schema: the fields of both APIs' vocabularies (a field has one type in both).
    """
    found: dict[tuple[str, ...], str] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, sub in node.get("properties", {}).items():
            if sub.get("type") in ("number", "integer", "boolean"):
                found[(*path, name)] = sub["type"]
            walk(sub, (*path, name))

    for each in [schema] if schema is not None else [load(REQUEST_SCHEMA), load(V3_FIELDS_SCHEMA)]:
        walk(each, ())
    return found
