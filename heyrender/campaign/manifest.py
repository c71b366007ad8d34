"""Loading a manifest: YAML with line numbers, checked against manifest.schema.json."""

from __future__ import annotations

import datetime
import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from heyrender.campaign import rules, schema, templating
from heyrender.campaign.cost import CostModel
from heyrender.campaign.paths import Boundary, PathRefused, read_named_file
from heyrender.errors import ManifestError, shorten
from heyrender.versions import DEFAULT_API, ApiVersion

SUPPORTED_VERSION = 1
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    csv: Path
    key: str
    where: str | None


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    source: Source
    vars: dict[str, Any]
    video: dict[str, Any]
    lines: dict[Path_, tuple[int, int]] = field(repr=False, default_factory=dict)
    api: ApiVersion = DEFAULT_API
    cost: CostModel = field(default_factory=CostModel)
    boundary: Boundary | None = None

    @property
    def campaign(self) -> Boundary:
        """Where this manifest may read files from (see campaign/paths.py)."""
        return self.boundary or Boundary.of_manifest(self.path)

    def line_of(self, *path: str | int) -> int | None:
        """1-based line of a field, or of its nearest enclosing field."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]][0]
        return None

    def error(self, detail: str, *path: str | int, hint: str | None = None) -> ManifestError:
        position = self.lines.get(path)
        return ManifestError(
            self.path,
            detail,
            line=self.line_of(*path),
            column=position[1] if position else None,
            field=schema.dotted(path) or None,
            hint=hint,
        )

    @property
    def lockfile_path(self) -> Path:
        return self.path.with_suffix(".lock")


MAX_DEPTH = 64
MAX_VALUES = 100_000


class Expansion:
    """How far `plain` has unfolded the YAML: aliases can nest a node inside itself, or
    multiply a few lines into billions of values (a "billion laughs")."""

    def __init__(self, path: Path, lines: dict[Path_, tuple[int, int]]) -> None:
        self.path, self.lines, self.values = path, lines, 0

    def enter(self, at: Path_) -> None:
        self.values += 1
        if len(at) > MAX_DEPTH:
            self.refuse(
                at, f"is nested more than {MAX_DEPTH} levels deep (an alias inside itself?)"
            )
        if self.values > MAX_VALUES:
            self.refuse(at, f"expands to more than {MAX_VALUES:,} values (through YAML aliases?)")

    def refuse(self, at: Path_, detail: str) -> None:
        """Named by the top-level field it unfolds under (`vars`)."""
        line, column = self.lines.get(at[:1], (None, None))
        field = schema.dotted(at[:1]) or None
        raise ManifestError(self.path, detail, line=line, column=column, field=field)


def plain(node: Any, path: Path_, lines: dict[Path_, tuple[int, int]], expansion: Expansion) -> Any:
    """ruamel's round-trip nodes as plain Python values, recording each value's position."""
    expansion.enter(path)
    if isinstance(node, CommentedMap):
        out = {}
        for name, value in node.items():
            position = node.lc.value(name) if value is not None else None
            line, column = position or node.lc.key(name) or (node.lc.line, node.lc.col)
            lines[(*path, str(name))] = (line + 1, column + 1)
            out[str(name)] = plain(value, (*path, str(name)), lines, expansion)
        return out
    if isinstance(node, CommentedSeq):
        for index in range(len(node)):
            line, column = node.lc.item(index)
            lines[(*path, index)] = (line + 1, column + 1)
        return [plain(value, (*path, i), lines, expansion) for i, value in enumerate(node)]
    return builtin(node)


STR_TAG = "tag:yaml.org,2002:str"


def builtin(value: Any) -> Any:
    """ruamel's scalar subclasses (ScalarFloat, ScalarBoolean, ...) as the plain types, and
    `!!str 2026-01-02`, YAML's own way to write a string, as that string."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, TaggedScalar) and str(value.tag) == STR_TAG:
        return str(value.value)
    return value


MAX_MANIFEST_BYTES = 2 * 1024 * 1024  # a page of YAML; the pure-Python reader takes ~2 s a MB


