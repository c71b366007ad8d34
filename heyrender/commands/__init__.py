"""What each CLI command does, as plain functions that return an exit code."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from heyrender.errors import HeyrenderError

if TYPE_CHECKING:
    from heyrender.campaign.manifest import Manifest
    from heyrender.run.options import ApplyOptions
    from heyrender.terminal import OutputSettings

# Each command imports what only it needs (the HTTP client, rich, the state store) when it
# runs, so `heyrender --help` and `heyrender validate` start quickly.


def load_manifest(path: str, allow_outside: bool = False) -> Manifest:
    from heyrender.campaign import manifest

    return manifest.load(path, allow_outside)


def validate(path: str, as_json: bool, allow_outside: bool = False) -> int:
    from heyrender.campaign.validate import validate as validate_manifest
    from heyrender.commands import output

    result = validate_manifest(load_manifest(path, allow_outside))
    if as_json:
        click.echo(output.validation_json(result))
    else:
        for line in output.validation_text(result):
            click.echo(line, err=line != result.summary())
    return 0 if result.ok else 1


def render(path: str, row_key: str | None, fmt: str, allow_outside: bool = False) -> int:
    from heyrender.campaign import media
    from heyrender.campaign.expand import Expansion
    from heyrender.campaign.validate import RowProblem, checked_rows
    from heyrender.commands import output
    from heyrender.state.assets import AssetStore

    manifest = load_manifest(path, allow_outside)
    expansion = Expansion(manifest)
    csv_name = manifest.source.csv.name
    found = invalid = 0
    assets = AssetStore.at(manifest.campaign.root)
    for row in checked_rows(expansion):
        if row_key is not None and row.key != row_key:
            continue
        found += 1
        for problem in row.problems:
            invalid += 1
            click.echo(str(RowProblem(row.key, csv_name, row.line, problem)), err=True)
        if row.body is None or row.problems:
            continue  # an invalid row is never sent, so it has no body to show
        row = replace(row, body=media.bind(row.body, row.media, media.shown_id(assets)))
        body = row.request_body
        assert body is not None
        if fmt == "json":
            click.echo(output.body_json(body, pretty=row_key is not None))
        else:
            click.echo(output.body_yaml(row, csv_name), nl=False)
    expansion.check_keys()
    if row_key is not None and not found:
        raise HeyrenderError(
            f"no row with {manifest.source.key} {row_key!r} in {csv_name}"
            + (" (or source.where leaves it out)" if manifest.source.where else "")
        )
    return 1 if invalid else 0


def echo(line: str) -> None:
    click.echo(line)


def warn(line: str) -> None:
    click.echo(line, err=True)


def plan(
    path: str,
    as_json: bool,
    show_all: bool,
    detailed_exitcode: bool,
    allow_outside: bool = False,
    out: str | None = None,
) -> int:
    from heyrender.campaign.rows import Campaign
    from heyrender.commands import output
    from heyrender.run import changes
    from heyrender.run.plan import DoneRows, diff
    from heyrender.state.view import plan_entries

    manifest = load_manifest(path, allow_outside)
    if out is not None:
        from heyrender.commands.destinations import check_file

        check_file(manifest, out)
    rendered: dict[str, dict[str, str]] = {}  # field hashes of outdated rows, as they render
    if as_json or show_all or out is not None:  # every key of every group
        campaign = Campaign.expand(manifest)
        entries = plan_entries(manifest.lockfile_path, manifest.path.name)
        result = diff(campaign.rows, entries)
    else:  # the rows already done are only counted, not kept
        entries = plan_entries(manifest.lockfile_path, manifest.path.name)
        done = DoneRows(entries, named=output.SHOWN_PER_GROUP)
        campaign = Campaign.expand(manifest, keep=done.keep)
        result = diff(campaign.rows, entries, output.SHOWN_PER_GROUP, done)
        rendered = done.outdated_fields
    files = campaign.media_files(list(result["create"]))
    if files:  # the upload machinery (and its HTTP client) is imported only when needed
        from heyrender.run.uploads import plan_uploads
        from heyrender.state.assets import AssetStore

        uploads = plan_uploads(files, AssetStore.at(manifest.campaign.root))
    cost = changes.estimate(campaign.rows, result["create"])
    # the fields that changed, for every outdated row listed: as text, only the first few
    named = (
        result["outdated"] if as_json or show_all else result["outdated"][: output.SHOWN_PER_GROUP]
    )
    recorded = changes.recorded_fields(manifest, named)
    current = rendered | changes.current_fields(
        manifest, [key for key in named if key not in rendered], campaign.rows
    )
    outdated = changes.changed_fields(current, recorded, named)
    if out is not None:
        from heyrender.run import saved_plan

        saved_plan.save(Path(out), manifest, result, campaign.rows, entries, cost)
    if as_json:
        data = result.to_json()
        if files:
            data["uploads"] = uploads.to_json()
        data["estimate"] = cost.to_json()
        data["changed_fields"] = {k: None if v is None else list(v) for k, v in outdated.items()}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        title = f"Plan for {manifest.name}"
        for line in output.plan_text(result, title, show_all=show_all, changes=outdated):
            click.echo(line)
        for line in output.estimate_text(cost, changes.estimate(campaign.rows, result["outdated"])):
            click.echo(line)
        if files:
            click.echo(output.uploads_text(uploads))
        if result["invalid"]:
            click.echo("Run heyrender validate for what is wrong with the invalid rows.", err=True)
        if out is not None:
            click.echo(f"Saved the plan to {out}; carry it out with: heyrender apply {out}")
    if detailed_exitcode:
        return 2 if result.has_changes else 0
    return 0


def apply(
    path: str,
    options: ApplyOptions,
    api_base: str | None,
    output: OutputSettings,
    allow_outside: bool = False,
) -> int:
    from heyrender.commands.apply_screen import apply as apply_at_screen

    return apply_at_screen(path, options, api_base, output, allow_outside)


def status(
    path: str, refresh: bool, as_json: bool, api_base: str | None, allow_outside: bool = False
) -> int:
    from heyrender.api.client import Settings
    from heyrender.commands.show_status import status as show_status

    manifest = load_manifest(path, allow_outside)
    settings = Settings.from_env(api_base) if refresh else None
    return show_status(manifest, settings, as_json, echo)


def download(
    path: str,
    out: str | None,
    api_base: str | None,
    output: OutputSettings,
    allow_outside: bool = False,
) -> int:
    from heyrender.api.client import Settings
    from heyrender.commands.destinations import check_folder
    from heyrender.commands.save_videos import default_folder
    from heyrender.commands.save_videos import download as download_videos

    manifest = load_manifest(path, allow_outside)
    folder = Path(out) if out else default_folder(manifest)
    check_folder(manifest, folder, option="--out" if out else "")
    settings = Settings.from_env(api_base)
    return download_videos(manifest, settings, folder, output, echo)


def diff_since(path: str, against: str, as_json: bool, allow_outside: bool = False) -> int:
    from heyrender.commands.diff import diff

    return diff(load_manifest(path, allow_outside), against, as_json, echo)


def report(
    path: str,
    out: str | None,
    videos: str | None,
    api_base: str | None,
    allow_outside: bool = False,
) -> int:
    from heyrender.commands.destinations import check_folder
    from heyrender.commands.gallery import PAGE_NAME, ReportOptions, is_report_page
    from heyrender.commands.gallery import report as write_report
    from heyrender.commands.media import settings_if_key, videos_folder

    manifest = load_manifest(path, allow_outside)
    folder = Path(out) if out else manifest.path.parent / f"{manifest.name}-report"
    check_folder(manifest, folder, {PAGE_NAME: is_report_page}, "--out" if out else "")
    options = ReportOptions(folder, videos_folder(manifest, videos), settings_if_key(api_base))
    return write_report(manifest, options, echo)


def export(
    path: str,
    fmt: str,
    columns: str | None,
    out: str | None,
    videos: str | None,
    api_base: str | None,
    allow_outside: bool = False,
) -> int:
    from heyrender.commands.delivery import ExportFormat, ExportOptions
    from heyrender.commands.delivery import export as write_export
    from heyrender.commands.destinations import check_file
    from heyrender.commands.media import settings_if_key, videos_folder
    from heyrender.state.files import replacing

    manifest = load_manifest(path, allow_outside)
    if out is not None:
        check_file(manifest, out)
    picked = tuple(name.strip() for name in (columns or "").split(",") if name.strip())
    options = ExportOptions(
        ExportFormat(fmt), picked, videos_folder(manifest, videos), settings_if_key(api_base)
    )
    if out is None:
        return write_export(manifest, options, sys.stdout, warn)
    with replacing(Path(out)) as written:
        return write_export(manifest, options, written, warn)
