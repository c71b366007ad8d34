"""Turning results into text or JSON for the terminal; no decisions are made here."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from heyrender.wording import counted

if TYPE_CHECKING:
    from heyrender.campaign.cost import Estimate
    from heyrender.campaign.expand import ExpandedRow
    from heyrender.campaign.validate import ValidationResult
    from heyrender.run.plan import Plan
    from heyrender.run.uploads import UploadPlan


def validation_text(result: ValidationResult) -> Iterable[str]:
    for problem in result.problems:
        yield str(problem)
    for warning in result.warnings():
        yield f"warning: {warning}"
    yield result.summary()


def validation_json(result: ValidationResult) -> str:
    return json.dumps(
        {
            "valid": result.valid,
            "invalid": result.invalid,
            "filtered_out": result.filtered_out,
            "problems": [
                {
                    "key": p.key,
                    "line": p.line,
                    "field": p.problem.field,
                    "message": p.problem.message,
                }
                for p in result.problems
            ],
            "warnings": result.warnings(),
        },
        ensure_ascii=False,
        indent=2,
    )


def body_json(body: dict[str, Any], pretty: bool) -> str:
    if pretty:
        return json.dumps(body, ensure_ascii=False, indent=2, allow_nan=False)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


RESOLVERS = [VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2))]
STRING_TAG = "tag:yaml.org,2002:str"


def reads_as_string(text: str) -> bool:
    """Whether YAML 1.1 and 1.2 readers both take this plain scalar for a string: `16:9` is
    969 to a 1.1 reader (PyYAML), `no` is false, `2026-11-01` a date, `~` null."""
    for resolver in RESOLVERS:
        tag = resolver.resolve(ScalarNode, text, (True, False))
        if str(getattr(tag, "value", tag)) != STRING_TAG:
            return False
    return True


def yaml_scalars(node: Any) -> Any:
    """Multi-line strings as literal blocks; strings a YAML reader would retype, quoted."""
    if isinstance(node, dict):
        return {k: yaml_scalars(v) for k, v in node.items()}
    if isinstance(node, list):
        return [yaml_scalars(v) for v in node]
    if isinstance(node, str) and "\n" in node:
        return LiteralScalarString(node)
    if isinstance(node, str) and not reads_as_string(node):
        return DoubleQuotedScalarString(node)
    return node


def body_yaml(row: ExpandedRow, csv_name: str) -> str:
    """The body the API gets for this row, as one YAML document."""
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    yaml.allow_unicode = True
    stream = io.StringIO()
    yaml.dump(yaml_scalars(row.request_body), stream)
    return f"---\n# row: {row.key} ({csv_name} line {row.line})\n{stream.getvalue()}"


MARKS = {
    "create": "+",
    "outdated": "~",
    "uncertain": "?",
    "in_progress": ">",
    "done": "=",
    "orphaned": "-",
    "invalid": "!",
}
SHOWN_PER_GROUP = 10
CHANGES_FIRST = ("create", "outdated", "uncertain", "orphaned", "invalid", "in_progress", "done")


def plan_text(
    plan: Plan,
    title: str,
    *,
    show_all: bool = False,
    changes: Mapping[str, tuple[str, ...] | None] | None = None,
) -> Iterable[str]:
    """The plan as text; with changes, an outdated row names its changed fields."""
    from heyrender.run.plan import DESCRIPTIONS, GROUPS

    yield f"{title}: {counted(plan.total_rows, 'row')}"
    for group in CHANGES_FIRST if show_all else GROUPS:
        keys, count = plan[group], plan.count(group)
        if not count:
            continue
        yield ""
        yield f"  {DESCRIPTIONS[group]}: {count:,}"
        shown = keys if show_all else keys[:SHOWN_PER_GROUP]
        for key in shown:
            why = plan.reasons.get(key) if group == "create" else None
            yield f"    {MARKS[group]} {key}{changed_suffix(key, changes)}" + (
                f" ({why})" if why else ""
            )
        if count > len(shown):
            yield f"    ... and {count - len(shown):,} more"
    yield ""
    yield plan.summary()


def changed_suffix(key: str, changes: Mapping[str, tuple[str, ...] | None] | None) -> str:
    if changes is None or key not in changes:
        return ""
    paths = changes[key]
    if paths is None:
        return ": fields not recorded (sent before heyrender kept field hashes)"
    return f": {', '.join(paths)}" if paths else ""


def estimate_text(to_create: Estimate, outdated: Estimate) -> Iterable[str]:
    """The cost lines under a plan: what apply would submit, and what replacing would add."""
    if to_create.rows:
        yield f"Estimate: {to_create.describe()}."
    if outdated.rows:
        yield f"Replacing the outdated rows (--replace-outdated) would add {outdated.describe()}."


def uploads_text(uploads: UploadPlan) -> str:
    """The uploads line of a plan, apart from the videos."""
    from heyrender.campaign.media import size_text

    count = len(uploads.to_upload)
    text = f"Uploads: {counted(count, 'file')} to upload ({size_text(uploads.bytes)})"
    if uploads.already_uploaded:
        text += f", {uploads.already_uploaded:,} already uploaded"
    return text + "."
