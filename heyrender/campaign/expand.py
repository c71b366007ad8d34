"""Expanding a manifest over its CSV: one request body per row, with what went wrong."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError

from heyrender.campaign import repeats, schema, templating
from heyrender.campaign.csvsource import CsvSource, Row, Span
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import MediaChecker, MediaUse, uses_media
from heyrender.campaign.repeats import Ledger
from heyrender.campaign.request import request_body
from heyrender.campaign.schema import FieldProblem
from heyrender.campaign.templating import Context, TemplateFault
from heyrender.errors import CsvError, ManifestError, excerpt, shorten
from heyrender.versions import DEFAULT_API, ApiVersion
from heyrender.wording import first_few

OMIT = object()
TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}
KEY_LINES_SHOWN = 10


class CoercionError(ValueError):
    pass


def to_number(text: str) -> int | float:
    if "." not in text:  # int() never takes a point: spare it the exception
        try:
            return int(text)
        except ValueError:
            pass
    try:
        number = float(text)
    except ValueError:
        raise CoercionError(f"{excerpt(text)} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise CoercionError(f"{excerpt(text)} is not a finite number")
    return number


INFINITY = float("inf")


def plain_float(number: float) -> bool:
    """Whether orjson writes this float as json does: finite, and zero or at least 1e-4 in
    size (tests/test_plain_floats.py holds orjson to it)."""
    return number == 0 or 1e-4 <= abs(number) < INFINITY


def to_plain_number(text: str) -> int | float:
    """to_number for the fast path. It refuses a float that is not plain, which sends its row
    down the careful path: so every float of a fast-path body is plain, and its request hash
    need not search orjson's text for the others (campaign/digest.py)."""
    number = to_number(text)
    if type(number) is float and not plain_float(number):
        raise CoercionError("not a plain float")
    return number


def plain_constants(node: Any) -> bool:
    """Whether every float among a compiled body's constants is plain."""
    if isinstance(node, dict):
        return all(plain_constants(child) for child in node.values())
    if isinstance(node, list):
        return all(plain_constants(child) for child in node)
    return not isinstance(node, float) or plain_float(node)


def to_boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CoercionError(f"{excerpt(text)} is not true or false")


COERCE: dict[str, Callable[[str], Any]] = {
    "number": to_number,
    "integer": to_number,
    "boolean": to_boolean,
}
FAST_COERCE = {**COERCE, "number": to_plain_number, "integer": to_plain_number}


@dataclass(frozen=True)
class ExpandedRow:
    """One row rendered: `body` in the manifest's vocabulary, `request_body` as the API takes it."""

    key: str
    line: int
    body: dict[str, Any] | None
    problems: list[FieldProblem] = field(default_factory=list)
    api: ApiVersion = DEFAULT_API
    media: tuple[MediaUse, ...] = ()
    plain_floats: bool = False  # every float of the body is plain (see plain_float)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def request_hash(self) -> str:
        """Over the manifest's vocabulary, so switching API does not make done rows outdated."""
        from heyrender.campaign.digest import request_hash  # validate never hashes: not loaded

        return request_hash(self.body or {})

    @property
    def request_body(self) -> dict[str, Any] | None:
        """What is sent (and what render prints): the one place fields become the API's body."""
        return None if self.body is None else request_body(self.body, self.api)


def template_error(message: str) -> str:
    """A template's failure, cut short: an exception may quote a whole CSV cell."""
    return f"template error: {shorten(message, 200)}"


def columns_excerpt(header: list[str], shown: int = 8) -> str:
    """A header for a message: the first few names, each short; never a file's contents."""
    names = ", ".join(shorten(name, 24) for name in header[:shown])
    return names + (f" and {len(header) - shown} more" if len(header) > shown else "")


