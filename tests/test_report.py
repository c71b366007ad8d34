"""heyrender report: the page as a reader uses it, in a real headless Chromium.

The browser tests need Debian's chromium (/usr/bin/chromium) and the playwright package
(.ci/run installs both); where either is missing they skip and say which.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

CHROMIUM = os.environ.get("HEYRENDER_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("no browser test: the playwright package is not installed (.ci/run adds it)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no browser test: {CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def rendered(manifest: Path, emulator, rows: int) -> None:
    """apply against the emulator: one create at a time, so the seed picks the same failures."""
    done = heyrender(
        "apply",
        manifest,
        "--yes",
        "--concurrency",
        "1",
        "--poll-interval",
        "0.02",
        env=emulator.env(),
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    statuses = {e.status for e in lockfile.load(manifest.with_suffix(".lock")).values()}
    assert statuses == {"completed", "failed"}, statuses


def cards(page) -> list[str]:
    return page.locator("article.card .key").all_inner_texts()


def test_cards_render_filter_search_and_a_thumbnail_loads(campaign, start_emulator, page) -> None:
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(8), name="drill")
    emulator = start_emulator("--render-seconds", "0.1", "--fail-rate", "0.4", "--seed", "7")
    rendered(manifest, emulator, 8)
    entries = lockfile.load(manifest.with_suffix(".lock"))
    failed = sorted(k for k, e in entries.items() if e.status == "failed")
    completed = sorted(k for k, e in entries.items() if e.status == "completed")

    made = heyrender("report", manifest, "--out", manifest.parent / "review", env=emulator.env())
    assert made.returncode == 0, made.stderr
    assert f"(8 rows, {len(completed)} completed, {len(completed)} playable)" in made.stdout
    html = (manifest.parent / "review" / "index.html").read_text()
    assert not re.search(r"<(script|link)[^>]+src=|<link[^>]+href=", html)  # nothing external

    page.goto((manifest.parent / "review" / "index.html").as_uri())
    assert cards(page) == [f"p{i:02d}@x.io" for i in range(8)]
    first = page.locator(f'article[data-key="{completed[0]}"]')
    assert first.locator(".status").inner_text() == "completed"
    assert (
        first.locator(".script").inner_text() == f"Hi Name{int(completed[0][1:3])}, a short drill."
    )
    image = first.locator("img.thumb")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=10_000)
    assert image.evaluate("img => img.naturalWidth") == 64

    broken = page.locator(f'article[data-key="{failed[0]}"] .failure')
    assert (
        broken.inner_text() == "RENDER_FAILED The avatar could not be rendered (emulated failure)."
    )

    page.select_option("#status", "failed")
    assert cards(page) == failed
    assert page.inner_text("#count") == f"{len(failed)} of 8 rows"
    page.select_option("#status", "")
    page.fill("#search", "name3,")
    assert cards(page) == ["p03@x.io"]
    page.fill("#search", "P05@X")
    assert cards(page) == ["p05@x.io"]
    page.fill("#search", "nobody")
    assert cards(page) == []
    assert page.inner_text("#more") == "No rows match."

    page.fill("#search", completed[0])
    page.click(f'article[data-key="{completed[0]}"] .media')
    video = page.locator(f'article[data-key="{completed[0]}"] video')
    assert video.get_attribute("src").startswith(emulator.url)

    # downloaded files win, linked relative to the page; no key needed then
    assert heyrender("download", manifest, env=emulator.env()).returncode == 0
    offline = {k: v for k, v in emulator.env().items() if k != "HEYGEN_API_KEY"}
    assert heyrender("report", manifest, env=offline).returncode == 0
    page.goto((manifest.parent / "drill-report" / "index.html").as_uri())
    media = page.locator(f'article[data-key="{completed[0]}"] .media')
    assert (
        media.get_attribute("data-v") == f"../drill-videos/{completed[0].replace('@', '%40')}.mp4"
    )
    media.click()
    source = page.locator(f'article[data-key="{completed[0]}"] video').evaluate("v => v.src")
    assert source == (manifest.parent / "drill-videos" / f"{completed[0]}.mp4").as_uri()


def big_campaign(campaign, rows: int) -> Path:
    """A campaign whose lockfile says every row completed, with a downloaded thumbnail each."""
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(rows), name="drill")
    desired = Campaign.expand(manifests.load(manifest)).rows
    entries = {
        row.key: Entry(
            row.key,
            row.request,
            "completed" if i % 10 else "failed",
            video_id=f"v{i}",
            duration=12.5,
            failure_code=None if i % 10 else "RENDER_FAILED",
            failure_message=None if i % 10 else "it broke",
        )
        for i, row in enumerate(desired)
    }
    lockfile.save(manifest.with_suffix(".lock"), entries, manifest.name)
    return manifest


def test_ten_thousand_rows_open_lazily_and_filter_across_all(campaign, page) -> None:
    manifest = big_campaign(campaign, 10_000)
    started = time.monotonic()
    from tests.conftest import heyrender as run

    made = run("report", manifest, env={k: v for k, v in os.environ.items() if "HEYGEN" not in k})
    assert made.returncode == 0, made.stderr
    assert "9,000 completed videos without a downloaded file" in made.stdout
    page.goto((manifest.parent / "drill-report" / "index.html").as_uri())
    assert page.locator("article.card").count() == 60  # the rest are built as one scrolls
    assert page.inner_text("#count") == "10,000 of 10,000 rows"
    page.mouse.wheel(0, 40_000)
    page.wait_for_function("document.querySelectorAll('article.card').length > 60")
    page.fill("#search", "p9999@x.io")
    assert cards(page) == ["p9999@x.io"]
    page.fill("#search", "")
    page.select_option("#status", "failed")
    assert page.inner_text("#count") == "1,000 of 10,000 rows"
    note = page.locator("article.s-completed .none")
    assert page.locator("article.s-completed").count() == 0
    page.select_option("#status", "completed")
    assert note.first.inner_text().startswith("No downloaded file and no fresh URL")
    assert time.monotonic() - started < 60  # generous: 2 shared cores; measured ~3 s


def test_report_without_a_lockfile_shows_every_row_not_submitted(campaign, cli) -> None:
    path = campaign()
    result = cli("report", path, "--out", path.parent / "r")
    assert result.exit_code == 0, result.output
    html = (path.parent / "r" / "index.html").read_text()
    data = json.loads(
        re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)[1]
    )
    assert [(c["k"], c["s"], c["x"]) for c in data["rows"]] == [
        ("dana@acme.io", "not submitted", "Hi Dana!"),
        ("li@globex.com", "not submitted", "Hi Li!"),
    ]
    assert data["rows"][0]["d"] == "~1s (estimated)"


def test_a_script_cannot_break_out_of_the_page(campaign, cli) -> None:
    path = campaign(csv="email,name,avatar\nx@y,</script><script>alert(1)</script>,a1\n")
    cli("report", path, "--out", path.parent / "r")
    html = (path.parent / "r" / "index.html").read_text()
    assert html.count("</script>") == 2  # the data's and the code's, nothing from the CSV


def test_duplicate_keys_are_refused_as_everywhere_else(campaign, cli) -> None:
    path = campaign(csv="email,name,avatar\nx@y,A,a1\nx@y,B,a2\n")
    result = cli("report", path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: people.csv: key column 'email' must be unique")
    assert not (path.parent / "m-report" / "index.html").exists()
