"""The real pages, built end to end from the pipeline's own output (sample and csv sources)."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from build_data.fetch.sources import sample
from build_data import formatting as f
from tests.conftest import write_csv_folder
from build_data.scratch import scratch_site
from tests.site_fixtures import FixtureSite, strip_code, tagged_values, visible_text

REPO = Path(__file__).resolve().parents[1]
BAD = [(re.compile(r"\bnan\b", re.I), "nan"), (re.compile(r"\bNone\b"), "None"), (re.compile(r"\binf\b"), "inf"),
       (re.compile(r"Macro Rendering Error"), "macro error")]


def real_site(root: Path, build_args: list[str], site_url: str = "http://127.0.0.1:8000/",
              ) -> tuple[FixtureSite, subprocess.CompletedProcess, dict]:
    """A scratch copy of the real site (build_data.scratch): the data build into its output, then mkdocs."""
    sc = scratch_site(root)
    data = sc.build_data(*build_args, "--cache-dir", str(root / "cache"), timeout=300)
    assert data.returncode == 0, data.stderr
    out = sc.out
    site = FixtureSite(root)
    run = site.build(site_url=site_url)
    return site, run, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    site, run, snap = real_site(tmp_path_factory.mktemp("real") / "s", ["--source", "sample", "--as-of", "2026-01-16"])
    assert run.returncode == 0, run.stdout + run.stderr
    return site, snap, site.html_pages()


def test_every_real_page_builds_without_raw_values(sample_site):
    _, _, pages = sample_site
    assert {"index.html", "bull-case/index.html", "bear-case/index.html", "watchlist/index.html",
            "methodology/index.html"} <= set(pages)
    for name, html in pages.items():
        text = visible_text(strip_code(html))
        for pattern, what in BAD:
            assert not pattern.search(text), f"{name}: {what}"
        for token in ("{{", "{%"):
            assert token not in text, f"{name}: {token}"


def test_every_number_on_the_real_pages_equals_the_snapshot(sample_site):
    _, snap, pages = sample_site
    metrics, facts = snap["metrics"], snap["facts"]
    checked = 0
    for name, html in pages.items():
        for el in tagged_values(html):
            a, text = el["attrs"], el["text"].strip()
            if "data-key" in a:
                m = metrics[a["data-key"]]
                expected = f.EM_DASH if m["value"] is None else f.format_value(m["value"], m["unit"], a.get("data-fmt"))
            elif "data-fact" in a:
                fact = facts[a["data-fact"]]
                expected, text = f.format_fact_value(fact["value"], fact["unit"]), text.split(" (", 1)[0]
            else:
                continue
            assert text == expected, f"{name}: {a}"
            checked += 1
    assert checked > 600


def test_the_home_page_links_the_archive_only_where_weeks_are_archived(sample_site):
    site, _, pages = sample_site
    assert not (site.site / "archive").exists()
    assert "This week" in pages["index.html"] and ">the archive</a>" not in pages["index.html"]


def test_sample_banner_and_charts_on_the_real_pages(sample_site):
    site, snap, pages = sample_site
    for name in ("index.html", "bull-case/index.html", "bear-case/index.html", "watchlist/index.html"):
        assert "SAMPLE DATA" in pages[name] and 'class="chart"' in pages[name]
    for chart_id in snap["charts"]:
        for suffix in (".vl.json", ".vg.json", ".svg", ".csv"):
            assert (site.site / "generated" / "charts" / f"{chart_id}{suffix}").is_file()
    assert "methodology" in pages["methodology/index.html"].lower()
    assert '<code id="metric-rut.ret_ytd">rut.ret_ytd</code>' in pages["methodology/index.html"]  # the generated metric table


def test_claims_on_pages_follow_the_snapshot(sample_site):
    _, snap, pages = sample_site
    for cid, claim in snap["claims"].items():
        page = "bull-case/index.html" if claim["page"] == "bull" else "bear-case/index.html"
        badge = {True: "holds", False: "no longer holds", None: "can't be checked"}[claim["holds"]]
        match = re.search(rf'data-claim="{cid}"><span class="badge[^"]*">([^<]+)<', pages[page])
        assert match and match.group(1) == badge, cid


# The argument pages: every sentence with a number, and every claim badge's section, is theirs.
ARGUMENT_PAGES = ("bull-case/index.html", "bear-case/index.html", "watchlist/index.html")
# Headings that state no verdict, read by hand: true whichever way their section's claims go.
NEUTRAL_HEADINGS = {"The breakout level", "The long-term trend", "Price against its averages", "Distance from the record",
                    "Micro-caps", "The economy", "Momentum", "Volume behind the rally", "Quality"}


def prose_dashes(html: str) -> list[str]:
    """Paragraphs of the page (not tables, not a strip of key numbers) that show the "not
    available" dash: a sentence that needed a missing number."""
    return [p for p in re.findall(r"<p\b[^>]*>(.*?)</p>", html, flags=re.S)
            if 'class="na' in p and 'class="key-numbers"' not in p]


