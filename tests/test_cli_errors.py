"""The CLI's one error boundary, and the global --quiet and --no-color."""

from __future__ import annotations

import errno
import io
from collections import Counter

import click
import pytest
from click.testing import CliRunner

from heyrender.cli import main, reports_errors
from heyrender.cligroup import hoist_global_flags
from heyrender.commands.progress import Progress
from heyrender.terminal import OutputSettings
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender


def run_raising(exc: BaseException, color: bool = False):
    @click.command()
    @reports_errors
    def failing() -> None:
        raise exc

    return CliRunner().invoke(failing, [], color=color)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_runs_inside_the_error_boundary(name: str) -> None:
    callback = main.commands[name].callback
    assert getattr(callback, "reports_errors", False), f"{name} lacks @reports_errors"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "out/a.mp4"),
            "Error: out/a.mp4: Permission denied\n"
            "Hint: check that you may read and write that path\n",
        ),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "people.csv"), None),
        (
            OSError(errno.ENOSPC, "No space left on device", "out/.a.mp4.part"),
            "Error: out/.a.mp4.part: No space left on device\n"
            "Hint: free some disk space, then run the command again\n",
        ),
        (
            FileExistsError(errno.EEXIST, "File exists", "a", None, "b"),
            "Error: a and b: File exists\n",
        ),
    ],
)
def test_an_os_error_from_a_users_file_is_one_error_sentence(exc, expected) -> None:
    result = run_raising(exc)
    assert result.exit_code == 1
    assert result.stderr == (expected or "Error: people.csv: Is a directory\n")
    assert "Traceback" not in result.output


def test_ctrl_c_exits_130_with_one_line() -> None:
    result = run_raising(KeyboardInterrupt())
    assert (result.exit_code, result.stderr) == (130, "Error: interrupted\n")


def test_ctrl_c_at_a_prompt_exits_130_too() -> None:
    @click.command()
    @reports_errors
    def asking() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None

    result = CliRunner().invoke(asking, [])
    assert (result.exit_code, result.stderr) == (130, "Error: interrupted\n")


def test_a_bug_is_not_hidden_as_a_user_error() -> None:
    result = run_raising(ZeroDivisionError("bug"))
    assert isinstance(result.exception, ZeroDivisionError)


def test_error_label_is_red_unless_no_color(campaign, monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = str(campaign())
    args = ["render", path, "--row", "nobody"]
    coloured = CliRunner().invoke(main, args, color=True)
    assert coloured.stderr.startswith("\x1b[31m\x1b[1mError:\x1b[0m no row with email")
    plain = CliRunner().invoke(main, ["--no-color", *args], color=True)
    assert plain.stderr.startswith("Error: no row with email")
    monkeypatch.setenv("NO_COLOR", "1")
    from_env = CliRunner().invoke(main, args, color=True)
    assert from_env.stderr.startswith("Error: no row with email")


def test_no_color_comes_from_the_flag_or_a_non_empty_no_color() -> None:
    def color(no_color: bool, env: dict[str, str]) -> bool:
        return OutputSettings.from_options(quiet=False, no_color=no_color, environ=env).color

    assert color(False, {}) is True
    assert color(True, {}) is False
    assert color(False, {"NO_COLOR": "1"}) is False
    assert color(False, {"NO_COLOR": ""}) is True  # https://no-color.org: set and not empty


def test_the_live_display_console_respects_no_color() -> None:
    progress = Progress(Counter, 1, io.StringIO(), output=OutputSettings(color=False))
    assert progress.console.no_color is True
    progress = Progress(Counter, 1, io.StringIO(), output=OutputSettings(color=True))
    assert progress.console.no_color is False


def test_a_default_live_display_still_honours_no_color(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert Progress(Counter, 1, io.StringIO()).console.no_color is True


def test_quiet_progress_prints_no_event_lines() -> None:
    stream = io.StringIO()
    with Progress(Counter, 1, stream, output=OutputSettings(quiet=True)) as progress:
        progress.event("a@x", "completed")
    assert stream.getvalue() == ""


def test_quiet_apply_prints_only_the_summary(start_emulator, tmp_path) -> None:
    manifest = tmp_path / "drill.yaml"
    manifest.write_text(CAMPAIGN_MANIFEST)
    (tmp_path / "people.csv").write_text(campaign_csv(2))
    emulator = start_emulator("--render-seconds", "0.1")
    fast = ("--poll-interval", "0.05", "--settle-grace", "0")
    result = heyrender("-q", "apply", manifest, "--yes", *fast, env=emulator.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "Done: 2 completed, 0 failed, 0 in progress, 0 uncertain, 0 still to create.\n"
    )
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "parsed"),
    [
        (["apply", "m.yaml", "--quiet"], ["--quiet", "apply", "m.yaml"]),
        (["-q", "apply", "m.yaml", "--no-color"], ["--no-color", "-q", "apply", "m.yaml"]),
        (["emulator", "--quiet"], ["emulator", "--quiet"]),  # the emulator's own --quiet
        (["render", "m.yaml", "--row", "--quiet"], ["render", "m.yaml", "--row", "--quiet"]),
        (["validate", "--", "--quiet"], ["validate", "--", "--quiet"]),
        (["nosuchcommand", "--quiet"], ["nosuchcommand", "--quiet"]),
        (["--help"], ["--help"]),
    ],
)
def test_global_flags_may_follow_the_command(args: list[str], parsed: list[str]) -> None:
    assert hoist_global_flags(main, args) == parsed


def test_quiet_after_the_command_works_end_to_end(campaign, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    result = cli("download", campaign(), "--quiet", "--no-color")
    assert (result.exit_code, result.stdout) == (
        0,
        "No completed videos in m.lock yet; nothing to download.\n",
    )
