"""The real pages for readers who use a keyboard, a screen reader, a phone, dark mode or paper.

axe-core (npm, pinned in package.json, installed by `npm ci`) is injected through Playwright into
every page of the real site at 1400 and 390 px in both palettes, after its charts have hydrated:
no violation of the WCAG 2.2 AA rules is allowed. The other tests check by hand what axe cannot:
provenance reachable by keyboard, wide tables scrollable by keyboard, the long table's filter,
and what a printed page keeps.
"""
from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest

from tests.site_fixtures import REPO
from tests.test_browser import REAL_CHART_PAGES, Session, browser, real_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PAGES = {**REAL_CHART_PAGES, "authoring/": 0}


def axe_violations(page) -> list[str]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make node_modules/.installed` (npm ci)", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA)
    return [f"{v['id']} x{len(v['nodes'])}: {v['nodes'][0]['target']} {v['nodes'][0].get('failureSummary', '')[:160]}"
            for v in result["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1400, 390])
def test_no_wcag_22_aa_violation_on_any_page(browser, real_server, width, scheme):  # noqa: F811
    with Session(browser, real_server, color_scheme=scheme) as s:
        s.page.set_viewport_size({"width": width, "height": 900})
        found = {}
        for path, charts in PAGES.items():
            s.goto(path)
            if charts:
                s.wait_for_charts(charts)  # the final state: interactive views over the images
            expected = "slate" if scheme == "dark" else "default"
            assert s.page.evaluate("document.body.getAttribute('data-md-color-scheme')") == expected
            if problems := axe_violations(s.page):
                found[path or "/"] = problems
        assert not found, json.dumps(found, indent=1)
        s.check_clean()


def test_provenance_is_a_link_to_the_numbers_row(browser, real_server):  # noqa: F811
    with Session(browser, real_server) as s:
        s.goto("bull-case/")
        number = s.page.locator("article a.metric[data-key]").first
        key, title = number.get_attribute("data-key"), number.get_attribute("title")
        assert "as of" in title  # the hover text stays, for mice
        # Keyboard: Tab reaches the number (it is a link), Enter follows it.
        s.page.keyboard.press("Tab")
        for _ in range(60):
            if s.page.evaluate("document.activeElement.matches('a.metric')"):
                break
            s.page.keyboard.press("Tab")
        assert s.page.evaluate("document.activeElement.matches('article a.metric')")
        key = s.page.evaluate("document.activeElement.dataset.key")
        s.page.keyboard.press("Enter")
        s.page.wait_for_url(f"{real_server}methodology/#metric-{key}")
        row = s.page.locator(f'tr:has(code[id="metric-{key}"])')
        row.wait_for()
        assert row.is_visible() and s.page.evaluate("document.querySelector(':target').id") == f"metric-{key}"
        cells = row.locator("td").all_text_contents()
        assert cells[0] == key and cells[4] and cells[5]  # key, label, value, unit, as of, source
        s.check_clean()


def test_wide_tables_scroll_by_keyboard_on_phones(browser, real_server):  # noqa: F811
    with Session(browser, real_server) as s:
        s.page.set_viewport_size({"width": 390, "height": 800})
        s.goto("watchlist/")
        box = s.page.locator(".sector-table [role=region]").first
        box.wait_for()
        assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label").endswith("(table)")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # wider than a phone
        box.focus()
        for _ in range(8):
            s.page.keyboard.press("ArrowRight")
        s.page.wait_for_function("b => b.scrollLeft > 0", arg=box.element_handle())
        s.check_clean()


def test_the_watchlist_fits_a_phone_and_stays_a_table(browser, real_server):  # noqa: F811
    """At 390 px every column of the watch tables, "Changed" included, is on screen without
    scrolling sideways; drawn as a grid, the table keeps its rows, header cells and cells."""
    with Session(browser, real_server) as s:
        s.page.set_viewport_size({"width": 390, "height": 800})
        s.goto("watchlist/")
        s.page.locator(".watch-table [role=region]").first.wait_for()
        for box in s.page.locator(".watch-table .md-typeset__scrollwrap").all():
            assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the watch table scrolls sideways"
        changed = s.page.locator(".watch-table tbody td:last-child")
        assert changed.count() > 5
        for cell in changed.all():
            cell.scroll_into_view_if_needed()
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] > 40, box
            assert cell.locator("time").bounding_box()["x"] + 1 >= box["x"]  # the date is within its cell
        # What a screen reader gets: Chromium's accessibility tree, not the markup.
        cdp = s.context.new_cdp_session(s.page)
        nodes = [n for n in cdp.send("Accessibility.getFullAXTree")["nodes"] if not n.get("ignored")]
        roles = [n.get("role", {}).get("value") for n in nodes]
        names = {n.get("name", {}).get("value") for n in nodes if n.get("role", {}).get("value") == "columnheader"}
        tables = s.page.locator(".watch-table table").count()
        rows = s.page.locator(".watch-table tr").count()
        assert roles.count("table") >= tables and roles.count("row") >= rows
        assert {"Item", "Now", "Threshold", "Status", "Changed"} <= names
        # Header cells are columnheaders natively; stated, Material would draw them as sortable.
        assert s.page.locator(".watch-table th[role]").count() == 0
        s.check_clean()


def test_the_table_of_every_number_is_compact_and_filters(browser, real_server):  # noqa: F811
    with Session(browser, real_server) as s:
        s.goto("methodology/")
        assert s.page.evaluate("document.documentElement.scrollHeight") < 12_000  # not a 53,000 px scroll
        box = s.page.locator("#metrics-filter")
        assert box.is_enabled()
        count = s.page.locator(".table-filter__count")
        total = int(count.text_content().split()[0])
        assert total > 500
        box.fill("rut.rsi")
        shown = s.page.locator(".metrics-table tbody tr:not([hidden])")
        assert 0 < shown.count() < 10 and f"of {total} numbers" in count.text_content()
        assert all("rut.rsi" in k for k in shown.locator("td:first-child").all_text_contents())
        # The downloads it links are there, and metrics.csv holds every number.
        text = urllib.request.urlopen(real_server + "generated/metrics.csv", timeout=10).read().decode()
        assert len(list(csv.DictReader(io.StringIO(text)))) == total
        s.check_clean()


def test_without_javascript_the_full_table_is_there(browser, real_server):  # noqa: F811
    with Session(browser, real_server, java_script_enabled=False) as s:
        s.goto("methodology/")
        assert s.page.locator("#metrics-filter").is_disabled()
        assert s.page.locator(".metrics-table tbody tr").count() > 500
        assert s.page.locator(".metrics-table tbody tr:visible").count() > 500


def test_print_keeps_the_banner_and_the_charts_as_svg(browser, real_server):  # noqa: F811
    with Session(browser, real_server) as s:
        s.goto("bear-case/")
        s.wait_for_charts(3)
        s.page.emulate_media(media="print")
        banner = s.page.locator(".md-banner .data-banner")
        assert banner.is_visible() and "SAMPLE DATA" in banner.text_content()
        for fig in s.page.locator("figure.chart").all():
            assert fig.locator(".chart-light img").is_visible()  # the SVG, not the interactive view
            assert fig.locator(".chart-dark img").is_hidden()  # paper is white: the light drawing
            assert fig.locator(".chart-view").is_hidden()
        # Printed from the dark palette too: still the light drawings.
        s.page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
        for fig in s.page.locator("figure.chart").all():
            assert fig.locator(".chart-light img").is_visible() and fig.locator(".chart-dark img").is_hidden()
        s.page.evaluate("document.body.setAttribute('data-md-color-scheme', 'default')")
        pdf = s.page.pdf()
        assert pdf[:5] == b"%PDF-"
        s.check_clean()