def contradicted_headings(html: str) -> list[str]:
    """Each h2 section with a claim badge whose heading is neither neutral nor written for the
    badge's state, and each state-aware phrase that disagrees with its claim's badge."""
    badges = dict(re.findall(r'data-claim="([^"]+)"><span class="badge badge--(\w+)"', html))
    problems = [f"{cid}: text for {state}, badge {badges.get(cid)}"
                for state, cid in re.findall(r'data-claim-state="(\w+)" data-for="([^"]+)"', html)
                if badges.get(cid) != state]
    for chunk in html.split("<h2")[1:]:
        heading, body = chunk.split("</h2>", 1)
        body = body.split("<h2", 1)[0]
        ids = re.findall(r'data-claim="([^"]+)"><span class="badge', body)
        aware = re.findall(r'data-claim-state="\w+" data-for="([^"]+)"', heading)
        title = re.sub(r"<[^>]+>|¶|&para;", "", heading.split(">", 1)[1]).strip()
        if ids and not (set(ids) <= set(aware) or title in NEUTRAL_HEADINGS):
            problems.append(f"heading {title!r} over the badge of {ids}")
    return problems


@pytest.mark.parametrize("day", ["2026-01-16", "2026-05-15", "2026-08-21"])
def test_the_argument_pages_have_no_prose_dash_and_no_contradicted_heading(tmp_path, day):
    site, run, snap = real_site(tmp_path / "s", ["--source", "sample", "--as-of", day])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "placeholder in prose" not in run.stderr and "claim without state-aware text" not in run.stderr
    pages = site.html_pages()
    for name in ARGUMENT_PAGES:
        assert prose_dashes(pages[name]) == [], name
        assert contradicted_headings(pages[name]) == [], name
    states = {c["holds"] for c in snap["claims"].values()}
    assert states <= {True, False}  # the sample checks every claim: the unknown state is the next test's
    bear = visible_text(pages["bear-case/index.html"])
    # The March 2026 meeting: a dated passage, then its after-text, listed as overdue by the build.
    assert ("is the first test" in bear) == (day < "2026-03-18")
    assert ("The March 2026 meeting, the first test" in bear) == (day >= "2026-03-18")
    assert ('overdue passage: bear-case.md' in run.stderr) == (day >= "2026-03-18")


