"""--help as a newcomer meets it, and the README's command reference kept in step with the
live click tree (in the manner of sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from heyrender.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def readme_section(heading: str, level: str = "##") -> str:
    """The text under the first heading at this level that starts with `heading`."""
    pattern = rf"^{level} {re.escape(heading)}.*?$(.*?)(?=^#{{2,{len(level)}}} |\Z)"
    match = re.search(pattern, README, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '{level} {heading}' section"
    return match.group(1)


COMMANDS_SECTION = readme_section("Commands")
# options that many commands share may be documented once, before the first command
SHARED_OPTIONS_TEXT = COMMANDS_SECTION.split("\n### ", 1)[0]


def command_section(name: str) -> str:
    pattern = rf"^### `heyrender {name}\b.*?$(.*?)(?=^##|\Z)"
    match = re.search(pattern, COMMANDS_SECTION, re.MULTILINE | re.DOTALL)
    assert match, f"README.md's Commands section has no '### `heyrender {name} ...`' heading"
    return match.group(0)


def commands() -> Iterator[tuple[str, click.Command]]:
    yield from sorted(main.commands.items())


def options(command: click.Command) -> Iterator[click.Option]:
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            yield param


def long_name(option: click.Option) -> str:
    return max(option.opts + option.secondary_opts, key=len)


def mentions(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def help_of(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_option_has_help_and_is_in_the_readme(name: str) -> None:
    command = main.commands[name]
    assert command.help, f"{name} has no help text"
    section = command_section(name)
    for option in options(command):
        flag = long_name(option)
        assert option.help, f"{name} {flag} has no help text"
        documented = mentions(section, flag) or mentions(SHARED_OPTIONS_TEXT, flag)
        assert documented, f"README: the section on {name} does not mention {flag}"


def test_every_global_option_has_help_and_is_in_the_readme() -> None:
    section = readme_section("Global options", "###")
    for option in options(main):
        if option.name == "help":
            continue
        assert option.help, long_name(option)
        assert mentions(section, long_name(option)), f"README: global {long_name(option)}"


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_examples_that_parse(name: str) -> None:
    examples = getattr(main.commands[name], "examples", ())
    assert examples, f"{name} --help shows no example"
    for example in examples:
        check_example(example.command)
    assert "Examples:\n  " in help_of(name)


def test_the_top_level_examples_parse() -> None:
    for example in main.examples:  # type: ignore[attr-defined]
        check_example(example.command)


def check_example(command: str) -> None:
    """An example must name real options: it is parsed (not run) by click."""
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words.pop(0)  # VAR=value before the command
    for end, word in enumerate(words):
        if word in ("|", ">", ">>", "&", "&&"):
            words = words[:end]
            break
    assert words[0] == "heyrender", command
    result = CliRunner().invoke(main, [*words[1:], "--help"])
    assert result.exit_code == 0, f"{command}: {result.output}"


def test_top_level_help_names_the_environment_exit_codes_and_lockfile() -> None:
    text = help_of()
    for needed in ("HEYGEN_API_KEY", "HEYGEN_API_BASE", "NO_COLOR", "https://api.heygen.com"):
        assert needed in text
    codes = text.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in codes.splitlines() if line[2:3] != " "] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "130",
    ]
    assert "NAME.lock " in text and "Commit it." in text


def test_the_command_list_shows_each_summary_whole() -> None:
    listing = help_of().split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    for name, command in commands():
        summary = command.get_short_help_str(limit=80)
        assert not summary.endswith("..."), name
        assert f"  {name}" in listing
        assert " ".join(summary.split()) in " ".join(listing.split()), name
    assert "..." not in listing


def test_api_base_says_where_it_falls_back_to() -> None:
    for name, command in commands():
        for option in options(command):
            if long_name(option) == "--api-base":
                assert option.help and "HEYGEN_API_BASE" in option.help, name
                assert "https://api.heygen.com" in " ".join(help_of(name).split()), name


def test_download_out_shows_its_default() -> None:
    assert "[default: NAME-videos beside the manifest]" in " ".join(help_of("download").split())


def test_replace_outdated_says_what_it_renders_again() -> None:
    text = " ".join(help_of("apply").split())
    assert "Render again the rows whose request changed since their video was made." in text


def test_python_m_heyrender_calls_itself_heyrender() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "heyrender", "--help"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("Usage: heyrender [OPTIONS] COMMAND [ARGS]...")


def test_the_cli_wiring_loads_no_heavy_library_before_a_command_runs() -> None:
    import subprocess
    import sys

    code = (
        "import sys, heyrender.cli; "
        "print([m for m in ('rich', 'httpx', 'jsonschema', 'aiohttp') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "[]\n", result.stderr
