"""A manifest's rows as desired state, and their request bodies on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from heyrender.campaign.cost import RowCost
from heyrender.campaign.expand import Expansion
from heyrender.campaign.fields import field_hashes
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import MediaChecker, MediaFile, MediaUse, bind, distinct_files
from heyrender.campaign.schema import FieldProblem
from heyrender.campaign.validate import ValidationResult, checked_rows
from heyrender.errors import HeyrenderError
from heyrender.versions import ApiVersion


@dataclass(frozen=True)
class Desired:
    """What a row asks for now."""

    key: str
    line: int
    request: str
    title: str | None
    problems: tuple[FieldProblem, ...] = ()
    media: tuple[MediaUse, ...] = ()
    cost: RowCost | None = None  # None for a row with no body
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)  # path -> value hash


@dataclass
class Campaign:
    manifest: Manifest
    rows: list[Desired] = field(default_factory=list)
    validation: ValidationResult | None = None
    media: MediaChecker | None = None  # its hashes, reused when bodies() renders again

    @classmethod
    def expand(cls, manifest: Manifest) -> Campaign:
        """One pass: every row's request hash, title and problems, but no bodies kept."""
        campaign = cls(manifest)
        result = ValidationResult(manifest)
        expansion = Expansion(manifest)
        for row in checked_rows(expansion):
            result.count(row)
            body = row.body
            campaign.rows.append(
                Desired(
                    row.key,
                    row.line,
                    row.request_hash,
                    body.get("title") if body else None,
                    tuple(row.problems),
                    cost=manifest.cost.row(body) if body is not None else None,
                    media=row.media,
                    fields=field_hashes(body) if body is not None else {},
                )
            )
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
            row = replace(row, body=bind(row.body, row.media, uploaded(assets or {})))
            body = row.request_body if api is None else replace(row, api=api).request_body
            if body is not None:
                yield desired, body

    def media_files(self, keys: list[str]) -> list[MediaFile]:
        """The distinct files (by content) these rows send; upload them before their rows."""
        keyset = set(keys)
        return distinct_files(row.media for row in self.rows if row.key in keyset)


def uploaded(assets: Mapping[str, str]) -> Callable[[MediaUse], str]:
    def asset_id(use: MediaUse) -> str:
        found = assets.get(use.file.sha256)
        if found is None:
            raise HeyrenderError(f"{use.name} is not uploaded yet; its row cannot be sent")
        return found

    return asset_id