def test_partial_csv_data_still_builds_and_explains_the_gaps(tmp_path, universe):
    tickers = [s.ticker for s in universe.symbols.values() if s.ticker not in ("IWM", "IWC")]
    folder = write_csv_folder(tmp_path / "data", sample.sample_prices(tickers, dt.date(2026, 1, 16)), {})
    site, run, snap = real_site(tmp_path / "site", ["--source", "csv", "--data-dir", str(folder),
                                                    "--as-of", "2026-01-16"])
    assert run.returncode == 0, run.stdout + run.stderr
    pages = site.html_pages()
    assert snap["data_mode"] == "csv"
    bear = pages["bear-case/index.html"]
    assert "Chart unavailable" in bear  # no IWM volume, no macro series
    # A sentence that needs IWM's volume gives way to one line naming what is missing and why.
    assert re.search(r'<span class="missing" data-missing="[^"]*iwm\.volume_ratio[^"]*">Not available at this close: '
                     r'[^<]*\(no data: no file IWM\.csv in the data folder', bear)
    assert prose_dashes(bear) == []
    for name, html in pages.items():
        text = visible_text(strip_code(html))
        for pattern, what in BAD:
            assert not pattern.search(text), f"{name}: {what}"
    assert machine_paths(site.site, tmp_path) == []


# A folder of the build machine: the test's temp root, or a typical home/temp/runner prefix.
MACHINE_FOLDER = re.compile(r"(?<![\w:/.])(?:/(?:tmp|home|Users|root|var|private|runner|opt|work)/|[A-Z]:\\)")


def machine_paths(site_dir: Path, tmp_root: Path) -> list[str]:
    """Where the built site (pages, metrics.json, feeds, search index) names a machine folder."""
    found = []
    for path in sorted(site_dir.rglob("*")):
        if path.suffix not in (".html", ".json", ".xml") or "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for hit in [str(tmp_root)] if str(tmp_root) in text else []:
            found.append(f"{path.relative_to(site_dir)}: {hit}")
        found += [f"{path.relative_to(site_dir)}: {m.group(0)}" for m in MACHINE_FOLDER.finditer(text)]
    return found


def test_no_machine_path_is_published(sample_site, tmp_path):
    site, _, _ = sample_site
    assert (site.site / "search" / "search_index.json").is_file()
    assert (site.site / "generated" / "metrics.json").is_file()
    assert machine_paths(site.site, site.root) == []


