"""Compiling manifest strings into renderers: Jinja in a bounded sandbox, compiled once per field.

The sandbox keeps a template to data: no object reprs in output (`{{ self }}`, `{{ lipsum }}`),
no random output, no control characters, at most MAX_FIELD_CHARS characters per field, and no
more than TEMPLATE_SECONDS of running time per field (see Deadline).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import update_wrapper
from itertools import islice
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

CONTEXT_NAMES = frozenset({"row", "vars", "key"})
SYNTAX = re.compile(r"\{\{|\{%|\{#")
SIMPLE_LOOKUP = re.compile(r"^\{\{\s*(row|vars)\.([A-Za-z_]\w*)\s*\}\}$|^\{\{\s*(key)\s*\}\}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_BESIDES_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # tab and line breaks too: one-line names
HUGE_WIDTH = re.compile(r"\d{7,}|\*")
DIGITS = re.compile(r"\d+")

MAX_FIELD_CHARS = 1_000_000
MAX_BUILT_CHARS = 20 * MAX_FIELD_CHARS  # per render, all the text its steps make
MAX_OUTPUT_PIECES = 200_000
MAX_POWER_BITS = 100_000
TEMPLATE_SECONDS = 2.0
UNSAFE_GLOBALS = ("lipsum",)
UNSAFE_FILTERS = ("random",)
SIZED_FILTERS = (
    *("center", "indent", "wordwrap", "truncate", "format", "replace", "join"),
    *("string", "tojson", "pprint"),
)

Context = dict[str, Any]
Renderer = Callable[[Context], str]


class TemplateLimit(SecurityError):
    """A template asked for more output, or more time, than a field may have."""


def too_long(size: int) -> TemplateLimit:
    return TemplateLimit(
        f"would render {size:,} characters; a field may have at most {MAX_FIELD_CHARS:,}"
    )


class Built:
    """Characters one render has built (or was about to build) along the way: each piece may
    be within the field limit while a loop keeps millions of them (`map("center", 999999)`
    over a long list took all 23 GB of a machine's memory before its deadline)."""

    def __init__(self) -> None:
        self.chars = 0

    def spend(self, size: int) -> None:
        self.chars += size
        if self.chars > MAX_BUILT_CHARS:
            self.chars = 0
            raise TemplateLimit(
                f"builds more than {MAX_BUILT_CHARS:,} characters of text along the way"
            )


BUILT = Built()


def check_size(size: int) -> None:
    if size > MAX_FIELD_CHARS:
        raise too_long(size)
    BUILT.spend(size)


CONTAINERS = (list, tuple, dict)


def weight(value: Any) -> int:
    """About how many characters str(value) writes, counted until past the field limit: a
    list holding one long list a thousand times is counted a thousand times, as str() would
    write it (`[[1] * 999999] * 999` is small in memory, and a gigabyte as text)."""
    total, stack = 0, [value]
    while stack and total <= MAX_FIELD_CHARS:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, list | tuple):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            total += 1
    return total


def check_text_of(value: Any) -> None:
    """Refuses data whose text would pass the field limit, before str() or a dump writes it."""
    if isinstance(value, CONTAINERS):
        check_size(weight(value))


def check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str) and isinstance(times, int):
            check_size(len(seq) * times)
        elif isinstance(seq, list | tuple) and isinstance(times, int) and times > 0:
            check_size(len(seq) * times)
            check_size(weight(seq) * times)


def check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if abs(base) > 1 and exponent > 0 and abs(base).bit_length() * exponent > MAX_POWER_BITS:
        raise TemplateLimit(f"{base} ** {exponent} is too large a number")


def check_format(text: Any) -> None:
    """`text % values`: a literal width or precision of 7 digits or more, or a `*`, is refused."""
    if isinstance(text, str) and HUGE_WIDTH.search(text):
        for spec in re.findall(r"%(?:\([^)]*\))?[-#0 +]*[\d*]*(?:\.[\d*]+)?", text):
            if HUGE_WIDTH.search(spec):
                raise TemplateLimit(f"format {spec!r} asks for too wide a field")