class Field:
    """One templated string of the video section, with its type conversion."""

    def __init__(
        self, path: tuple[str, ...], compiled: templating.CompiledTemplate, kind: str | None
    ):
        self.path, self.render, self.coerce = path, compiled.render, COERCE.get(kind or "")
        self.fast_coerce = FAST_COERCE.get(kind or "")
        self.source = compiled.source
        self.name = ".".join(path)
        self.one_line = path in ONE_LINE


ONE_LINE = frozenset({("title",)})  # fields that name a video in logs and listings
SEPARATOR = "\x00"
FILTERED = object()


def combined_renderer(fields: list[Field], where: str | None) -> templating.Renderer | None:
    """A row's `where` and all its fields as one template: one render per row, not one each.

    Kept rows render as NUL, then the fields NUL-separated, each in its own scope; rows the
    filter leaves out render as nothing. NUL never survives in a valid field, so a result of
    another shape, or any failure, sends the row down the careful path (BodyTemplate.render).
    """
    if not fields:
        return None
    source = SEPARATOR + SEPARATOR.join(
        "{% with %}" + item.source + "{% endwith %}" for item in fields
    )
    if where:
        condition = templating.unwrap_expression(where)
        source = f"{{% if ({condition}) | {templating.WHERE_HELPER} %}}{source}{{% endif %}}"
    try:
        return templating.jinja_renderer(source)
    except TemplateError:
        return None


def keyed(name: str, key: str) -> Callable[[str], str]:
    return lambda value: f"{name}[{key!r}] = {value}"


def appended(name: str) -> Callable[[str], str]:
    return lambda value: f"{name}.append({value})"


def body_builder(tree: Any, fields: list[Field]) -> Callable[[list[str]], dict[str, Any]]:
    """The video section as one Python function from field texts to the body.

    It does what fill() does (empty texts and empty objects left out, numbers and booleans
    converted) without walking the tree; a value that does not convert raises CoercionError,
    as does a float that is not plain (to_plain_number).
    """
    index = {id(item): i for i, item in enumerate(fields)}
    constants: list[Any] = []
    lines = ["def build(t):"]
    names = (f"n{i}" for i in itertools.count())

    Store = Callable[[str], str]

    def value_of(node: Any, store: Store, guard: bool) -> None:
        if isinstance(node, Field):
            i = index[id(node)]
            lines.append(f"    v = t[{i}]")
            value = f"C[{i}](v)" if node.coerce else "v"
            lines.append(f"    if v: {store(value)}")
        elif isinstance(node, dict):
            name = next(names)
            lines.append(f"    {name} = {{}}")
            for key, child in node.items():
                value_of(child, keyed(name, key), True)
            lines.append(f"    if {name}: {store(name)}" if guard else f"    {store(name)}")
        elif isinstance(node, list):
            name = next(names)
            lines.append(f"    {name} = []")
            for child in node:
                value_of(child, appended(name), True)
            lines.append(f"    {store(name)}")
        elif node is not OMIT:
            constants.append(node)
            lines.append(f"    {store(f'K[{len(constants) - 1}]')}")

    if isinstance(tree, dict):
        value_of(tree, "body = {}".format, False)
    else:
        lines.append("    body = {}")
    lines.append("    return body")
    namespace: dict[str, Any] = {
        "K": constants,
        "C": [item.fast_coerce for item in fields],
    }
    exec("\n".join(lines), namespace)  # code generated from the manifest's shape, not its text
    build: Callable[[list[str]], dict[str, Any]] = namespace["build"]
    return build


