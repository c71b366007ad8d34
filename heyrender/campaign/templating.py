"""Compiling manifest strings into renderers: Jinja in a sandbox, compiled once per field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONTEXT_NAMES = frozenset({"row", "vars", "key"})
SYNTAX = re.compile(r"\{\{|\{%|\{#")
SIMPLE_LOOKUP = re.compile(r"^\{\{\s*(row|vars)\.([A-Za-z_]\w*)\s*\}\}$|^\{\{\s*(key)\s*\}\}$")

Context = dict[str, Any]
Renderer = Callable[[Context], str]


class Environment(ImmutableSandboxedEnvironment):
    """The sandbox, where a mapping's keys win over its methods: `row.items` is a column."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def is_template(text: str) -> bool:
    return SYNTAX.search(text) is not None


@dataclass(frozen=True)
class Reference:
    """A name a template reads: ("row", "company"), ("vars", "product") or ("free", "foo")."""

    scope: str
    name: str


class TemplateFault(Exception):
    """A template that cannot compile; carries Jinja's line within the template."""

    def __init__(self, message: str, line: int) -> None:
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class CompiledTemplate:
    source: str
    render: Renderer
    references: frozenset[Reference]


def compile_template(source: str) -> CompiledTemplate:
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateFault(exc.message or "syntax error", exc.lineno) from None
    return CompiledTemplate(source, renderer_for(source), frozenset(references(tree)))


def renderer_for(source: str) -> Renderer:
    """A plain `{{ row.x }}` is a dict lookup; anything else goes through Jinja."""
    simple = SIMPLE_LOOKUP.match(source)
    if simple:
        scope, name, key = simple.groups()
        if key:
            return lambda context: str(context["key"])
        return lambda context: str(context[scope][name])
    template = ENV.from_string(source)
    return template.render


def compile_expression(source: str) -> Callable[[Context], Any]:
    """`where:` is an expression; `{{ ... }}` around it is optional."""
    inner = source.strip()
    if inner.startswith("{{") and inner.endswith("}}") and inner.count("{{") == 1:
        inner = inner[2:-2]
    try:
        expression = ENV.compile_expression(inner, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateFault(exc.message or "syntax error", exc.lineno) from None
    return lambda context: expression(**context)


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
