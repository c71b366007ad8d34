"""A block of lockfile lines decoded together (orjson, one schema call) gives exactly what the
line path (json's decoder, Python's checks) gives: the same values of the same types, or the
same error naming the same line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from heyrender.errors import LockfileError
from heyrender.state import lockfile

PATH = Path("m.lock")
HUGE = 123456789012345678901234567890


def typed(value: Any) -> Any:
    """The value with every number's type kept, so 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return {name: typed(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [typed(item) for item in value]]
    return (type(value).__name__, repr(value))


def outcome(read: Any) -> Any:
    try:
        return typed(read())
    except LockfileError as exc:
        return ("error", str(exc))


def line_by_line(block: bytes, count: int) -> list[tuple[int, dict[str, Any]]]:
    lines = block.split(b"\n")[:count]
    return [
        (number, lockfile.checked(lockfile.parse_line(raw, PATH, number), PATH, number))
        for number, raw in enumerate(lines, 2)
        if raw.strip()
    ]


def both(block: bytes) -> tuple[Any, Any]:
    count = block.count(b"\n") + (not block.endswith(b"\n"))
    together = outcome(lambda: lockfile.checked_block(block, count, 2, PATH, ""))
    return together, outcome(lambda: line_by_line(block, count))


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": "dana@acme.io",
        "request": "sha256:" + "a" * 64,
        "status": "completed",
        "video_id": "v1",
        "duration": 12.5,
        "attempt": 1,
    }
    return base | changes


def block_of(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def test_integers_past_64_bits_keep_their_type_and_value():
    for value in (HUGE, -HUGE, 2**63, -(2**63) - 1, 2**64):
        for name in ("attempt", "duration"):
            together, alone = both(block_of(row(), row(key="li@x.io", **{name: value})))
            assert together == alone
    block = block_of(row(attempt=HUGE))
    [(_, read)] = lockfile.checked_block(block, 1, 2, PATH, "")
    assert type(read["attempt"]) is int and read["attempt"] == HUGE


def test_what_orjson_refuses_goes_the_line_path():
    texts = [
        block_of(row()).replace(b"12.5", b"1e400"),  # json reads infinity, then refuses it
        block_of(row()).replace(b"12.5", b"NaN"),
        json.dumps(row(title="a\U0001f600")).encode() + b"\n",  # escaped as a surrogate pair
        block_of(row()).replace(b'"v1"', b'"\\ud800"'),
        block_of(row()).replace(b'"v1"', b'"\\udc00\\ud800"'),  # a pair the wrong way round
        block_of(row()).replace(b'"v1"', b'"a\\udfffb"'),
        block_of(row()).replace(b'"dana', b'"\\ud83d dana'),  # in the key
        block_of(row()).replace(b'"v1"', b'"\xff"'),
    ]
    for block in texts:
        together, alone = both(block)
        assert together == alone, block


NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 1.0, 2**63 - 1, 2**63, -(2**63), 1e16, 5e-324]),
)
VALUES = st.one_of(NUMBERS, st.text(max_size=8), st.none(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "duration": VALUES,
                "attempt": VALUES,
                "title": st.one_of(st.text(max_size=12), NUMBERS),
                "video_id": st.one_of(st.text(min_size=1, max_size=6), st.none()),
                "status": st.sampled_from(["completed", "failed", "processing", "done"]),
            },
        ),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_any_block_reads_as_its_lines_do(changes, ascii_only):
    rows = [row(key=f"k{i}@x.io", **change) for i, change in enumerate(changes)]
    block = "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in rows).encode()
    together, alone = both(block)
    assert together == alone


def test_a_block_whose_lines_are_not_one_object_each_goes_the_line_path():
    one, two = (json.dumps(row(key=k)).encode() for k in ("a@x.io", "b@x.io"))
    texts = [
        one + b"\n\n" + two + b"\n",  # a blank line between
        one + b"\n \n" + two + b"\n",
        one + b"," + two + b"\n" + two.replace(b"b@x", b"c@x") + b"\n",  # two on one line
        one[:40] + b"\n" + one[40:] + b"\n",  # one cut in two
        one + b" \n" + two + b"\n",  # a space before the line feed
        one + b"\n" + two + b"\n\n",
        b"[" + one + b"]\n",
        # a row cut in its video ID after a "}", beside a line holding two: as many rows as
        # lines, and "}\n{" between each two
        one.split(b'"v1"')[0] + b'"}\n{", "attempt": 1}\n' + one + b"," + two + b"\n",
    ]
    for block in texts:
        together, alone = both(block)
        assert together == alone, block
