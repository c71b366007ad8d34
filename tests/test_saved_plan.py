"""plan --out: a saved plan records what it would do and the inputs it was made from."""

from __future__ import annotations

import json

import pytest

from heyrender.errors import InputError, StalePlan
from heyrender.run import saved_plan
from heyrender.state import lockfile


def test_plan_out_writes_each_row_action_request_estimate_and_input_hashes(campaign, cli) -> None:
    path = campaign()
    result = cli("plan", path, "--out", path.parent / "reviewed.plan")
    assert result.exit_code == 0, result.output
    assert "Saved the plan to" in result.stdout
    text = (path.parent / "reviewed.plan").read_text()
    data = json.loads(text)
    assert data["heyrender_plan"] == 1
    assert data["manifest"] == "m.yaml"
    assert set(data["inputs"]) == {"manifest", "csv", "lockfile"}
    assert data["inputs"]["lockfile"] is None
    assert data["estimate"]["rows"] == 2 and data["estimate"]["unknown_rows"] == 0
    assert [(r["key"], r["action"]) for r in data["rows"]] == [
        ("dana@acme.io", "create"),
        ("li@globex.com", "create"),
    ]
    assert all(r["request"].startswith("sha256:") for r in data["rows"])
    assert len(text.splitlines()) == 4  # one line per row: reviewable in a git diff

    saved, manifest = saved_plan.load_fresh(path.parent / "reviewed.plan")
    assert manifest.path == path
    assert saved.to_submit == ("dana@acme.io", "li@globex.com")
    assert saved_plan.is_saved_plan(path.parent / "reviewed.plan")
    assert not saved_plan.is_saved_plan(path)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p.write_text(p.read_text() + "name: renamed\n"), "manifest m.yaml"),
        (
            lambda p: (p.parent / "people.csv").write_text("email,name,avatar\nx@y,X,a\n"),
            "CSV people.csv",
        ),
        (
            lambda p: lockfile.save(
                p.with_suffix(".lock"),
                {"x": lockfile.Entry("x", "sha256:0", "completed")},
                p.name,
            ),
            "lockfile m.lock",
        ),
        (
            lambda p: p.with_suffix(".lock.journal").write_text(
                '{"key": "x", "request": "sha256:0", "status": "submitting"}\n'
            ),
            "lockfile m.lock",
        ),
    ],
)
def test_a_changed_input_makes_the_plan_stale(campaign, cli, change, named) -> None:
    path = campaign()
    plan_file = path.parent / "p.plan"
    assert cli("plan", path, "--out", plan_file).exit_code == 0
    change(path)
    with pytest.raises(StalePlan) as raised:
        saved_plan.load_fresh(plan_file)
    assert raised.value.message == (
        f"stale plan: p.plan was made from a different {named}; nothing was submitted"
    )
    assert raised.value.hint == f"review it again: heyrender plan {path} --out {plan_file}"


def test_two_changed_inputs_are_both_named(campaign, cli) -> None:
    path = campaign()
    plan_file = path.parent / "p.plan"
    cli("plan", path, "--out", plan_file)
    path.write_text(path.read_text() + "\n")
    (path.parent / "people.csv").write_text("email,name,avatar\n")
    with pytest.raises(StalePlan, match=r"different manifest m\.yaml and CSV people\.csv;"):
        saved_plan.load_fresh(plan_file)


def test_a_plan_in_another_folder_finds_its_manifest(campaign, cli, tmp_path) -> None:
    path = campaign()
    (tmp_path / "plans").mkdir()
    cli("plan", path, "--out", tmp_path / "plans" / "p.plan")
    assert json.loads((tmp_path / "plans" / "p.plan").read_text())["manifest"] == "../m.yaml"
    _, manifest = saved_plan.load_fresh(tmp_path / "plans" / "p.plan")
    assert manifest.path.resolve() == path.resolve()


def test_a_file_that_is_not_a_plan_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "x.plan"
    bad.write_text("not json")
    with pytest.raises(InputError, match=r"x.plan: not a saved plan \(not JSON\)"):
        saved_plan.load(bad)
    bad.write_text('{"heyrender_plan": 9}')
    with pytest.raises(InputError, match="saved plan format 9 is not one this heyrender reads"):
        saved_plan.load(bad)


def test_plan_out_never_overwrites_its_own_inputs(campaign, cli) -> None:
    path = campaign()
    before = path.read_text()
    for target in (path, path.parent / "people.csv", path.with_suffix(".lock")):
        result = cli("plan", path, "--out", target)
        assert result.exit_code == 1
        assert "; nothing was written\nHint: choose another file" in result.stderr
    assert path.read_text() == before
    assert not path.with_suffix(".lock").exists()


def test_a_row_whose_request_changed_makes_the_plan_stale(campaign, cli) -> None:
    from dataclasses import replace

    from heyrender.campaign.rows import Campaign

    path = campaign()
    cli("plan", path, "--out", path.parent / "p.plan")
    saved, manifest = saved_plan.load_fresh(path.parent / "p.plan")
    rows = list(Campaign.expand(manifest).rows)
    saved_plan.check_requests(saved, rows)
    rows[1] = replace(rows[1], request="sha256:" + "0" * 64)
    with pytest.raises(StalePlan) as raised:
        saved_plan.check_requests(saved, rows)
    assert raised.value.message == (
        "stale plan: p.plan was made from a different request for li@globex.com "
        "(a local media file changed?); nothing was submitted"
    )
