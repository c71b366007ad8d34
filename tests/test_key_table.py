"""plan's key table (state/view.py): every lean row is found by its key, and only by it."""

from __future__ import annotations

import random
import zlib
from array import array
from itertools import accumulate

import pytest

from heyrender.state.planindex import tag_bits
from heyrender.state.view import finder, key_table, table_size
from tests.test_review_plan_index import crc_twins


def packed(keys: list[str]) -> tuple[array[int], bytearray, array[int]]:
    """finder's arguments: the key table, the keys end to end, where each ends."""
    encoded = [key.encode("utf-8", "surrogatepass") for key in keys]
    ends = array("I", accumulate(map(len, encoded)))
    table = key_table(array("I", map(zlib.crc32, encoded)))
    return table, bytearray(b"".join(encoded)), ends


@pytest.mark.parametrize("count", [0, 1, 2, 11, 12, 1000, 5000])
def test_every_key_is_found_at_its_row_and_no_other_key_is(count: int) -> None:
    rng = random.Random(count)
    keys = sorted({f"{rng.getrandbits(40):x}@x.io" for _ in range(count)})
    keys += [twin for pair in crc_twins(3) for twin in pair]  # equal hashes, other keys
    keys += ["", "ü✓@x.io", "\ud800"]
    find = finder(*packed(keys))
    assert [find(key) for key in keys] == list(range(len(keys)))
    absent = [f"{rng.getrandbits(40):x}@y.io" for _ in range(200)] + ["p@x.io", keys[-4] + " "]
    assert all(find(key) == -1 for key in absent)


def test_a_third_of_the_slots_or_more_stay_empty() -> None:
    for rows in (0, 1, 10, 11, 1000, 2**20, 10**6):
        size = table_size(rows)
        assert size & (size - 1) == 0 and 3 * rows <= 2 * size


def test_a_slot_holds_its_row_above_a_tag_of_its_hash() -> None:
    keys = [f"k{i}" for i in range(300)]
    table, _, _ = packed(keys)
    tags = tag_bits(len(keys))
    assert tags == 32 - 9
    rows = sorted(entry >> tags for entry in table if entry)
    assert rows == list(range(1, 301))
    for entry in filter(None, table):
        key = keys[(entry >> tags) - 1].encode()
        assert entry & ((1 << tags) - 1) == zlib.crc32(key) >> (32 - tags)


def test_a_slot_that_names_no_row_reads_as_a_miss() -> None:
    """Only a forged table holds one; it must not crash a search, even with one row."""
    table, keys, ends = packed(["only@x.io"])
    value = zlib.crc32(b"only@x.io")
    home = value & (len(table) - 1)
    before = (home - 1) % len(table)
    assert table[home] and not table[before]
    for key in ("only@x.io", "other@x.io"):
        forged = zlib.crc32(key.encode()) >> (32 - tag_bits(1))  # its tag, and no row
        table[before] = forged
        table[home], table[(home + 1) % len(table)] = forged, table[home]  # the row one on
        find = finder(table, keys, ends)
        assert find("only@x.io") == 0
        assert find("other@x.io") == -1
        table = packed(["only@x.io"])[0]
