"""End to end: `mkdocs build --strict` on a fixture site, then assertions on the HTML."""

from __future__ import annotations

import copy
import json
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import macros
from build_data import formatting as f
from tests.site_fixtures import (
    FIXTURE_PAGES,
    FIXTURES,
    fixture_chart_specs,
    spec_problems,
    load_fixture_snapshot,
    make_site,
    strip_code,
    tagged_values,
    visible_text,
    write_vendor,
)

SITE_URL = "http://127.0.0.1:8000/"
PAGES = ["index.html", "bull-case/index.html", "bear-case/index.html", "watchlist/index.html",
         "methodology/index.html", "authoring/index.html", "deep/nested/charts/index.html", "404.html"]  # fmt: skip


@pytest.fixture(scope="module")
def vendor(tmp_path_factory) -> Path:
    return write_vendor(tmp_path_factory.mktemp("vendor"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, vendor):
    site = make_site(tmp_path_factory.mktemp("build") / "site", vendor=vendor)
    run = site.build(site_url=SITE_URL)
    assert run.returncode == 0, run.stdout + run.stderr
    return site, run, site.html_pages()


def test_strict_build_is_clean(built):
    _, run, pages = built
    assert not [line for line in run.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert set(PAGES) <= set(pages)


BAD_WORDS = [
    (re.compile(r"\bnan\b", re.I), "nan"),
    (re.compile(r"\bNone\b"), "None"),
    (re.compile(r"\b-?inf(inity)?\b", re.I), "inf"),
    (re.compile(r"\bundefined\b"), "undefined"),
    (re.compile(r"Macro (Rendering|Syntax) Error"), "macro error"),
]


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_values_or_template_syntax(built, page):
    html = built[2][page]
    text = visible_text(html)
    attributes = " ".join(re.findall(r'(?:title|alt|aria-label)="([^"]*)"', html))
    for pattern, name in BAD_WORDS:
        assert not pattern.search(text), f"{page}: {name} in the text"
        assert not pattern.search(attributes), f"{page}: {name} in an attribute"
    # Braces may be shown in code samples (the authoring page); nowhere else.
    outside_code = visible_text(strip_code(html))
    for token in ("{{", "}}", "{%", "%}", "{##"):
        assert token not in outside_code, f"{page}: {token!r} outside code"


def test_numbers_on_pages_equal_the_snapshot_after_formatting(built):
    snapshot = load_fixture_snapshot()
    metrics, facts, watch = snapshot["metrics"], snapshot["facts"], snapshot["watchlist"]
    seen = set()
    checked = 0
    for page, html in built[2].items():
        for el in tagged_values(html):
            a, text = el["attrs"], el["text"].strip()
            if "data-key" in a:
                m = metrics[a["data-key"]]
                expected = f.EM_DASH if m["value"] is None else f.format_value(m["value"], m["unit"], a.get("data-fmt"))
                seen.add(a["data-key"])
            elif "data-fact" in a:
                fact = facts[a["data-fact"]]
                expected = f.format_fact_value(fact["value"], fact["unit"], fact.get("decimals"))
                if fact["expired"]:  # history, not the present: "was 16.1×, as of Sep 2025"
                    expected = f"was {expected}, as of {f.fmt_month(fact['date'])}"
            else:
                item = watch[a["data-watch"]]
                unit = metrics[item["metric"]]["unit"]
                expected = f.EM_DASH if item["value"] is None else f.format_value(item["value"], unit)
            assert text == expected, f"{page}: {a}"
            checked += 1
    assert checked > 100
    # metrics_table() lists every metric, so every key must have been checked somewhere.
    assert seen == set(metrics)


def test_missing_values_show_their_reason(built):
    # In a table: the dash, with a note marker; the page's notes give the reason (visible without hover).
    table = built[2]["bear-case/index.html"]
    assert re.search(r'data-key="xlre.ret_1m">—\s*<span class="visually-hidden">[^<]*</span></span>'
                     r'<sup class="note-ref"><a href="#note-\d+"', table)
    notes = table[table.index('<section class="source-notes"'):]
    assert "not available: XLRE series is stale: last session 2026-01-09." in notes
    # In prose: no dash; needs() gives one line naming what is missing, why and since when.
    html = built[2]["deep/nested/charts/index.html"]
    line = re.search(r'<span class="missing" data-missing="xlre.ret_1m">(.*?)</span>', html).group(1)
    assert re.sub(r"<[^>]+>", "", line) == ("Not available at this close: Real Estate 1-month return (XLRE series "
                                             "is stale: last session 2026-01-09; no data since Jan 9, 2026).")
    assert "Missing value" not in html and 'class="na' not in html


class Refs(HTMLParser):
    """Every URL a page makes the browser load (not links it merely offers)."""

    LOADS = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("source", "src"),
             ("source", "srcset"), ("iframe", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"),
             ("object", "data"), ("figure", "data-spec"), ("input", "src")}  # fmt: skip

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("canonical", "prev", "next", "alternate"):
            return  # navigation hints, not loads
        for t, name in self.LOADS:
            if t == tag and a.get(name):
                self.urls.extend((tag, u.strip().split(" ")[0]) for u in a[name].split(","))
        for u in re.findall(r"url\(([^)]+)\)", a.get("style") or ""):
            self.urls.append((tag, u.strip("'\"")))


def is_same_origin(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return True
    if not parts.scheme and not parts.netloc:
        return True  # relative
    return f"{parts.scheme}://{parts.netloc}/" == SITE_URL


@pytest.mark.parametrize("page", PAGES)
def test_no_external_scripts_styles_or_fonts(built, page):
    site, _, pages = built
    html = pages[page]
    refs = Refs()
    refs.feed(html)
    external = [(t, u) for t, u in refs.urls if not is_same_origin(u)]
    assert not external, f"{page} loads {external}"
    for css in re.findall(r"<style\b.*?</style>", html, flags=re.S):
        assert not re.search(r"@import|url\((['\"])?(https?:)?//", css), page
    # Every loaded relative URL exists in the built site (relative URLs work at any depth).
    for tag, url in refs.urls:
        path = urlsplit(url).path
        if urlsplit(url).scheme or not path:
            continue
        # 404.html uses root-relative URLs (it is served from any depth).
        base = "" if path.startswith("/") else posixpath.dirname(page)
        target = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
        assert (site.site / target).exists() or (site.site / target / "index.html").exists(), f"{page}: {tag} {url}"


def test_stylesheets_load_nothing_from_elsewhere(built):
    site = built[0].site
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, css
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            assert is_same_origin(url), f"{css}: {url}"
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), css


def test_chart_runtime_is_not_on_pages_without_charts(built):
    pages = built[2]
    for page, html in pages.items():
        assert "vega-bundle" not in html, page  # only charts.js imports it, on demand
    assert "figure class=\"chart\"" not in pages["watchlist/index.html"]
    assert pages["bull-case/index.html"].count('<figure class="chart"') == 1
    assert (built[0].site / "generated" / "vendor" / "vega-bundle.js").is_file()
    assert '<script src="../assets/charts.js"></script>' in pages["bull-case/index.html"]


@pytest.mark.parametrize("page", PAGES)
def test_banner_on_every_page(built, page):
    html = built[2][page]
    assert ('<p class="data-banner data-banner--live" data-mode="live" data-as-of="2026-01-15" '
            'data-stale-after="5">') in html
    assert "Data as of Jan 15, 2026 (close)." in html
    # The staleness warning has its place in the server's HTML (filled in while parsing, so
    # nothing is inserted above the content after load).
    assert '<span class="data-banner__stale" role="status" hidden></span>' in html


@pytest.mark.parametrize(
    ("mode", "note", "headline"),
    [
        ("sample", "No network and no cache: synthetic prices.", "SAMPLE DATA, not real prices."),
        ("cache", "Cached data as of 2026-01-14: Yahoo did not answer.", "Cached data, as of Jan 15, 2026."),
    ],
)
def test_banner_follows_the_data_mode(tmp_path, vendor, mode, note, headline):
    data = load_fixture_snapshot()
    data.update(data_mode=mode, mode_note=note)
    site = make_site(tmp_path / "site", vendor=vendor, snapshot=data)
    run = site.build()
    assert run.returncode == 0, run.stderr
    pages = site.html_pages()
    for page in ("index.html", "bull-case/index.html", "deep/nested/charts/index.html", "authoring/index.html"):
        assert f'data-banner--{mode}" data-mode="{mode}" data-as-of=' in pages[page], page
        assert headline in pages[page] and note in pages[page]


def test_authoring_page_lists_every_macro(built):
    html = built[2]["authoring/index.html"]
    for name in (*macros.MACROS, "macro_reference"):
        assert f"<code>{name}&#40;" in html, name
    # The raw-block example shows as literal code, written with entities so the built page
    # holds no template syntax at all.
    assert "&#123;% raw %&#125;" in html and "&#123;% endraw %&#125;" in html
    assert "{{" not in html and "{%" not in html


def test_fixture_pages_cover_every_macro():
    used = "".join(FIXTURE_PAGES.values())
    for name in macros.MACROS:
        assert f"{name}(" in used, name


def test_attribute_lists_and_admonitions(built):
    html = built[2]["bull-case/index.html"]
    assert '<h1 id="bull">' in html and '<h2 id="leadership">' in html
    admonition = html.split('<div class="admonition note">', 1)[1].split("</div>\n", 1)[0]
    assert 'data-key="iwm.volume_ratio"' in admonition and 'class="key-numbers"' in admonition
    code = re.sub(r"<[^>]+>", "", html.split("<pre", 1)[1].split("</pre>", 1)[0])
    assert 'template = &quot;{{ not_a_macro }}&quot;' in code or 'template = "{{ not_a_macro }}"' in code


@pytest.mark.parametrize("cid", sorted(fixture_chart_specs()))
def test_fixture_specs_meet_the_chart_contract(cid):
    assert spec_problems(json.loads(json.dumps(fixture_chart_specs()[cid]))) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda s: s.update(width=600), "width"),
        (lambda s: s["layer"][0]["encoding"]["x"].update(type="temporal", timeUnit=None), "timeUnit None"),
        (lambda s: s["layer"][0]["encoding"]["tooltip"][0].pop("timeUnit"), "no utc scale"),
        (lambda s: s["layer"][0]["encoding"]["tooltip"][0].update(timeUnit="yearmonthdate"), "'yearmonthdate'"),
        (lambda s: next(iter(s["datasets"].values()))[0].update(date="2026-01-13T00:00:00"), "not YYYY-MM-DD"),
        (lambda s: s["config"].update(axis={"labelColor": "#333"}), "config.axis.labelColor"),
        (lambda s: s.update({"$schema": "https://vega.github.io/schema/vega-lite/v5.json"}), "v6"),
    ],
)
def test_spec_checker_catches_each_broken_rule(change, problem):
    spec = json.loads(json.dumps(fixture_chart_specs()["rsi"]))
    spec = copy.deepcopy(spec)
    change(spec)
    assert any(problem in p for p in spec_problems(spec)), spec_problems(spec)
