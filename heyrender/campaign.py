"""A manifest's rows as desired state, and their request bodies on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from heyrender.expand import Expansion
from heyrender.manifest import Manifest
from heyrender.plan import Desired
from heyrender.schema import RequestValidator
from heyrender.validate import RowProblem, ValidationResult, checked_rows


@dataclass
class Campaign:
    manifest: Manifest
    rows: list[Desired] = field(default_factory=list)
    validation: ValidationResult | None = None

    @classmethod
    def expand(cls, manifest: Manifest) -> Campaign:
        """One pass: every row's request hash, title and problems, but no bodies kept."""
        campaign = cls(manifest)
        result = ValidationResult(manifest)
        expansion = Expansion(manifest)
        titles: dict[str, int] = {}
        csv_name = manifest.source.csv.name
        for row in checked_rows(expansion):
            title = row.body.get("title") if row.body else None
            campaign.rows.append(
                Desired(row.key, row.line, row.request_hash, title, tuple(row.problems))
            )
            if row.problems:
                result.invalid += 1
                result.problems.extend(
                    RowProblem(row.key, csv_name, row.line, p) for p in row.problems
                )
            else:
                result.valid += 1
            if title:
                titles[title] = titles.get(title, 0) + 1
        expansion.check_keys()
        result.filtered_out = expansion.filtered_out
        result.title_repeats.update({t: n for t, n in titles.items() if n > 1})
        campaign.validation = result
        return campaign

    def bodies(self, keys: list[str]) -> Iterator[tuple[Desired, dict[str, Any]]]:
        """The bodies of these rows, in this order, rendered again from the CSV.

        A row whose request no longer matches the plan (the CSV changed meanwhile) is skipped.
        """
        keyset = set(keys)
        wanted = {row.key: row for row in self.rows if row.key in keyset}
        rendered: dict[str, dict[str, Any]] = {}
        order = iter(keys)
        validator = RequestValidator()
        pending = next(order, None)
        for row in checked_rows(Expansion(self.manifest), validator):
            desired = wanted.get(row.key)
            if desired is None or row.body is None or row.request_hash != desired.request:
                continue
            rendered[row.key] = row.body
            while pending is not None and pending in rendered:
                yield wanted[pending], rendered.pop(pending)
                pending = next(order, None)
        while pending is not None:
            if pending in rendered:
                yield wanted[pending], rendered.pop(pending)
            pending = next(order, None)