class BodyTemplate:
    """The video section compiled once: literal parts kept as they are, templates ready to run."""

    def __init__(
        self, manifest: Manifest, header: list[str] | None = None, where: str | None = None
    ) -> None:
        self.manifest = manifest
        self.types = schema.field_types()
        self.fields: list[Field] = []
        self.references: list[tuple[tuple[str, ...], templating.Reference]] = []
        self.tree = self._compile(manifest.video, ())
        self.combined = combined_renderer(self.fields, where)
        self.build = body_builder(self.tree, self.fields)
        self.plain_floats = plain_constants(self.tree)  # and the builder's own are
        self.default_title = f"{manifest.name}/"
        if header is not None:
            self.check_references(header)

    def _compile(self, node: Any, path: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            return {name: self._compile(value, (*path, name)) for name, value in node.items()}
        if isinstance(node, list):
            return [self._compile(value, (*path, str(i))) for i, value in enumerate(node)]
        if not isinstance(node, str):
            return node
        if not templating.is_template(node):
            return self._literal(node, path)
        try:
            compiled = templating.compile_template(node)
        except TemplateFault as exc:
            line = self.manifest.line_of("video", *path)
            raise ManifestError(
                self.manifest.path,
                f"{exc.what}: {exc}",
                line=line + exc.line - 1 if line else None,
                field=".".join(("video", *path)),
            ) from None
        self.references.extend((path, ref) for ref in compiled.references)
        found = Field(path, compiled, self.types.get(path))
        self.fields.append(found)
        return found

    def _literal(self, text: str, path: tuple[str, ...]) -> Any:
        if text == "":
            return OMIT
        control = templating.control_character(text, path in ONE_LINE)
        if control:
            raise self.manifest.error(f"contains the control character {control}", "video", *path)
        coerce = COERCE.get(self.types.get(path, ""))
        if coerce is None:
            return text
        try:
            return coerce(text)
        except CoercionError as exc:
            raise self.manifest.error(str(exc), "video", *path) from None

    def check_references(self, header: list[str]) -> None:
        """Every row.X must be a column and every vars.X a var, before any row is read."""
        allowed = {"row": header, "vars": list(self.manifest.vars)}
        source = self.manifest.source.csv.name
        for path, ref in self.references:
            if ref.scope == "free":
                detail = f"uses {ref.name!r}, which is not defined; templates see row, vars and key"
            elif ref.name not in allowed[ref.scope]:
                where = f"{source} has no column" if ref.scope == "row" else "vars has no entry"
                close = difflib.get_close_matches(ref.name, allowed[ref.scope], n=1)
                hint = f"; did you mean {ref.scope}.{close[0]}?" if close else ""
                detail = f"uses {ref.scope}.{ref.name}, but {where} {ref.name!r}{hint}"
            else:
                continue
            raise self.manifest.error(detail, "video", *path)

    def render_at_once(self, context: Context) -> dict[str, Any] | object | None:
        """The body from one render, FILTERED for a row `where` leaves out, or None when the
        row needs the careful path: any error, any problem, anything unusual."""
        if self.combined is None:
            return None
        try:
            joined = self.combined(context)
        except Exception:
            return None
        if not joined:
            return FILTERED
        texts = joined.split(SEPARATOR)
        if len(texts) != len(self.fields) + 1 or texts[0]:
            return None
        if templating.CONTROL_BESIDES_NUL.search(joined):
            return None
        try:
            body = self.build(texts[1:])
        except CoercionError:
            return None
        if "title" not in body:
            body["title"] = self.default_title + context["key"]
        elif templating.control_character(str(body["title"]), one_line=True):
            return None
        return body

    def _text_of(self, item: Field, context: Context) -> tuple[str | None, FieldProblem | None]:
        try:
            text = item.render(context)
        except TemplateError as exc:
            return None, FieldProblem(item.name, template_error(exc.message or str(exc)))
        except Exception as exc:  # a template may raise anything, e.g. int("x")
            return None, FieldProblem(item.name, template_error(str(exc)))
        control = templating.control_character(text, item.one_line)
        if control:
            return text, FieldProblem(item.name, f"contains the control character {control}")
        return text, None

    def render(self, context: Context) -> tuple[dict[str, Any], list[FieldProblem]]:
        problems: list[FieldProblem] = []
        values: dict[int, Any] = {}
        for item in self.fields:
            text, problem = self._text_of(item, context)
            if problem is not None:
                problems.append(problem)
                if text is None:
                    values[id(item)] = OMIT
                    continue
            if not text:
                values[id(item)] = OMIT
            elif item.coerce is None:
                values[id(item)] = text
            else:
                try:
                    values[id(item)] = item.coerce(text)
                except CoercionError as exc:
                    problems.append(FieldProblem(item.name, str(exc)))
                    values[id(item)] = text
        body = fill(self.tree, values)
        if body is OMIT:
            body = {}
        if "title" not in body:
            body["title"] = self.default_title + context["key"]
        return body, problems


def fill(node: Any, values: dict[int, Any]) -> Any:
    if isinstance(node, Field):
        return values[id(node)]
    if isinstance(node, dict):
        out = {}
        for name, child in node.items():
            value = fill(child, values)
            if value is not OMIT:
                out[name] = value
        return out or OMIT
    if isinstance(node, list):
        return [value for value in (fill(child, values) for child in node) if value is not OMIT]
    return node


def row_filter(manifest: Manifest, header: list[str]) -> Callable[[Context], bool] | None:
    source = manifest.source.where
    if not source:
        return None
    try:
        expression = templating.compile_expression(source)
        refs = templating.expression_references(source)
    except TemplateFault as exc:
        raise manifest.error(f"{exc.what}: {exc}", "source", "where") from None
    for ref in refs:
        if ref.scope == "row" and ref.name not in header:
            raise manifest.error(
                f"uses row.{ref.name}, but {manifest.source.csv.name} has no column {ref.name!r}",
                "source",
                "where",
            )
        if ref.scope == "free":
            raise manifest.error(f"uses {ref.name!r}, which is not defined", "source", "where")

    def keep(context: Context) -> bool:
        return templating.kept(expression(context))

    return keep


Compiled = tuple[BodyTemplate, Callable[[Context], bool] | None]


@dataclass
class Expansion:
    """One pass over the CSV, or over one span of it. Iterate it for rows; afterwards the counts
    and key faults are set. `only_lines` renders just those rows (to confirm repeats)."""

    manifest: Manifest
    span: Span | None = None
    only_lines: frozenset[int] | None = None
    rows_read: int = 0
    filtered_out: int = 0
    keys: Ledger = field(default_factory=Ledger)
    empty_keys: int = 0
    empty_key_lines: list[int] = field(default_factory=list)
    control_keys: int = 0
    control_key_lines: list[tuple[int, str]] = field(default_factory=list)
    media: MediaChecker | None = None
    compiled: Compiled | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[ExpandedRow]:
        manifest = self.manifest
        with CsvSource(manifest.source.csv, self.span) as source:
            template, keep = self.compiled or self.compile(source.header)
            if self.media is None and uses_media(manifest.video):
                self.media = MediaChecker(manifest.campaign, manifest.path.parent)
            templating.DEADLINE.arm()
            try:
                for row in source:
                    if self.only_lines is not None and row.line not in self.only_lines:
                        continue
                    self.rows_read += 1
                    expanded = self._expand(row, source, template, keep)
                    if expanded is not None:
                        yield expanded
            finally:
                templating.DEADLINE.disarm()

    def compile(self, header: list[str]) -> Compiled:
        """The body template and the row filter, after checking the key column exists. Spans of
        one CSV share its header, so a pass over a span may be handed them (`compiled`)."""
        manifest = self.manifest
        if manifest.source.key not in header:
            raise manifest.error(
                f"{manifest.source.key!r} is not a column of {manifest.source.csv.name} "
                f"(columns: {columns_excerpt(header)})",
                "source",
                "key",
            )
        keep = row_filter(manifest, header)
        return BodyTemplate(manifest, header, manifest.source.where), keep

    def _expand(
        self,
        row: Row,
        source: CsvSource,
        template: BodyTemplate,
        keep: Callable[[Context], bool] | None,
    ) -> ExpandedRow | None:
        key = row.values[self.manifest.source.key].strip()
        context = templating.row_context(row.values, self.manifest.vars, key)
        body = template.render_at_once(context)
        if body is FILTERED:
            self.filtered_out += 1
            return None
        if body is None and keep is not None:
            try:
                kept = keep(context)
            except Exception as exc:
                return ExpandedRow(
                    key, row.line, None, [FieldProblem("source.where", shorten(str(exc), 200))]
                )
            if not kept:
                self.filtered_out += 1
                return None
        if not key:
            self.empty_keys += 1
            if len(self.empty_key_lines) < KEY_LINES_SHOWN:
                self.empty_key_lines.append(row.line)
            return None
        control = templating.control_character(key, one_line=True)
        if control:
            self.control_keys += 1
            if len(self.control_key_lines) < KEY_LINES_SHOWN:
                self.control_key_lines.append((row.line, control))
            return None
        self.keys.add(key, row.line)
        if row.width != len(source.header):
            problem = FieldProblem(
                "", f"has {row.width} fields; the header has {len(source.header)}"
            )
            return ExpandedRow(key, row.line, None, [problem])
        problems: list[FieldProblem] = []
        plain = template.plain_floats
        if not isinstance(body, dict):
            body, problems = template.render(context)
            plain = False  # its numbers converted by to_number, not checked
        media = self.media.attach(body, problems) if self.media else ()
        return ExpandedRow(key, row.line, body, problems, self.manifest.api, media, plain)

    def absorb(self, other: Expansion) -> None:
        """Adds the counts and keys of the span after this one."""
        self.rows_read += other.rows_read
        self.filtered_out += other.filtered_out
        self.keys.extend(other.keys)
        self.empty_keys += other.empty_keys
        room = KEY_LINES_SHOWN - len(self.empty_key_lines)
        self.empty_key_lines.extend(other.empty_key_lines[:room])
        self.control_keys += other.control_keys
        room = KEY_LINES_SHOWN - len(self.control_key_lines)
        self.control_key_lines.extend(other.control_key_lines[:room])

    def duplicate_keys(self) -> list[tuple[str, list[int]]]:
        """Each key that repeats, with its lines: hashes first, then the few suspects reread."""
        suspects = frozenset(self.keys.suspects())
        if not suspects:
            return []
        column = self.manifest.source.key
        with CsvSource(self.manifest.source.csv) as source:
            found = [
                (row.values[column].strip(), row.line) for row in source if row.line in suspects
            ]
        return repeats.groups(found)

    def check_keys(self) -> None:
        """Duplicate and empty keys make the CSV unusable as a whole: one error for all of them."""
        csv_name = self.manifest.source.csv
        column = self.manifest.source.key
        parts = []
        duplicates = self.duplicate_keys()
        if duplicates:
            listed = [
                f"{key} (lines {first_few(lines)})" for key, lines in duplicates[:KEY_LINES_SHOWN]
            ]
            more = len(duplicates) - len(listed)
            parts.append(
                f"duplicate {column}: {'; '.join(listed)}" + (f"; and {more} more" if more else "")
            )
        if self.empty_keys:
            count = self.empty_keys
            shown = ", ".join(map(str, self.empty_key_lines)) + (
                f" and {count - len(self.empty_key_lines):,} more"
                if count > len(self.empty_key_lines)
                else ""
            )
            parts.append(f"empty {column} on line{'s' if count > 1 else ''} {shown}")
        if self.control_keys:
            listed = [f"{code} on line {line}" for line, code in self.control_key_lines]
            more = self.control_keys - len(listed)
            parts.append(
                f"control character in {column}: {', '.join(listed)}"
                + (f" and {more:,} more" if more else "")
            )
        if parts:
            rule = "unique and non-empty" + (
                ", without control characters" if self.control_keys else ""
            )
            raise CsvError(csv_name, f"key column {column!r} must be {rule}: " + "; ".join(parts))
