"""validate split across processes reports exactly what one process reports, in row order."""

from __future__ import annotations

import csv
import io

import pytest

from heyrender.campaign import parallel
from heyrender.campaign.csvsource import CsvSource
from heyrender.campaign.manifest import load
from heyrender.campaign.validate import validate
from heyrender.errors import CsvError
from tests.conftest import BASE_MANIFEST

MANIFEST = BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ row.voice }}"') + (
    '  title: "{{ row.title }}"\n'
    "  background:\n"
    "    type: \"{{ 'image' if row.bg else 'color' }}\"\n"
    '    url: "{{ row.bg }}"\n'
    "    value: \"{{ '' if row.bg else '#0a0a0a' }}\"\n"
)


def people(rows: int, fault=None) -> str:
    """A CSV with multi-line quoted names on every third row; `fault(i, cells)` edits a row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "avatar", "voice", "title", "bg"])
    for i in range(rows):
        name = f'Name {i}\nsecond line, with a "quote"\n' if i % 3 == 0 else f"N{i}"
        cells = [f"p{i}@x", name, f"a{i % 5}", "v1", f"T{i}", f"https://b/{i}" if i % 2 else ""]
        if fault:
            fault(i, cells)
        writer.writerow(cells)
    return out.getvalue()


@pytest.fixture(autouse=True)
def split_small_files(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)


def outcome(path, workers: int):
    try:
        result = validate(load(path), workers=workers)
    except CsvError as exc:
        return "error", exc.message
    return (
        result.valid,
        result.invalid,
        result.filtered_out,
        [str(problem) for problem in result.problems],
    )


def both(path, workers: int = 4):
    serial, split = outcome(path, 1), outcome(path, workers)
    assert split == serial
    if serial[0] != "error" or "malformed" not in serial[1]:
        assert parallel.validate(load(path), workers) is not None, "fell back to one process"
    return serial


def test_spans_start_at_record_boundaries_even_inside_quoted_newlines(campaign) -> None:
    path = load(campaign(MANIFEST, people(300))).source.csv
    for parts in (2, 3, 7, 16):
        cut = parallel.spans(path, parts)
        assert cut is not None and len(cut) >= 2
        keys = []
        for span in cut:
            with CsvSource(path, span) as source:
                keys.extend((row.values["email"], row.line) for row in source)
        with CsvSource(path) as whole:
            assert keys == [(row.values["email"], row.line) for row in whole]


def test_a_cut_that_lands_inside_a_quoted_field_moves_past_it(tmp_path) -> None:
    text = "k,v\n" + "a," + '"' + "x\n" * 50 + '"\n' + "b,y\n"
    path = tmp_path / "c.csv"
    path.write_text(text)
    cut = parallel.spans(path, 2)
    assert cut is not None
    assert text[cut[1].start :] == "b,y\n" and cut[1].line == 53


def test_valid_rows_are_counted_alike(campaign) -> None:
    valid, invalid, _, problems = both(campaign(MANIFEST, people(400)))
    assert (valid, invalid, problems) == (400, 0, [])


def test_invalid_rows_are_reported_in_row_order_with_the_same_sentences(campaign) -> None:
    def fault(i: int, cells: list[str]) -> None:
        if i % 7 == 0:
            cells[2] = ""  # no avatar: no image source, invalid on either API
        if i % 11 == 0:
            cells[5] = "not a url" if i % 2 else ""
            cells[2] = ""

    _, invalid, _, problems = both(campaign(MANIFEST, people(400, fault)))
    assert invalid > 50 and problems
    lines = [int(p.split(" line ")[1].split(")")[0]) for p in problems]
    assert lines == sorted(lines)


def test_where_filter_counts_alike(campaign) -> None:
    manifest = MANIFEST.replace("  key: email\n", "  key: email\n  where: \"row.avatar != 'a0'\"\n")
    valid, _, filtered, _ = both(campaign(manifest, people(400)))
    assert filtered == 80 and valid == 320


def test_duplicate_keys_across_spans_are_found(campaign) -> None:
    def fault(i: int, cells: list[str]) -> None:
        if i in (3, 390):
            cells[0] = "same@x"
        if i in (5, 200, 399):
            cells[0] = "twice@x"

    kind, message = both(campaign(MANIFEST, people(400, fault)))
    assert kind == "error"
    assert "duplicate email: twice@x (lines 11, 336, 667); same@x (lines 7, 652)" in message


def test_repeated_titles_across_spans_are_found(campaign) -> None:
    def fault(i: int, cells: list[str]) -> None:
        if i in (1, 398):
            cells[4] = "Same title"

    kind, message = both(campaign(MANIFEST, people(400, fault)))
    assert kind == "error"
    assert "'Same title' (rows p1@x line " in message and "p398@x line " in message


def test_a_malformed_csv_reports_the_serial_error(campaign) -> None:
    text = people(400) + '"unterminated,x,a1,v1,T,\n'
    kind, message = both(campaign(MANIFEST, text))
    assert kind == "error" and "malformed CSV" in message


def test_crlf_line_ends_split_alike(campaign) -> None:
    text = people(300).replace("\n", "\r\n")
    valid, invalid, _, problems = both(campaign(MANIFEST, text.encode()))
    assert (valid, invalid, problems) == (300, 0, [])


def test_bare_carriage_returns_stay_in_one_process(campaign) -> None:
    path = campaign(MANIFEST, people(300).replace("\n", "\r").encode())
    assert parallel.validate(load(path), 4) is None


def test_repeats_across_sorted_runs_are_found_at_any_range_edge(monkeypatch) -> None:
    from array import array

    from heyrender.campaign import repeats

    monkeypatch.setattr(repeats, "CHUNK", 4)
    first = array("q", sorted([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 19]))
    second = array("q", sorted([2, 4, 9, 10, 12, 14, 16, 17, 21]))
    assert repeats.repeats_in_runs([first, second]) == {9, 17, 19}
    assert repeats.repeats_in_runs([first[:-1], array("q", [0, 30])]) == set()