def test_search_indexes_definitions_not_the_table_of_every_number(sample_site):
    """The site search finds the metric reference and the prose; the 517-row table of values has
    its own filter and stays out of the index every page downloads."""
    site, _, _ = sample_site
    index = json.loads((site.site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = {d["location"]: d["title"] + " " + d["text"] for d in index["docs"]}
    every = [loc for loc in text if loc.startswith("methodology/#every-number")]
    assert every, sorted(text)  # the section itself is still found, by its title and prose
    assert all("rut.ret_ytd" not in text[loc] for loc in every)
    reference = " ".join(t for loc, t in text.items() if loc.startswith("methodology/#metric-reference"))
    assert "X.rsi_14" in reference and "relative strength index" in reference
    methodology = sum(len(t) for loc, t in text.items() if loc.startswith("methodology/"))
    assert methodology < 20_000, methodology  # was about 63,000 characters with every row


def test_unknown_key_in_a_real_page_fails_with_suggestions(tmp_path):
    root = tmp_path / "site"
    site, run, _ = real_site(root, ["--source", "sample", "--as-of", "2026-01-16"])
    page = root / "docs" / "bull-case.md"
    page.write_text(page.read_text() + '\n{{ metric("rut.rsi14") }}\n')
    run = site.build()
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "bull-case.md" in out and "'rut.rsi14'" in out and "'rut.rsi_14'" in out


def test_pages_stay_within_the_weight_budget(sample_site):
    """Bytes, gzip, as a reader's browser transfers them (deterministic, unlike load times)."""
    from tests.tools import pageweight as pw

    site, _, _ = sample_site
    weights = {w["page"]: w for w in pw.site_weights(site.site)}
    plain = [w for w in weights.values() if not w["charts"]]
    charted = [w for w in weights.values() if w["charts"]]
    assert {"methodology/index.html", "authoring/index.html"} <= {w["page"] for w in plain}
    assert {"index.html", "bull-case/index.html", "bear-case/index.html", "watchlist/index.html"} <= {
        w["page"] for w in charted}
    for w in plain:
        assert w["bytes"] <= pw.BUDGET_NO_CHARTS and w["hydrated"] == 0, w
    for w in charted:
        assert w["before"] <= pw.BUDGET_BEFORE_HYDRATION, w  # what the reader gets first
        # What hydration adds is the runtime and the compiled specs, nothing the first view needs.
        assert w["hydrated"] > pw.runtime_weight(site.site), w
    assert pw.runtime_weight(site.site) <= pw.BUDGET_RUNTIME


def test_each_chart_has_its_data_as_csv_and_every_number_is_in_metrics_csv(sample_site):
    import csv
    import io

    from build_data.publish.render import chart_rows

    site, snap, pages = sample_site
    gen = site.site / "generated"
    for cid, chart in snap["charts"].items():
        spec = json.loads((gen / chart["source"]).read_text())
        columns, rows = chart_rows(spec)
        table = list(csv.DictReader(io.StringIO((gen / chart["csv"]).read_text())))
        # (The .vl.json is written with sorted keys, so compare columns as a set.)
        assert set(table[0]) == set(columns) and len(table) == len(rows) > 0, cid
        # Exactly what the chart shows: the first and last rows match the spec's data.
        for got, want in ((table[0], rows[0]), (table[-1], rows[-1])):
            assert got == {k: "" if want.get(k) is None else str(want[k]) for k in columns}, cid
    page_csv = {p: re.findall(r'href="([^"]+\.csv)"', html) for p, html in pages.items()}
    assert page_csv["bear-case/index.html"] == [f"../generated/charts/{c}.csv" for c in ("rsi", "iwm-volume", "macro-panel")]
    numbers = list(csv.DictReader(io.StringIO((gen / "metrics.csv").read_text())))
    assert [r["key"] for r in numbers] == sorted(snap["metrics"])
    for r in numbers:
        m = snap["metrics"][r["key"]]
        assert r["unit"] == m["unit"] and r["source"] == (m.get("source") or "")
        assert (r["value"] == "") == (m["value"] is None), r
    methodology = pages["methodology/index.html"]
    assert 'href="../generated/metrics.json"' in methodology and 'href="../generated/metrics.csv"' in methodology


def test_year_to_date_chart_starts_at_100_on_the_previous_years_last_close(sample_site):
    """2025-12-31 is a session: the chart has one row for it, at 100 (on that day ret_ytd is the
    whole of 2025's return, which must not be drawn as a first point), and ends at 100 x (1 + the
    YTD return on the page)."""
    import csv
    import io

    site, snap, _ = sample_site
    chart = snap["charts"]["performance-ytd"]
    rows = list(csv.DictReader(io.StringIO((site.site / "generated" / chart["csv"]).read_text())))
    by_series: dict[str, list[tuple[str, float]]] = {}
    for r in rows:
        if r["series"]:  # (the dashed rule at 100 is a row of its own, without a series)
            by_series.setdefault(r["series"], []).append((r["date"], float(r["value"])))
    names = {m["label"].rsplit(" YTD ", 1)[0]: k for k, m in snap["metrics"].items() if k.endswith(".ret_ytd")}
    assert set(by_series) == {"Russell 2000", "S&P 500", "Nasdaq-100"}
    for series, points in by_series.items():
        dates = [d for d, _ in points]
        assert len(dates) == len(set(dates)), f"{series}: a date drawn twice"
        assert points[0] == ("2025-12-31", 100.0), series
        assert all(d.startswith("2026-") for d in dates[1:]), series
        ret = snap["metrics"][names[series]]["value"]
        assert snap["metrics"][names[series]]["label"].endswith(" YTD price return"), series  # indexes
        assert points[-1][1] == pytest.approx(100 * (1 + ret), rel=1e-9), series


def test_changes_page_links_the_feeds_that_the_build_wrote(sample_site):
    import xml.etree.ElementTree as ET

    site, snap, pages = sample_site
    html = pages["changes/index.html"]
    assert 'href="../generated/changes.xml"' in html and 'href="../generated/changes.json"' in html
    rss = ET.parse(site.site / "generated" / "changes.xml").getroot()
    assert len(rss.findall("./channel/item")) == len(snap["changes"])
    feed = json.loads((site.site / "generated" / "changes.json").read_text())
    assert [i["title"] for i in feed["items"]] == [c["text"] for c in snap["changes"]]
    # Each item links to the section that shows it (a claim's badge, a watch item's row) when a
    # page shows it, else to its entry on the Changes page; values travel with the items.
    for item, change in zip(feed["items"], snap["changes"]):
        page, _, anchor = item["url"].removeprefix("http://127.0.0.1:8000/").partition("#")
        assert f'id="{anchor}"' in pages[(page or "") + "index.html"], item["url"]
        assert item["_signal"]["value_text"] == change.get("value_text")


def test_every_page_declares_the_feeds(sample_site):
    """Feed readers find the feeds from any page: <link rel="alternate"> in the head, relative to
    the page, and the empty sitemap Material's instant navigation asks for beside them."""
    site, _, pages = sample_site
    for name, prefix in (("index.html", "./"), ("bear-case/index.html", "../"), ("changes/index.html", "../")):
        head = pages[name].split("</head>")[0]
        assert f'<link rel="alternate" type="application/rss+xml" title="Small caps, checked: signal changes (RSS)" ' \
               f'href="{prefix}generated/changes.xml">' in head, name
        assert f'<link rel="alternate" type="application/feed+json" title="Small caps, checked: signal changes ' \
               f'(JSON Feed)" href="{prefix}generated/changes.json">' in head, name
    assert (site.site / "generated" / "sitemap.xml").read_text().count("<url>") == 0


def test_link_preview_card_points_at_the_rendered_png(sample_site):
    site, _, pages = sample_site
    html = pages["bull-case/index.html"]
    image = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    assert image == "http://127.0.0.1:8000/generated/charts/performance-ytd.png"
    png = site.site / "generated" / "charts" / "performance-ytd.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert '<meta property="og:title" content="Bull case · Small caps, checked">' in html


def test_real_chart_specs_meet_the_chart_contract(sample_site):
    from tests.site_fixtures import spec_problems

    site, snap, _ = sample_site
    for cid, chart in snap["charts"].items():
        spec = json.loads((site.site / "generated" / chart["source"]).read_text())
        assert spec_problems(spec) == [], cid
        # What the page draws: Vega compiled from that source, at the fallback's fixed width, with
        # no background of its own (the palette's comes in at draw time).
        vega = json.loads((site.site / "generated" / chart["spec"]).read_text())
        assert vega["$schema"].startswith("https://vega.github.io/schema/vega/v6"), cid
        assert "background" not in vega and "containerSize" not in json.dumps(vega), cid


def test_each_chart_is_drawn_narrow_for_phones(sample_site):
    """A wide chart scaled to a 390 px phone has text about 5 px tall: each chart also has a
    narrow drawing, as wide as a phone's text column, and the page offers it to narrow screens
    with its own size. Each drawing has its dark twin, of the same size."""
    from build_data.publish import render

    site, snap, pages = sample_site
    gen = site.site / "generated"
    drawn = {cid: c for cid, c in snap["charts"].items() if c.get("spec")}
    assert len(drawn) == 7
    for cid, chart in drawn.items():
        assert 280 <= chart["narrow_width"] <= 380 < chart["width"], cid
        svg = (gen / chart["narrow_svg"]).read_text()
        assert f'width="{chart["narrow_width"]}"' in svg[:400] or f'width="{chart["narrow_width"]}.' in svg[:400], cid
        sizes = {float(x) for x in re.findall(r'font-size="([\d.]+)px"', svg)}
        assert sizes and min(sizes) >= 11, (cid, sizes)
        for light, dark in (("svg", "svg_dark"), ("narrow_svg", "narrow_svg_dark")):
            assert render.svg_size(gen / chart[dark]) == render.svg_size(gen / chart[light]), (cid, dark)
        vega = json.loads((gen / chart["narrow_spec"]).read_text())
        assert "background" not in vega and "containerSize" not in json.dumps(vega), cid
    html = pages["bear-case/index.html"]
    figures = re.findall(r'<figure class="chart" data-chart="([^"]+)"', html)
    assert len(figures) == 3
    for cid in figures:
        chart = drawn[cid]
        assert (f'srcset="../generated/{chart["narrow_svg"]}" width="{chart["narrow_width"]}"'
                f' height="{chart["narrow_height"]}"') in html, cid


def _aliases():
    from build_data.compute import keys

    u = keys.load_universe()
    return [(a, s.ticker) for a, s in u.symbols.items()] + [(a, m.series) for a, m in u.macro.items()]


@pytest.fixture(scope="module")
def full_csv(tmp_path_factory):
    from build_data.compute import keys

    u = keys.load_universe()
    end = dt.date(2026, 1, 16)
    return (sample.sample_prices([s.ticker for s in u.symbols.values()], end),
            sample.sample_macro([m.series for m in u.macro.values()], end))


@pytest.mark.parametrize("alias, name", _aliases())
def test_any_one_series_missing_still_builds_the_real_site(tmp_path, full_csv, alias, name):
    """Each series removed in turn: the data build and `mkdocs build --strict` succeed, and what
    needed the series says why it can't be shown."""
    prices, macro = full_csv
    prices = {t: f for t, f in prices.items() if t != name}
    macro = {s: v for s, v in macro.items() if s != name}
    folder = write_csv_folder(tmp_path / "data", prices, macro)
    site, run, snap = real_site(tmp_path / "site", ["--source", "csv", "--data-dir", str(folder),
                                                    "--as-of", "2026-01-16"])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert snap["series_status"][alias]["status"] == "missing"
    empty = [k for k, v in snap["metrics"].items() if v["value"] is None]
    assert empty and all(snap["metrics"][k]["reason"] for k in empty)
    assert any(k.startswith(f"{alias}.") for k in empty)
    for chart in snap["charts"].values():
        assert chart["spec"] or chart["reason"]
    pages = site.html_pages()
    for page, html in pages.items():
        text = visible_text(strip_code(html))
        for pattern, what in BAD:
            assert not pattern.search(text), f"{page}: {what}"
    # No sentence of the argument shows a dash: needs() names what is missing instead, and no
    # heading claims what a badge that can't be checked does not say.
    for name in ARGUMENT_PAGES:
        assert prose_dashes(pages[name]) == [], name
        assert contradicted_headings(pages[name]) == [], name
    assert not [line for line in run.stderr.splitlines() if "placeholder in prose" in line
                and any(f": {page}, line" in line for page in ("bull-case.md", "bear-case.md", "watchlist.md",
                                                               "authoring.md"))]


def test_methodology_series_table_shows_data_quality_notes(tmp_path, full_csv):
    prices, macro = full_csv
    rut = prices["^RUT"]
    extra = rut.iloc[[-1, -1]].set_axis(pd.DatetimeIndex(["2026-01-03", "2026-01-10"]))  # two Saturdays
    prices = {**prices, "^RUT": pd.concat([rut, extra]).sort_index()}
    folder = write_csv_folder(tmp_path / "data", prices, macro)
    site, run, snap = real_site(tmp_path / "site", ["--source", "csv", "--data-dir", str(folder),
                                                    "--as-of", "2026-01-16"])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    html = site.html_pages()["methodology/index.html"]
    assert "dropped 2 rows dated on non-sessions: 2026-01-03, 2026-01-10" in html
