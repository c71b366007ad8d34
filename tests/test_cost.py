"""The cost model: durations from scripts, prices by avatar kind, unknown audio rows, budgets."""

from __future__ import annotations

import json

import pytest

from heyrender.campaign.cost import AvatarKind, CostModel, Estimate, Rates, RowCost
from heyrender.errors import OverBudget
from heyrender.run.budget import Budget, check_balance

TEN_WORDS = "one two three four five six seven eight nine ten"


def test_a_script_lasts_its_words_at_150_a_minute_divided_by_speed() -> None:
    model = CostModel()
    assert model.seconds({"script": TEN_WORDS}) == pytest.approx(4.0)
    slow = {"script": TEN_WORDS, "voice_settings": {"speed": 0.5}}
    assert model.seconds(slow) == pytest.approx(8.0)
    assert CostModel(words_per_minute=300).seconds({"script": TEN_WORDS}) == pytest.approx(2.0)


def test_audio_rows_have_no_known_duration() -> None:
    model = CostModel()
    for body in ({"audio_url": "https://x/a.mp3"}, {"audio_asset_id": "a1"}):
        cost = model.row({"avatar_id": "a", **body})
        assert cost.seconds is None and cost.usd is None
        assert cost.usd_max == pytest.approx(600 * 0.0667)


@pytest.mark.parametrize(
    ("body", "kind", "rate"),
    [
        ({"avatar_id": "a"}, AvatarKind.STUDIO, 0.0667),
        ({"avatar_id": "a", "resolution": "4k"}, AvatarKind.STUDIO, 0.0833),
        ({"image_url": "https://x/p.png"}, AvatarKind.PHOTO, 0.05),
        ({"image_asset_id": "i1", "resolution": "720p"}, AvatarKind.PHOTO, 0.05),
        ({"type": "image", "image": {"type": "url"}, "resolution": "4k"}, AvatarKind.PHOTO, 0.0667),
    ],
)
def test_price_per_second_by_avatar_kind_and_resolution(body, kind, rate) -> None:
    cost = CostModel().row({**body, "script": TEN_WORDS})
    assert (cost.kind, cost.rate) == (kind, rate)
    assert cost.usd == pytest.approx(4.0 * rate)


def test_the_manifest_says_an_avatar_id_is_a_photo_avatar_and_overrides_rates() -> None:
    model = CostModel.from_section(
        {"words_per_minute": 120, "avatar_id_kind": "photo", "rates": {"photo": 0.1}}
    )
    cost = model.row({"avatar_id": "a", "script": TEN_WORDS})
    assert cost.kind is AvatarKind.PHOTO
    assert cost.usd == pytest.approx(5.0 * 0.1)
    assert model.rates == Rates(photo=0.1)


def test_an_estimate_with_unknown_rows_is_a_range() -> None:
    known = RowCost(30.0, 0.05, AvatarKind.PHOTO)
    unknown = RowCost(None, 0.05, AvatarKind.PHOTO)
    estimate = Estimate.of([known, known, unknown])
    assert (estimate.rows, estimate.unknown_rows) == (3, 1)
    assert estimate.seconds == pytest.approx(60.0)
    assert estimate.usd == pytest.approx(3.0)
    assert estimate.usd_max == pytest.approx(3.0 + 600 * 0.05)
    assert estimate.describe() == (
        "3 videos, $3.00 to $33.00: 2 with a script, about 1m 00s and $3.00; 1 speaks an "
        "audio file of unknown length, up to $30.00 at HeyGen's 10-minute limit"
    )
    assert Estimate.from_json(estimate.to_json()) == Estimate(3, 60.0, 3.0, 1, 660.0, 33.0)


def test_budget_refuses_to_start_over_the_limit() -> None:
    with pytest.raises(OverBudget, match=r"above --max-cost \$1.00; nothing was submitted"):
        Budget(1.0).check_start(Estimate(rows=3, seconds=60, usd=4.0))
    Budget(5.0).check_start(Estimate(rows=3, seconds=60, usd=4.0))


def test_budget_stops_admitting_once_the_next_row_would_pass_the_limit() -> None:
    budget = Budget(1.0)
    row = RowCost(6.0, 0.05, AvatarKind.PHOTO)  # $0.30
    assert [budget.admit(row) for _ in range(5)] == [True, True, True, False, False]
    assert budget.spent_usd == pytest.approx(0.9)
    assert budget.stop_reason(2) == (
        "--max-cost $1.00 reached: $0.90 estimated for what was submitted; 2 rows left"
    )


def test_budget_charges_an_unknown_row_at_its_most() -> None:
    budget = Budget(10.0)
    assert not budget.admit(RowCost(None, 0.05, AvatarKind.PHOTO))  # up to $30


def test_balance_check() -> None:
    estimate = Estimate(rows=2, seconds=100, usd=6.67)
    check_balance(estimate, None, source="balance")
    check_balance(estimate, 7.0, source="wallet balance")
    with pytest.raises(OverBudget, match=r"above the account's wallet balance \(\$5.00\)"):
        check_balance(estimate, 5.0, source="wallet balance")


MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
cost:
  words_per_minute: 120
  rates:
    studio: 0.1
video:
  avatar_id: a1
  voice_id: v1
  script: "{{ row.script }}"
  audio_url: "{{ row.audio }}"
  voice_settings:
    speed: "{{ row.speed }}"
"""

CSV = f"""\
email,script,audio,speed
a@x.io,{TEN_WORDS},,1
b@x.io,{TEN_WORDS} {TEN_WORDS},,0.5
c@x.io,,https://x/c.mp3,
"""


def test_plan_shows_the_estimate_in_text_and_json(campaign, cli) -> None:
    path = campaign(MANIFEST, CSV)
    text = cli("plan", path)
    assert text.exit_code == 0, text.output
    # a: 10 words at 120 wpm = 5 s; b: 20 words at 60 wpm = 20 s; c: audio, unknown
    assert (
        "Estimate: 3 videos, $2.50 to $62.50: 2 with a script, about 25s and $2.50; 1 speaks "
        "an audio file of unknown length, up to $60.00 at HeyGen's 10-minute limit.\n"
        in text.stdout
    )
    data = json.loads(cli("plan", path, "--json").stdout)
    assert data["estimate"] == {
        "rows": 3,
        "seconds": 25.0,
        "usd": 2.5,
        "unknown_rows": 1,
        "seconds_max": 625.0,
        "usd_max": 62.5,
    }


def test_a_bad_cost_section_names_its_line(campaign, cli) -> None:
    path = campaign(MANIFEST.replace("studio: 0.1", "studo: 0.1"), CSV)
    result = cli("plan", path)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: m.yaml line 8, column 12: cost.rates.studo: unknown field; did you mean studio?\n"
    )


def test_budget_gate_passes_rows_while_they_fit() -> None:
    budget = Budget(1.0)
    rows = [("a", RowCost(6.0, 0.05, AvatarKind.PHOTO))] * 5  # $0.30 each
    passed = list(budget.gate(rows, lambda row: row[1]))
    assert len(passed) == 3
    assert budget.refused == 1  # the gate stops at the first row that does not fit
