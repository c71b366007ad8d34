"""The one-render-per-row path builds exactly the body the careful per-field path builds."""

from __future__ import annotations

import pytest

from heyrender.campaign import templating
from heyrender.campaign.csvsource import CsvSource
from heyrender.campaign.expand import FILTERED, BodyTemplate
from heyrender.campaign.manifest import load
from tests.conftest import BASE_MANIFEST

MANIFEST = BASE_MANIFEST.replace("  key: email\n", '  key: email\n  where: "row.keep"\n') + (
    '  title: "{{ row.title }}"\n'
    "  background:\n"
    "    type: \"{{ 'image' if row.bg else 'color' }}\"\n"
    '    url: "{{ row.bg }}"\n'
    "    value: \"{{ '' if row.bg else '#0a0a0a' }}\"\n"
    "  voice_settings:\n"
    '    speed: "{{ row.speed }}"\n'
    '    pitch: "{{ row.pitch }}"\n'
    "    locale: en-US\n"
    '  remove_background: "{{ row.rb }}"\n'
)
CSV = (
    "email,name,avatar,keep,title,bg,speed,pitch,rb\n"
    "a@x,A,a1,yes,,https://b/1,1.0,,true\n"
    "b@x,B,a2,YES ,T,,1,-3,no\n"
    "c@x,,a3,1,T3,,,,\n"
    "d@x,D,a4,no,T4,,1.1,2,false\n"
    "e@x,E,a5,yes,T5,,fast,0,maybe\n"
    "f@x,F\x01,a6,yes,T6,,1,0,true\n"
)


@pytest.fixture
def rows(campaign):
    manifest = load(campaign(MANIFEST, CSV))
    with CsvSource(manifest.source.csv) as source:
        template = BodyTemplate(manifest, source.header, manifest.source.where)
        yield manifest, template, list(source)


def test_fast_and_careful_paths_agree(rows) -> None:
    manifest, template, found = rows
    outcomes = {}
    for row in found:
        key = row.values["email"]
        context = templating.row_context(row.values, manifest.vars, key)
        fast = template.render_at_once(context)
        if fast is FILTERED:
            outcomes[key] = "filtered"
            continue
        body, problems = template.render(context)
        if fast is None:
            outcomes[key] = "careful"
            assert problems, key
        else:
            assert fast == body and not problems, key
            outcomes[key] = "fast"
    assert outcomes == {
        "a@x": "fast",
        "b@x": "fast",
        "c@x": "fast",
        "d@x": "filtered",
        "e@x": "careful",
        "f@x": "careful",
    }
