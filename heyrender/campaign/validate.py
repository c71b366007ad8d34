"""Checking every expanded row against the request rules, collecting every problem."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from heyrender.campaign.expand import ExpandedRow, Expansion
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.rules import rules_for
from heyrender.campaign.schema import FieldProblem, RequestValidator
from heyrender.wording import counted


@dataclass(frozen=True)
class RowProblem:
    key: str
    csv_name: str
    line: int
    problem: FieldProblem

    def __str__(self) -> str:
        return f"row {self.key} ({self.csv_name} line {self.line}): {self.problem}"


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
        failed = {p.field for p in row.problems}
        schema_problems = [
            p
            for p in validator.problems(row.body)
            if p.field not in failed and not p.involves & failed
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
    title_repeats: Counter[str] = field(default_factory=Counter)
    _titles: Counter[str] = field(default_factory=Counter, repr=False)

    def count(self, row: ExpandedRow) -> None:
        """Tallies one checked row."""
        if row.problems:
            self.invalid += 1
            csv_name = self.manifest.source.csv.name
            self.problems.extend(RowProblem(row.key, csv_name, row.line, p) for p in row.problems)
        else:
            self.valid += 1
        if row.body is not None and "title" in row.body:
            self._titles[row.body["title"]] += 1

    def close(self, expansion: Expansion) -> None:
        """After the pass: key faults raise; counts that need the whole CSV are set."""
        expansion.check_keys()
        self.filtered_out = expansion.filtered_out
        self.title_repeats = Counter({t: n for t, n in self._titles.items() if n > 1})

    @property
    def ok(self) -> bool:
        return self.invalid == 0

    def summary(self) -> str:
        text = f"{counted(self.valid, 'row')} valid, {self.invalid:,} invalid"
        if self.filtered_out:
            text += f", {self.filtered_out:,} left out by source.where"
        return text

    def warnings(self) -> list[str]:
        repeated = [title for title, count in self.title_repeats.items() if count > 1]
        if not repeated:
            return []
        shown = ", ".join(repr(t) for t in repeated[:5])
        return [
            f"{len(repeated)} title(s) repeat across rows ({shown}); apply matches a row to its "
            "video by title after a lost answer, so give each row a unique title"
        ]


def validate(manifest: Manifest, validator: RequestValidator | None = None) -> ValidationResult:
    result = ValidationResult(manifest)
    expansion = Expansion(manifest)
    for row in checked_rows(expansion, validator):
        result.count(row)
    result.close(expansion)
    return result