def check_spec(spec: str) -> None:
    """One `{...:spec}` of str.format, as resolved (a nested `{1}` already filled in)."""
    if any(len(digits) > 7 or int(digits) > MAX_FIELD_CHARS for digits in DIGITS.findall(spec)):
        raise TemplateLimit(f"format {spec!r} asks for too wide a field")


class BoundedFormatter(SandboxedFormatter):
    """The sandbox's str.format, refusing a field's width or precision past the field limit
    before the padded text is built (`"{:>9999999999}".format(1)` would take 10 GB)."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_spec(format_spec)
        check_text_of(value)
        return super().format_field(value, format_spec)


def check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_FIELD_CHARS:
            raise too_long(value)


def check_replace(text: Any, args: tuple[Any, ...]) -> None:
    if isinstance(text, str) and len(args) >= 2 and isinstance(args[0], str):
        old, new = args[0], args[1]
        if isinstance(new, str):
            count = text.count(old) if old else len(text) + 1
            check_size(len(text) + count * (len(new) - len(old)))


def argument(rest: tuple[Any, ...], kwargs: dict[str, Any], at: int, name: str) -> Any:
    """A filter's argument after its value, given by position `at` or by `name`."""
    return rest[at] if len(rest) > at else kwargs.get(name)


def check_join(items: list[Any], rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    separator = argument(rest, kwargs, 0, "d")
    pieces = weight(items)
    gaps = max(len(items) - 1, 0) * (len(separator) if isinstance(separator, str) else 0)
    check_size(pieces + gaps)


def check_indent(text: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    width = argument(rest, kwargs, 0, "width")
    unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
    if isinstance(text, str):
        check_size(len(text) + (text.count("\n") + 1) * unit)


def check_wordwrap(text: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    width, wrapstring = argument(rest, kwargs, 0, "width"), argument(rest, kwargs, 2, "wrapstring")
    if isinstance(text, str) and isinstance(wrapstring, str):
        per_line = width if isinstance(width, int) and width > 0 else 1
        breaks = len(text) // per_line + sum(text.count(c) for c in " \t\n-") + 1
        check_size(len(text) + breaks * len(wrapstring))


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that can build long text, refusing arguments that would pass the field limit
    before the text is built: its own numbers, and text it repeats (a separator, an indent)."""
    offset = 1 if hasattr(function, "jinja_pass_arg") else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        value, rest = args[offset], args[offset + 1 :]
        check_arguments(rest, kwargs)
        if name in ("string", "tojson", "pprint"):
            check_text_of(value)
        if name == "replace":
            check_replace(value, rest)
        elif name == "format":
            check_format(value)
        elif name == "join":
            value = list(value)
            args = (*args[:offset], value, *rest)
            check_join(value, rest, kwargs)
        elif name == "indent":
            check_indent(value, rest, kwargs)
        elif name == "wordwrap":
            check_wordwrap(value, rest, kwargs)
        result = function(*args, **kwargs)
        if isinstance(result, str):
            check_size(len(result))
        return result

    if offset:
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


def bounded_join(pieces: tuple[Any, ...]) -> str:
    """`a ~ b`: the concatenation, refused when it would pass the field limit."""
    for piece in pieces:
        check_text_of(piece)
    text = "".join(map(str, pieces))
    check_size(len(text))
    return text


def data_only(value: Any) -> Any:
    """What `{{ ... }}` may print: text, numbers and plain data, never an object's repr."""
    if value is None or isinstance(value, str | int | float | list | tuple | dict):
        return value
    if isinstance(value, Undefined):  # `row[key]` with no such column: say so, as `~` would
        value._fail_with_undefined_error()
    raise SecurityError(f"prints a Python object ({type(value).__name__}), not data")


def printable(value: Any) -> str:
    """`{{ value }}` as text: str() of data_only, with a shortcut for text itself."""
    if value.__class__ is str:
        return value
    check_text_of(value)
    return str(data_only(value))


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with `~` through bounded_join, and two shortcuts for speed:
    `{{ x }}` calls printable() once, and `name.attr` on a plain dict is a key lookup inline
    (what Environment.getattr does for a dict holding that key)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if not isinstance(node.node, nodes.Name) or self.environment.is_async:
            super().visit_Getattr(node, frame)
            return
        self.write("(")
        self.visit(node.node, frame)
        self.write(f"[{node.attr!r}] if ")
        self.visit(node.node, frame)
        self.write(f".__class__ is dict and {node.attr!r} in ")
        self.visit(node.node, frame)
        self.write(" else environment.getattr(")
        self.visit(node.node, frame)
        self.write(f", {node.attr!r}))")

    def _plain_output(self, frame: Frame) -> bool:
        return not (frame.eval_ctx.volatile or frame.eval_ctx.autoescape)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._plain_output(frame):
            self.write("environment.printable(")
        else:
            super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._plain_output(frame):
            self.write(")")
        else:
            super()._output_child_post(node, frame, finalize)


class Environment(ImmutableSandboxedEnvironment):
    """The sandbox, where a mapping's keys win over its methods: `row.items` is a column."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=data_only,
        )
        self.bounded_join = bounded_join
        self.printable = printable
        for name in UNSAFE_GLOBALS:
            self.globals.pop(name, None)
        for name in UNSAFE_FILTERS:
            self.filters.pop(name, None)
        for name in SIZED_FILTERS:
            self.filters[name] = bounded_filter(name, self.filters[name])

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`text.format(...)` and `text.format_map(...)`, reached by attribute or item (Jinja
        wraps them at access, so `call` never sees the method), through BoundedFormatter."""
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None or type(value.__self__) is not str:
            return sandboxed
        text: str = value.__self__
        formatter = BoundedFormatter(self)
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    return sandboxed(*args, **kwargs)  # the TypeError Python gives
                result = formatter.vformat(text, (), args[0])
            else:
                result = formatter.vformat(text, args, kwargs)
            check_size(len(result))
            return result

        return update_wrapper(bounded, value)

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            check_repeat(left, right)
        elif operator == "**":
            check_power(left, right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                check_size(len(left) + len(right))
        elif operator == "%":
            check_format(left)
            if isinstance(left, str):
                check_text_of(right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: JinjaContext, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") == "replace":
            check_replace(owner, args)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):
            check_size(len(result))
        return result


WHERE_TRUE = frozenset({"true", "yes", "1"})
WHERE_HELPER = "__kept"


def kept(value: Any) -> bool:
    """Whether a `where:` value keeps its row: text reads as yes/no words, anything else as bool."""
    if isinstance(value, str):
        return value.strip().lower() in WHERE_TRUE
    return bool(value)


ENV = Environment()
ENV.filters[WHERE_HELPER] = kept
GLOBALS: Context = dict(ENV.globals)


class Deadline:
    """Interrupts a render that runs past TEMPLATE_SECONDS.

    One interval timer per process (SIGALRM, armed while rows are expanded, in the main thread)
    looks at when the current render started; a render costs only two attribute stores.
    """

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = TEMPLATE_SECONDS
        self.depth = 0
        self._previous: Any = None

    def _on_alarm(self, _signum: int, _frame: FrameType | None) -> None:
        started = self.started
        if started and time.monotonic() - started > self.seconds:
            # raised again at every tick until the render ends, even if something swallows it
            raise TemplateLimit(f"took longer than {self.seconds:g} s")

    def arm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if self.depth == 0:
            self.seconds = TEMPLATE_SECONDS
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            tick = self.seconds / 4
            signal.setitimer(signal.ITIMER_REAL, tick, tick)
        self.depth += 1

    def disarm(self) -> None:
        if self.depth == 0:
            return
        self.depth -= 1
        if self.depth == 0:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)


DEADLINE = Deadline()


def is_template(text: str) -> bool:
    return SYNTAX.search(text) is not None


@dataclass(frozen=True)
class Reference:
    """A name a template reads: ("row", "company"), ("vars", "product") or ("free", "foo")."""

    scope: str
    name: str


class TemplateFault(Exception):
    """A template that cannot compile; carries Jinja's line within the template."""

    def __init__(self, message: str, line: int, syntax: bool = True) -> None:
        self.line = line
        self.what = "template syntax error" if syntax else "template error"
        super().__init__(message)


@dataclass(frozen=True)
class CompiledTemplate:
    source: str
    render: Renderer
    references: frozenset[Reference]


def parse(source: str) -> nodes.Template:
    """The syntax tree, refusing filters and tests the sandbox does not have."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateFault(exc.message or "syntax error", exc.lineno) from None
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = ENV.filters if isinstance(node, nodes.Filter) else ENV.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            name = node.name
            raise TemplateFault(f"no {kind} named {name!r}", node.lineno, syntax=False)
    return tree


def compile_template(source: str) -> CompiledTemplate:
    tree = parse(source)
    try:
        render = renderer_for(source)
    except TemplateSyntaxError as exc:
        raise TemplateFault(exc.message or "syntax error", exc.lineno) from None
    return CompiledTemplate(source, render, frozenset(references(tree)))


def renderer_for(source: str) -> Renderer:
    """A plain `{{ row.x }}` is a dict lookup; anything else goes through Jinja."""
    simple = SIMPLE_LOOKUP.match(source)
    if simple:
        scope, name, key = simple.groups()
        if key:
            return lambda context: str(context["key"])
        return lambda context: str(context[scope][name])
    return jinja_renderer(source)


def jinja_renderer(source: str) -> Renderer:
    """Renders with a bare Jinja context: the row context holds the globals (see row_context)."""
    template = ENV.from_string(source)
    root = template.root_render_func
    context_class = ENV.context_class

    def render(context: Context) -> str:
        DEADLINE.started = time.monotonic()
        BUILT.chars = 0
        try:
            pieces = list(islice(root(context_class(ENV, context, None, {})), MAX_OUTPUT_PIECES))
            if len(pieces) == MAX_OUTPUT_PIECES:
                raise too_long(MAX_FIELD_CHARS + 1)
            text = "".join(pieces)
            if len(text) > MAX_FIELD_CHARS:
                raise too_long(len(text))
            return text
        finally:
            DEADLINE.started = 0.0

    return render


def row_context(row: dict[str, str], variables: dict[str, Any], key: str) -> Context:
    """What every template of a row sees: row, vars, key and the sandbox's globals."""
    context = dict(GLOBALS)
    context["row"], context["vars"], context["key"] = row, variables, key
    return context


def unwrap_expression(source: str) -> str:
    inner = source.strip()
    if inner.startswith("{{") and inner.endswith("}}") and inner.count("{{") == 1:
        inner = inner[2:-2]
    return inner


def compile_expression(source: str) -> Callable[[Context], Any]:
    """`where:` is an expression; `{{ ... }}` around it is optional."""
    inner = unwrap_expression(source)
    parse("{{ " + inner + " }}")
    try:
        expression = ENV.compile_expression(inner, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateFault(exc.message or "syntax error", exc.lineno) from None
    template = expression._template
    root = template.root_render_func
    context_class = ENV.context_class

    def evaluate(context: Context) -> Any:
        jinja_context = context_class(ENV, context, None, {})
        DEADLINE.started = time.monotonic()
        BUILT.chars = 0
        try:
            for _ in root(jinja_context):
                pass
        finally:
            DEADLINE.started = 0.0
        return jinja_context.vars["result"]

    return evaluate


def expression_references(source: str) -> frozenset[Reference]:
    inner = source.strip()
    if not (inner.startswith("{{") or inner.startswith("{%")):
        inner = "{{ " + inner + " }}"
    return frozenset(references(ENV.parse(inner)))


def references(tree: nodes.Template) -> Iterator[Reference]:
    for name in meta.find_undeclared_variables(tree) - CONTEXT_NAMES - set(ENV.globals):
        yield Reference("free", name)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node  # type: ignore[attr-defined]
        if not (isinstance(target, nodes.Name) and target.name in ("row", "vars")):
            continue
        if isinstance(node, nodes.Getattr):
            yield Reference(target.name, node.attr)
        elif isinstance(node, nodes.Getitem):
            index = node.arg
            if isinstance(index, nodes.Const) and isinstance(index.value, str):
                yield Reference(target.name, index.value)


def control_character(text: str, one_line: bool = False) -> str | None:
    """'U+0000' for the first control character other than tab and newlines (with one_line,
    for keys and titles, those too), if any."""
    found = (ANY_CONTROL if one_line else CONTROL).search(text)
    return f"U+{ord(found.group()):04X}" if found else None