def parse(path: Path) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    try:
        text = read_named_file(path, MAX_MANIFEST_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ManifestError(path, "no such file") from None
    except PathRefused as exc:
        raise ManifestError(path, str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ManifestError(path, exc.strerror or str(exc)) from None
    try:
        data = YAML(typ="rt", pure=True).load(text)
    except RecursionError:
        raise ManifestError(
            path, "YAML syntax error: nested too deeply for the YAML reader"
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise ManifestError(
            path,
            f"YAML syntax error: {shorten(problem, 160)}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except YAMLError as exc:
        raise ManifestError(path, f"YAML syntax error: {shorten(str(exc), 160)}") from None
    lines: dict[Path_, tuple[int, int]] = {}
    data = plain(data, (), lines, Expansion(path, lines))
    check_finite(path, data, (), lines)
    return data, lines


JSON_SCALARS = (str, bool, int, float, type(None))


def check_finite(path: Path, node: Any, at: Path_, lines: dict[Path_, tuple[int, int]]) -> None:
    """A YAML .nan or .inf anywhere is refused: JSON cannot carry it, and NaN passes every
    minimum and maximum a schema sets. So is a value JSON has no type for (an unquoted date, a
    !!binary, a custom tag...) outside `vars`, whose values only templates read."""
    problem = None
    if isinstance(node, float) and not math.isfinite(node):
        problem = f"{node!r} is not a finite number; JSON and HeyGen take only finite numbers"
    elif not isinstance(node, (*JSON_SCALARS, dict, list)) and at[:1] != ("vars",):
        problem = f"a YAML {yaml_kind(node)} has no JSON form; quote it to make it text"
    if problem:
        line, column = lines.get(at, (None, None))
        raise ManifestError(
            path, problem, line=line, column=column, field=schema.dotted(at) or None
        )
    if isinstance(node, dict):
        for name, value in node.items():
            check_finite(path, value, (*at, name), lines)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            check_finite(path, value, (*at, index), lines)


def yaml_kind(node: Any) -> str:
    if isinstance(node, datetime.datetime):
        return "timestamp"
    if isinstance(node, datetime.date):
        return "date"
    if isinstance(node, (bytes, bytearray)):
        return "binary value"
    if isinstance(node, AbstractSet):
        return "set"
    tag = getattr(getattr(node, "tag", None), "value", None) or getattr(node, "tag", None)
    return f"value tagged {tag}" if isinstance(tag, str) else f"{type(node).__name__} value"


def load(path: str | Path, allow_outside: bool = False) -> Manifest:
    """The manifest at `path`; allow_outside lets it name files outside its campaign."""
    path = Path(path)
    data, lines = parse(path)
    if not isinstance(data, dict):
        raise ManifestError(path, "a manifest is a YAML mapping with version, source and video")
    stub = Manifest(path, path.stem, Source(path, "", None), {}, {}, lines)
    version = data.get("version")
    if version != SUPPORTED_VERSION:
        said = "no version" if version is None else f"unknown manifest version {version!r}"
        raise stub.error(f"{said}; this heyrender reads version: {SUPPORTED_VERSION}", "version")
    api = api_of(stub, data)
    if api is ApiVersion.V2:
        check_v2_fields(stub, data.get("video"))
    check_structure(stub, data)
    name = data.get("name")
    control = templating.control_character(name, one_line=True) if isinstance(name, str) else None
    if control:
        raise stub.error(f"contains the control character {control}; a name is one line", "name")
    source = data["source"]
    boundary = Boundary.of_manifest(path, allow_outside)
    try:
        csv_path, _ = boundary.regular_file(source["csv"], path.parent)
    except PathRefused as exc:
        raise stub.error(f"CSV file {exc}", "source", "csv", hint=exc.hint) from None
    return Manifest(
        path=path,
        name=data.get("name") or path.stem,
        source=Source(csv_path, source["key"], source.get("where")),
        vars=data.get("vars") or {},
        video=data["video"],
        lines=lines,
        api=api,
        cost=CostModel.from_section(data.get("cost")),
        boundary=boundary,
    )


def api_of(stub: Manifest, data: dict[str, Any]) -> ApiVersion:
    said = data.get("api", DEFAULT_API.value)
    try:
        return ApiVersion(said)
    except ValueError:
        raise stub.error(
            f"{schema.quote(said)} is not an API heyrender speaks; "
            f"use api: v3 (the default) or api: v2",
            "api",
        ) from None


def check_v2_fields(stub: Manifest, video: Any) -> None:
    """Once for the manifest: a literal v3-only field or value under api: v2."""
    refusals = list(rules.v2_refusals(video))
    if not refusals:
        return
    path, detail = refusals[0]
    others = ["video." + ".".join(p) for p, _ in refusals[1:]]
    if others:
        detail += f"; so do {', '.join(others)}"
    raise stub.error(detail, "video", *path, hint="set api: v3, or remove the v3 fields")


def check_structure(stub: Manifest, data: dict[str, Any]) -> None:
    structure = schema.load(schema.MANIFEST_SCHEMA)
    if schema.is_valid(structure, data):
        return
    import jsonschema

    validator = schema.detailed_validator(structure)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    parent = error.parent
    if parent is not None and schema.template_choice(parent.validator_value) is not None:
        error = parent  # "not one of ..., nor a template", not the template pattern itself
    problem = schema.explain(error)
    path = tuple(problem.field.split(".")) if problem.field else ()
    raise stub.error(problem.message, *path)
