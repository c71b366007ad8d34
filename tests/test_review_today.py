"""A hostile review of the lockfile's orjson blocks, plan's named outdated rows, the lockfile's
bisection and report's orphaned cards: inputs a user can make that gave a wrong answer or a
traceback."""

from __future__ import annotations

from tests.test_diff import SPEEDY, record_as_rendered

CSV = "email,name,avatar\n" + "".join(f"p{i:02d}@x.io,N{i},a1\n" for i in range(5))


def test_a_key_twice_in_the_csv_of_an_outdated_campaign_is_named_not_a_traceback(campaign, cli):
    path = campaign(csv=CSV)
    record_as_rendered(path)
    campaign(SPEEDY, csv=CSV + "p01@x.io,Other,a1\n")
    for extra in ((), ("--json",), ("--all",)):
        result = cli("plan", path, *extra)
        assert result.exit_code != 0
        assert "duplicate email: p01@x.io (lines 3, 7)" in result.output
