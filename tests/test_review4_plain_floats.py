"""Hostile review of the request hash's fast path: whatever a CSV cell holds, every row's request
hash is the SHA-256 of canonical_json(body), whichever path built the body."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heyrender.campaign import manifest as manifests
from heyrender.campaign.digest import canonical_json, digest
from heyrender.campaign.expand import Expansion
from heyrender.campaign.rows import Campaign

MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: a1
  voice_id: v1
  script: "Hi {{ row.email }} {{ row.speed }}"
  remove_background: "{{ row.flag }}"
  voice_settings:
    speed: "{{ row.speed }}"
    pitch: "{{ row.pitch }}"
    volume: CONSTANT
"""

NUMBERISH = st.one_of(
    st.floats().map(repr),
    st.floats().map(lambda x: f"{x:.30g}"),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            "1e-5",
            "-0",
            "-0.0",
            "0.0001",
            "0.00009999",
            "1e400",
            "-1e400",
            "nan",
            "inf",
            "1_0",
            " 2 ",
            "1e308",
            "2e-308",
            "5e-324",
            "0e0",
            "1E-4",
            "١٢",
            "0x10",
            "",
            "9" * 40,
        ]
    ),
    st.from_regex(r"\A-?[0-9]{0,3}(\.[0-9]{0,8})?([eE][-+]?[0-9]{1,3})?\Z"),
)
FLAGS = st.sampled_from(["true", "false", "yes", "0", "", "maybe"])


def csv_text(rows: list[tuple[str, str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "speed", "pitch", "flag"])
    for index, (speed, pitch, flag) in enumerate(rows):
        writer.writerow([f"p{index}@x.io", speed, pitch, flag])
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(NUMBERISH, NUMBERISH, FLAGS), min_size=1, max_size=12),
    st.sampled_from(["0.5", "0.00001", "1", "-0.0", "1.0e-7", "'2.5e-5'"]),
    st.sampled_from(["", "api: v3\n"]),  # volume: a v3 field
)
def test_every_row_is_hashed_as_its_canonical_json(rows, constant, api) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "people.csv").write_text(csv_text(rows), newline="")
        (path / "m.yaml").write_text(api + MANIFEST.replace("CONSTANT", constant))
        manifest = manifests.load(path / "m.yaml")
        bodies = {}
        for row in Expansion(manifest):
            body = row.body or {}
            bodies[row.key] = body
            canonical = hashlib.sha256(canonical_json(body).encode()).digest()
            assert digest(body, row.plain_floats) == canonical, (body, row.plain_floats)
        for row in Campaign.expand(manifest).rows:
            expected = hashlib.sha256(canonical_json(bodies[row.key]).encode()).hexdigest()
            assert row.request == f"sha256:{expected}"
