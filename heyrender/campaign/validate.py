"""Checking every expanded row against the request rules, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from heyrender.campaign import repeats
from heyrender.campaign.expand import ExpandedRow, Expansion
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.repeats import Ledger
from heyrender.campaign.rules import rules_for
from heyrender.campaign.schema import FieldProblem, RequestValidator
from heyrender.errors import CsvError, escaped
from heyrender.wording import counted

TITLES_SHOWN = 5
VAR_TEMPLATE = re.compile(r"\{\{|\{%")


@dataclass(frozen=True)
class RowProblem:
    key: str
    csv_name: str
    line: int
    problem: FieldProblem

    def __str__(self) -> str:
        return escaped(f"row {self.key} ({self.csv_name} line {self.line}): {self.problem}")


def checked_rows(
    expansion: Expansion, validator: RequestValidator | None = None
) -> Iterator[ExpandedRow]:
    """Each expanded row with the chosen API's problems added to its rendering problems.

    A rule that fails only because a field it concerns could not be rendered is left out:
    the rendering problem already says what is wrong.
    """
    validator = validator or rules_for(expansion.manifest.api)
    for row in expansion:
        if row.body is None:
            yield row
            continue
        schema_problems = validator.problems(row.body)
        if schema_problems and row.problems:
            failed = {p.field for p in row.problems}
            schema_problems = [
                p for p in schema_problems if p.field not in failed and not p.involves & failed
            ]
        if schema_problems:
            row = replace(row, problems=row.problems + schema_problems)
        yield row


@dataclass
class ValidationResult:
    manifest: Manifest
    valid: int = 0
    invalid: int = 0
    filtered_out: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    titles: Ledger = field(default_factory=Ledger, repr=False)

    def count(self, row: ExpandedRow) -> None:
        """Tallies one checked row."""
        if row.problems:
            self.invalid += 1
            csv_name = self.manifest.source.csv.name
            self.problems.extend(RowProblem(row.key, csv_name, row.line, p) for p in row.problems)
        else:
            self.valid += 1
        if row.body is not None and "title" in row.body:
            self.titles.add(str(row.body["title"]), row.line)

    def absorb(self, other: ValidationResult) -> None:
        """Adds the tally of the span after this one."""
        self.valid += other.valid
        self.invalid += other.invalid
        self.problems.extend(other.problems)
        self.titles.extend(other.titles)

    def close(self, expansion: Expansion) -> None:
        """After the pass: key faults and repeated titles raise; the whole-CSV counts are set."""
        expansion.check_keys()
        self.filtered_out = expansion.filtered_out
        self.check_titles()

    def check_titles(self) -> None:
        """Apply finds a lost create's video by its title, so each row's title must be its own."""
        suspects = frozenset(self.titles.suspects())
        if not suspects:
            return
        found: list[tuple[str, int]] = []
        keys: dict[int, str] = {}
        for row in Expansion(self.manifest, only_lines=suspects):
            if row.body is not None and "title" in row.body:
                found.append((str(row.body["title"]), row.line))
                keys[row.line] = row.key
        repeated = repeats.groups(found)
        if not repeated:
            return
        shown = [
            f"{title!r} (rows {', '.join(f'{keys[n]} line {n}' for n in lines)})"
            for title, lines in repeated[:TITLES_SHOWN]
        ]
        more = len(repeated) - len(shown)
        raise CsvError(
            self.manifest.source.csv,
            "rendered titles must be unique, since apply finds a video whose answer was lost by "
            f"its title: {'; '.join(shown)}" + (f"; and {more} more" if more else ""),
        )

    @property
    def ok(self) -> bool:
        return self.invalid == 0

    def summary(self) -> str:
        text = f"{counted(self.valid, 'row')} valid, {self.invalid:,} invalid"
        if self.filtered_out:
            text += f", {self.filtered_out:,} left out by source.where"
        return text

    def warnings(self) -> list[str]:
        return list(template_vars(self.manifest))


def template_vars(manifest: Manifest) -> Iterator[str]:
    """A warning for each var whose value holds template syntax: vars are constants, so every
    row would see that text as it is written."""

    def walk(value: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(value, dict):
            for name, item in value.items():
                yield from walk(item, (*path, str(name)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, (*path, str(index)))
        elif isinstance(value, str) and VAR_TEMPLATE.search(value):
            yield path

    for path in walk(manifest.vars, ()):
        line = manifest.line_of("vars", *path)
        where = f"{manifest.path.name}" + (f" line {line}" if line else "")
        yield (
            f"{where}: vars.{'.'.join(path)} holds template syntax, but vars are not templates: "
            "every row gets that text as written; put the template in the field that uses it"
        )


def validate_span(manifest: Manifest, expansion: Expansion) -> ValidationResult:
    """One pass over the rows of `expansion`, tallied; the whole-CSV checks are left to close()."""
    result = ValidationResult(manifest)
    for row in checked_rows(expansion):
        result.count(row)
    return result


def validate(
    manifest: Manifest, validator: RequestValidator | None = None, workers: int | None = None
) -> ValidationResult:
    """Every row checked. Large CSVs are split across `workers` processes (default: all cores)."""
    if validator is None and workers != 1:
        from heyrender.campaign import parallel

        split = parallel.validate(manifest, workers)
        if split is not None:
            result, expansion = split
            result.close(expansion)
            return result
    result = ValidationResult(manifest)
    expansion = Expansion(manifest)
    for row in checked_rows(expansion, validator):
        result.count(row)
    result.close(expansion)
    return result
