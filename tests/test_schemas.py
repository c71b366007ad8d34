"""The shipped schemas agree with HeyGen's OpenAPI definition and with each other."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema

from heyrender.campaign import schema

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "schemas" / "heygen" / "generate-video.openapi.json"
sys.path.insert(0, str(ROOT / "schemas"))

from generate_manifest_schema import build  # noqa: E402


def openapi_request() -> dict:
    spec = json.loads(OPENAPI.read_text())
    return spec["paths"]["/v2/videos"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]


def test_request_schema_has_every_openapi_field_with_its_type_and_enum() -> None:
    ours = schema.load(schema.REQUEST_SCHEMA)
    theirs = openapi_request()

    def compare(mine: dict, spec: dict, where: str) -> None:
        assert set(mine["properties"]) == set(spec["properties"]), where
        for name, field in spec["properties"].items():
            assert mine["properties"][name]["type"] == field["type"], f"{where}{name}"
            assert mine["properties"][name].get("enum") == field.get("enum"), f"{where}{name}"
            if field["type"] == "object":
                compare(mine["properties"][name], field, f"{where}{name}.")

    compare(ours, theirs, "")


def test_schemas_are_valid_draft_2020_12() -> None:
    for name in (schema.REQUEST_SCHEMA, schema.MANIFEST_SCHEMA):
        jsonschema.Draft202012Validator.check_schema(schema.load(name))


def test_manifest_schema_is_generated_from_the_request_schema() -> None:
    assert schema.load(schema.MANIFEST_SCHEMA) == json.loads(
        json.dumps(build(schema.load(schema.REQUEST_SCHEMA)))
    )


def test_example_manifests_pass_the_manifest_schema() -> None:
    from heyrender.campaign.manifest import parse

    validator = jsonschema.Draft202012Validator(schema.load(schema.MANIFEST_SCHEMA))
    for path in (ROOT / "examples" / "manifests").glob("*.yaml"):
        data, _ = parse(path)
        assert list(validator.iter_errors(data)) == [], path
