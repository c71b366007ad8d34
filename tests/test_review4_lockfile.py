"""Hostile review of the lockfile's fast path: what the compiled row schema passes must be what
the line path's checks pass, or a hand-edited row is read one way in a block and refused (or
read otherwise) alone, and a time Python cannot read reaches the commands that parse it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heyrender.state import lockfile
from heyrender.state.lockfile import FIELD_ORDER
from tests.test_lockfile_decode import block_of, both, row

TIMES = [
    "2026-11-25T23:59:60Z",  # a leap second: RFC 3339 has it, Python's datetime does not
    "0000-01-01T00:00:00Z",  # year zero: likewise
    "2026-11-25T06:25:48Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-02-29T00:00:00Z",
    "2028-02-29T00:00:00Z",
    "2026-11-25T24:00:00Z",
]


@pytest.mark.parametrize("name", ["intent_at", "submitted_at", "finished_at"])
@pytest.mark.parametrize("time", TIMES)
def test_a_time_reads_in_a_block_as_it_reads_alone(name: str, time: str) -> None:
    together, alone = both(block_of(row(), row(key="li@x.io", **{name: time})))
    assert together == alone


@pytest.mark.parametrize("fields", [{"": "sha256:" + "0" * 64}, {"a": ""}, {"a": "b"}, {}])
def test_a_field_path_reads_in_a_block_as_it_reads_alone(fields) -> None:
    together, alone = both(block_of(row(), row(key="li@x.io", fields=fields)))
    assert together == alone


def test_a_leap_second_in_a_lockfile_is_an_error_naming_its_line(tmp_path) -> None:
    path = tmp_path / "m.lock"
    text = lockfile.header_line("m.yaml") + block_of(row(finished_at=TIMES[0])).decode()
    path.write_text(text)
    with pytest.raises(lockfile.LockfileError, match=r"line 2: .*finished_at"):
        lockfile.load(path, "m.yaml")


@pytest.mark.parametrize("status", [["completed"], {"completed": 1}, [], {}])
def test_a_status_that_is_a_list_or_an_object_is_an_error_not_a_traceback(tmp_path, status) -> None:
    together, alone = both(block_of(row(), row(key="li@x.io", status=status)))
    assert together == alone
    assert together[0] == "error" and "line 3: " in together[1] and "status" in together[1]


def test_plan_names_the_line_of_a_status_that_is_a_list(campaign, cli) -> None:
    manifest = campaign()
    text = lockfile.header_line(manifest.name) + block_of(row(status=["completed"])).decode()
    manifest.with_suffix(".lock").write_text(text)
    result = cli("plan", manifest)
    assert result.exit_code != 0
    assert "m.lock line 2: " in result.output and "status" in result.output, result.output


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 2**63, 2**64, -0.0, 1.0, 1.5, 1e308, 2**53 + 1]),
    st.sampled_from(
        [
            "",
            " ",
            "a",
            "\U0001f600",
            "\n",
            "completed",
            "failed",
            "processing",
            "COMPLETED",
            "2026-11-25T06:25:48Z",
            "2026-11-25T06:25:48+01:00",
            "2026-11-25T06:25:48",
            "2026-11-25T06:25:48.5Z",
            "sha256:" + "a" * 64,
            "abc:1",
            "a" * 256,
        ]
    ),
    st.text(max_size=4),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["", "a", "b.c"]), inner, max_size=2),
    ),
    max_leaves=4,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from([*FIELD_ORDER, "extra"]), VALUES, min_size=1, max_size=4))
def test_any_value_of_any_field_reads_in_a_block_as_it_reads_alone(changes) -> None:
    together, alone = both(block_of(row(), row(**{"key": "li@x.io", **changes})))
    assert together == alone
