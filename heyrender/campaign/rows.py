"""A manifest's rows as desired state, and their request bodies on demand."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

from heyrender.campaign.cost import AvatarKind, RowCost
from heyrender.campaign.digest import digest as request_digest
from heyrender.campaign.expand import Expansion
from heyrender.campaign.fields import field_hashes
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import MediaChecker, MediaFile, MediaUse, bind, distinct_files
from heyrender.campaign.schema import FieldProblem
from heyrender.campaign.validate import ValidationResult, checked_rows
from heyrender.errors import HeyrenderError
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
    media: tuple[MediaUse, ...] = ()
    cost: RowCost | None = None  # None for a row with no body
    # path -> value hash of the body; filled by Campaign.bodies() for what apply sends
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)


KINDS = tuple(AvatarKind)
# (key, request digest, body) -> whether to keep the row
Keep = Callable[[str, bytes, dict[str, Any]], bool]
NO_COST = float("nan")


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
        self.media: dict[int, tuple[MediaUse, ...]] = {}
        self.seconds = array("d")  # NaN: unknown (audio) or no cost (no body)
        self.rates = array("d")  # NaN: no cost
        self.kinds = bytearray()

    def add(
        self,
        key: str,
        line: int,
        digest: bytes,
        problems: list[FieldProblem],
        media: tuple[MediaUse, ...] = (),
        cost: RowCost | None = None,
    ) -> None:
        if problems:
            self.problems[len(self.keys)] = tuple(problems)
        if media:
            self.media[len(self.keys)] = media
        self.keys.append(key)
        self.lines.append(line)
        self.digests += digest
        seconds = cost.seconds if cost is not None else None
        self.seconds.append(NO_COST if seconds is None else seconds)
        self.rates.append(cost.rate if cost is not None else NO_COST)
        self.kinds.append(KINDS.index(cost.kind) if cost is not None else 0)

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
            self.media.get(index, ()),
            self._cost(index),
        )

    def _cost(self, index: int) -> RowCost | None:
        rate, seconds = self.rates[index], self.seconds[index]
        if rate != rate:  # NaN
            return None
        return RowCost(None if seconds != seconds else seconds, rate, KINDS[self.kinds[index]])

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

    def costs(self, keys: Iterable[str]) -> Iterator[RowCost]:
        """The costs of these rows (rows without a body have none), without a Desired each."""
        wanted = set(keys)
        if not wanted:
            return
        for index, key in enumerate(self.keys):
            if key in wanted:
                cost = self._cost(index)
                if cost is not None:
                    yield cost

    def media_of(self, keys: Iterable[str]) -> Iterator[tuple[MediaUse, ...]]:
        """The media uses of these rows, looking only at rows that have any."""
        wanted = set(keys)
        for index, uses in self.media.items():
            if self.keys[index] in wanted:
                yield uses


@dataclass
class Campaign:
    manifest: Manifest
    rows: Rows = field(default_factory=Rows)
    validation: ValidationResult | None = None
    media: MediaChecker | None = None  # its hashes, reused when bodies() renders again

    @classmethod
    def expand(cls, manifest: Manifest, keep: Keep | None = None) -> Campaign:
        """One pass: every row's request hash and problems, but no bodies kept.

        With `keep`, a valid row for which keep(key, digest, body) is false is validated and
        counted but left out of `rows` (plan leaves out the rows already done this way).
        """
        campaign = cls(manifest)
        result = ValidationResult(manifest)
        expansion = Expansion(manifest)
        rows = campaign.rows
        for row in checked_rows(expansion):
            result.count(row)
            digest = request_digest(row.body or {}, row.plain_floats)
            if keep is not None and not row.problems and not keep(row.key, digest, row.body or {}):
                continue
            cost = manifest.cost.row(row.body) if row.body is not None else None
            rows.add(row.key, row.line, digest, row.problems, row.media, cost)
        result.close(expansion)
        campaign.validation = result
        campaign.media = expansion.media
        return campaign

    def bodies(
        self,
        keys: list[str],
        api: ApiVersion | None = None,
        assets: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[Desired, dict[str, Any]]]:
        """The request bodies of these rows, in CSV order, rendered again from the CSV, for
        `api` (the manifest's by default): what the client POSTs.

        They were validated when the plan was made; a body whose hash still matches is that
        same body. A row whose request changed since (the CSV was edited meanwhile) is skipped.
        A row that sends a local file gets its asset ID from `assets` (sha256 -> asset ID,
        from run.uploads.ensure_uploaded); one missing there is an error, never a guess.
        """
        keyset = set(keys)
        wanted = {row.key: row for row in self.rows if row.key in keyset}
        for row in Expansion(self.manifest, media=self.media):
            desired = wanted.get(row.key)
            if desired is None or row.body is None or row.request_hash != desired.request:
                continue
            title, fields = row.body.get("title"), field_hashes(row.body)
            row = replace(row, body=bind(row.body, row.media, uploaded(assets or {})))
            body = row.request_body if api is None else replace(row, api=api).request_body
            if body is not None:
                yield replace(desired, title=title, fields=fields), body

    def media_files(self, keys: list[str]) -> list[MediaFile]:
        """The distinct files (by content) these rows send; upload them before their rows."""
        return distinct_files(self.rows.media_of(keys))


def uploaded(assets: Mapping[str, str]) -> Callable[[MediaUse], str]:
    def asset_id(use: MediaUse) -> str:
        found = assets.get(use.file.sha256)
        if found is None:
            raise HeyrenderError(f"{use.name} is not uploaded yet; its row cannot be sent")
        return found

    return asset_id
