"""What each API accepts in a manifest's `video:` section, in the manifest's own vocabulary.

v2 takes the seed's body as it is (video-request.schema.json). v3 takes the seed's fields
plus v3's (manifest-video-v3.schema.json, generated from the v3 body's schema), and
heyrender.campaign.request maps them to the v3 body. Under `api: v2` a v3-only field or
value is refused with a sentence that says it needs `api: v3`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from heyrender.campaign import schema, templating
from heyrender.campaign.schema import FieldProblem, RequestValidator
from heyrender.versions import ApiVersion

FieldPath = tuple[str, ...]
SCHEMAS = {ApiVersion.V2: schema.REQUEST_SCHEMA, ApiVersion.V3: schema.V3_FIELDS_SCHEMA}


def fields_schema(api: ApiVersion) -> dict[str, Any]:
    return schema.load(SCHEMAS[api])


@dataclass(frozen=True)
class V3Only:
    """What v3 adds to v2's vocabulary: whole fields, and values of v2's enum fields."""

    fields: tuple[FieldPath, ...]
    values: dict[FieldPath, tuple[Any, ...]]
    v2_values: dict[FieldPath, tuple[Any, ...]]


@cache
def v3_only() -> V3Only:
    fields: list[FieldPath] = []
    values: dict[FieldPath, tuple[Any, ...]] = {}
    v2_values: dict[FieldPath, tuple[Any, ...]] = {}

    def walk(v3: dict[str, Any], v2: dict[str, Any], path: FieldPath) -> None:
        for name, sub in v3.get("properties", {}).items():
            here = (*path, name)
            old = v2.get("properties", {}).get(name)
            if old is None:
                fields.append(here)
                continue
            added = [v for v in sub.get("enum", []) if v not in old.get("enum", [])]
            if added:
                values[here], v2_values[here] = tuple(added), tuple(old["enum"])
            walk(sub, old, here)

    walk(fields_schema(ApiVersion.V3), fields_schema(ApiVersion.V2), ())
    return V3Only(tuple(fields), values, v2_values)


NEEDS_V3 = "needs api: v3 (this manifest says api: v2)"


def v2_refusals(video: Any) -> Iterator[tuple[FieldPath, str]]:
    """The v3-only fields, and literal v3-only values, in a v2 manifest's video: section."""
    added = v3_only()
    for path in added.fields:
        if found(video, path) is not MISSING:
            yield path, f"a v3 field; it {NEEDS_V3}"
    for path, extra in added.values.items():
        value = found(video, path)
        if isinstance(value, str) and not templating.is_template(value) and value in extra:
            yield path, value_needs_v3(path, value)


def value_needs_v3(path: FieldPath, value: Any) -> str:
    allowed = ", ".join(map(str, v3_only().v2_values[path]))
    return f"{schema.quote(value)} {NEEDS_V3}; v2 takes {allowed}"


MISSING = object()


def found(node: Any, path: FieldPath) -> Any:
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return MISSING
        node = node[name]
    return node


class ApiRules(RequestValidator):
    """A rendered row's fields checked by the chosen API's rules, named as the manifest names
    them; under v2 a templated v3-only value says it needs api: v3."""

    def __init__(self, api: ApiVersion) -> None:
        super().__init__(fields_schema(api))
        self.api = api

    def problems(self, body: dict[str, Any]) -> list[FieldProblem]:
        problems = super().problems(body)
        if self.api is ApiVersion.V2:
            problems = [self._reworded(problem, body) for problem in problems]
        return problems

    def _reworded(self, problem: FieldProblem, body: dict[str, Any]) -> FieldProblem:
        path = tuple(problem.field.split("."))
        value = found(body, path)
        if value in v3_only().values.get(path, ()):
            return FieldProblem(problem.field, value_needs_v3(path, value), problem.involves)
        return problem


@cache
def rules_for(api: ApiVersion) -> ApiRules:
    return ApiRules(api)
