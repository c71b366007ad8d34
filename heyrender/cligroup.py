"""heyrender's click group as a newcomer meets it: help with examples per command (in the
style of gh and kubectl), the environment variables, exit codes and files; and the global
flags accepted after the command too (`heyrender apply m.yaml --quiet`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

LISTED_LAST = ("emulator",)  # a tool for rehearsals, not a step of a campaign


@dataclass(frozen=True)
class Example:
    command: str
    comment: str = ""


def environment() -> tuple[tuple[str, str], ...]:
    from heyrender.api.client import BASE_ENV, DEFAULT_BASE, KEY_ENV  # httpx only for --help

    return (
        (
            KEY_ENV,
            "Your HeyGen API key (apply, status --refresh, download, report, export). "
            "Never written.",
        ),
        (BASE_ENV, f"The API's base URL when --api-base is not given (default: {DEFAULT_BASE})."),
        ("NO_COLOR", "Set to any value to turn colour off, as --no-color does."),
    )


EXIT_CODES = (
    ("0", "Success; for apply, every row done."),
    ("1", "Invalid input, failed or uncertain rows, an API or file failure, or a held lock."),
    ("2", "Usage error or no HEYGEN_API_KEY; plan --detailed-exitcode: changes pending."),
    ("3", "apply: --timeout came with work left; run apply again to continue."),
    ("4", "apply: nothing failed, but rows were left as asked (--limit, outdated, uncertain)."),
    ("130", "Interrupted by Ctrl-C; run the command again to continue."),
)

FILES = (
    ("NAME.lock", "Beside NAME.yaml: each row's request hash, video ID and status. Commit it."),
    ("NAME.lock.journal", "Every step of a running apply, folded into NAME.lock. Do not commit."),
    ("NAME.lock.owner", "The state lock of the apply that is running. Do not commit."),
    (".NAME.lock.index", "plan's cache of NAME.lock, rebuilt when missing. Do not commit."),
)


def write_examples(formatter: click.HelpFormatter, examples: Sequence[Example]) -> None:
    with formatter.section("Examples"):
        indent = " " * formatter.current_indent
        for number, example in enumerate(examples):
            if example.comment:
                if number:
                    formatter.write("\n")
                formatter.write(f"{indent}# {example.comment}\n")
            formatter.write(f"{indent}$ {example.command}\n")


GLOBAL_FLAGS = frozenset({"--quiet", "-q", "--no-color"})


def hoist_global_flags(group: click.Group, args: list[str]) -> list[str]:
    """Moves a global flag written after the command to before it, unless the command has
    an option of that name, the word is an option's value, or it follows `--`."""
    name_at = next((i for i, word in enumerate(args) if not word.startswith("-")), None)
    command = group.commands.get(args[name_at]) if name_at is not None else None
    if command is None or name_at is None:
        return args
    own: set[str] = set()
    takes_value: set[str] = set()
    for param in command.params:
        own.update(param.opts, param.secondary_opts)
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            takes_value.update(param.opts)
    moved: list[str] = []
    kept = args[: name_at + 1]
    rest = args[name_at + 1 :]
    for at, word in enumerate(rest):
        if word == "--":
            kept += rest[at:]
            break
        if word in GLOBAL_FLAGS and word not in own and kept[-1] not in takes_value:
            moved.append(word)
        else:
            kept.append(word)
    return moved + kept


class Command(click.Command):
    """A command whose help ends with examples."""

    def __init__(self, *args: Any, examples: Sequence[Example] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if self.examples:
            write_examples(formatter, self.examples)


class Group(click.Group):
    """Commands listed in the order a campaign uses them; help with examples, environment
    variables, exit codes and files."""

    command_class = Command

    def __init__(self, *args: Any, examples: Sequence[Example] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_flags(self, args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands, key=lambda name: name in LISTED_LAST)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if self.examples:
            write_examples(formatter, self.examples)
        for title, rows in (
            ("Environment", environment()),
            ("Exit codes", EXIT_CODES),
            ("Files", FILES),
        ):
            with formatter.section(title):
                formatter.write_dl(rows)
        formatter.write_paragraph()
        formatter.write_text("Run 'heyrender COMMAND --help' for a command's options and examples.")
