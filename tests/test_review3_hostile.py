"""Hostile review 3: inputs a demanding user (or a careless one) gives, each found to crash,
hang, exhaust memory or leak before its fix."""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import pytest

from heyrender.campaign import templating

CSV = "email,name,avatar\ndana@acme.io,Dana,a1\n"


def manifest_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "people.csv").write_text(CSV)
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# -- str.format widths: refused before the text is built ------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '{{ "{:>99999999}".format(1) }}',
        '{{ "{:099999999}".format(1) }}',
        '{{ "{:.99999999f}".format(1.0) }}',
        '{{ "{a:>99999999}".format(a=1) }}',
        '{{ "{0:{1}}".format(1, "99999999") }}',
        '{{ "{a:>99999999}".format_map({"a": 1}) }}',
        '{{ "%(a)99999999d" % {"a": 1} }}',
    ],
)
def test_a_huge_format_width_is_refused_before_it_is_built(source: str) -> None:
    render = templating.renderer_for(source)
    tracemalloc.start()
    try:
        with pytest.raises(templating.TemplateLimit, match="too wide"):
            render({"row": {}, "vars": {}, "key": "k"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # the 100 MB string is never made


def test_a_modest_format_width_still_renders() -> None:
    render = templating.renderer_for('{{ "{:>5}|{:.2f}|{a}".format(1, 2.5, a="x") }}')
    assert render({"row": {}, "vars": {}, "key": "k"}) == "    1|2.50|x"
    render = templating.renderer_for('{{ "{a}-{b:3}".format_map({"a": 1, "b": 2}) ~ "%5s" % "a" }}')
    assert render({"row": {}, "vars": {}, "key": "k"}) == "1-  2    a"


@pytest.mark.parametrize(
    "source",
    [
        '{{ ("x" * 99999)|list|join("y" * 99999) }}',
        '{{ ("x" * 99999)|join(d="y" * 99999) }}',
        '{{ ("\\n" * 99999)|indent("x" * 99999, true, true) }}',
        '{{ ("\\n" * 99999)|indent(999999, true, true) }}',
        '{{ ("x " * 50000)|wordwrap(1, wrapstring="y" * 99999) }}',
    ],
)
def test_a_filter_repeating_long_text_is_refused_before_it_is_built(source: str) -> None:
    render = templating.renderer_for(source)
    tracemalloc.start()
    try:
        with pytest.raises(templating.TemplateLimit, match="would render"):
            render({"row": {}, "vars": {}, "key": "k"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000  # not the 10 GB the text would take


def test_join_indent_and_wordwrap_still_work() -> None:
    source = '{{ ["a", "b"]|join(", ") }}|{{ "x\\ny"|indent(2) }}|{{ "aa bb"|wordwrap(2, wrapstring="/") }}'
    render = templating.renderer_for(source)
    assert render({"row": {}, "vars": {}, "key": "k"}) == "a, b|x\n  y|aa/bb"
