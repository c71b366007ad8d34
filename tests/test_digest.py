"""The request hash's fast path writes exactly the text of its definition, canonical_json."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heyrender.campaign.digest import canonical_bytes, canonical_json, digest, may_differ
from heyrender.errors import HeyrenderError

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
bodies = st.dictionaries(st.text(), values, max_size=8)


def reference(body: dict[str, object]) -> bytes:
    return canonical_json(body).encode()


@settings(max_examples=500)
@given(bodies)
def test_the_fast_text_is_the_canonical_text(body: dict[str, object]) -> None:
    try:
        expected = reference(body)
    except UnicodeEncodeError:  # half a surrogate pair: neither path can hash it
        with pytest.raises(UnicodeEncodeError):
            canonical_bytes(body)
        return
    assert canonical_bytes(body) == expected


@pytest.mark.parametrize(
    "number",
    [
        1e16,
        1.5e17,
        -1e16,
        9999999999999998.0,
        1e-4,
        9.99e-5,
        2e-5,
        -2.1e-05,
        4.2e-08,
        5e-324,
        1.7976931348623157e308,
        0.1,
        -0.0,
        123456.789,
        10**19,
        -(2**63) - 1,
        2**64,
    ],
)
def test_numbers_where_orjson_writes_another_text_take_the_canonical_one(number: float) -> None:
    body = {"voice_settings": {"speed": number}, "a": [number]}
    assert canonical_bytes(body) == reference(body)


def test_a_string_that_looks_like_a_number_only_slows_the_hash() -> None:
    body = {"script": "A 4e5 engine, null and void, 0.00001 %"}
    assert may_differ(body["script"].encode())
    assert canonical_bytes(body) == reference(body)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_number_json_cannot_carry_is_refused(number: float) -> None:
    with pytest.raises(HeyrenderError, match="cannot be hashed or sent"):
        digest({"voice_settings": {"speed": number}})


def test_the_digest_is_sha256_of_the_canonical_text() -> None:
    import hashlib

    body = {"title": "Ünïcode \u2028 😀", "b": [1, 2.5, None, True], "a": {"z": 1, "y": ""}}
    assert digest(body) == hashlib.sha256(reference(body)).digest()


def test_the_installed_orjson_is_one_the_fast_path_trusts() -> None:
    from heyrender.campaign.digest import FAST

    assert FAST
