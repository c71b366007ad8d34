"""A manifest's rows as desired state, and their request bodies on demand."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

from heyrender.campaign.expand import Expansion, canonical_json
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.schema import FieldProblem
from heyrender.campaign.validate import ValidationResult, checked_rows
from heyrender.versions import ApiVersion

DIGEST = 32


@dataclass(frozen=True, slots=True)
class Desired:
    """What a row asks for now."""

    key: str
    line: int
    request: str
    title: str | None
    problems: tuple[FieldProblem, ...] = ()


class Rows(Sequence[Desired]):
    """Every row's key, line and request hash, packed: a Desired is made when it is read.

    A million rows keep a list of keys, 4 bytes of line and 32 bytes of hash each; problems
    only for invalid rows. Titles are not kept: bodies() gives each submitted row its title.
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.lines = array("L")
        self.digests = bytearray()
        self.problems: dict[int, tuple[FieldProblem, ...]] = {}

    def add(self, key: str, line: int, digest: bytes, problems: list[FieldProblem]) -> None:
        if problems:
            self.problems[len(self.keys)] = tuple(problems)
        self.keys.append(key)
        self.lines.append(line)
        self.digests += digest

    def __len__(self) -> int:
        return len(self.keys)

    def _at(self, index: int) -> Desired:
        digest = self.digests[index * DIGEST : (index + 1) * DIGEST]
        return Desired(
            self.keys[index],
            self.lines[index],
            "sha256:" + digest.hex(),
            None,
            self.problems.get(index, ()),
        )

    @overload
    def __getitem__(self, index: int) -> Desired: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Desired]: ...
    def __getitem__(self, index: int | slice) -> Desired | Sequence[Desired]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(len(self))[index]]
        return self._at(range(len(self))[index])

    def __iter__(self) -> Iterator[Desired]:
        for index in range(len(self.keys)):
            yield self._at(index)


@dataclass
class Campaign:
    manifest: Manifest
    rows: Rows = field(default_factory=Rows)
    validation: ValidationResult | None = None

    @classmethod
    def expand(cls, manifest: Manifest) -> Campaign:
        """One pass: every row's request hash and problems, but no bodies kept."""
        campaign = cls(manifest)
        result = ValidationResult(manifest)
        expansion = Expansion(manifest)
        rows = campaign.rows
        for row in checked_rows(expansion):
            result.count(row)
            digest = hashlib.sha256(canonical_json(row.body or {}).encode()).digest()
            rows.add(row.key, row.line, digest, row.problems)
        result.close(expansion)
        campaign.validation = result
        return campaign

    def bodies(
        self, keys: list[str], api: ApiVersion | None = None
    ) -> Iterator[tuple[Desired, dict[str, Any]]]:
        """The request bodies of these rows, in CSV order, rendered again from the CSV, for
        `api` (the manifest's by default): what the client POSTs.

        They were validated when the plan was made; a body whose hash still matches is that
        same body. A row whose request changed since (the CSV was edited meanwhile) is skipped.
        """
        keyset = set(keys)
        wanted = {row.key: row for row in self.rows if row.key in keyset}
        for row in Expansion(self.manifest):
            desired = wanted.get(row.key)
            if desired is None or row.body is None:
                continue
            body = row.request_body if api is None else replace(row, api=api).request_body
            if body is not None and row.request_hash == desired.request:
                title = row.body.get("title")
                yield Desired(desired.key, desired.line, desired.request, title), body
