"""Build small fixture sites into temporary folders, with the repo's real config and code.

A fixture site is a scratch copy of the default site (build_data/scratch.py: its mkdocs.yml
inherits the real one, macros/ is linked) whose docs/ holds the real authoring.md, fixture versions
of the other pages, and docs/generated/ filled from tests/fixtures (snapshot), chart specs and SVGs
made by Altair at test time, plus the vendored chart runtime. `mkdocs build --strict` then runs
in a subprocess, as in CI.

    python -m tests.site_fixtures charts DIR   # write the fixture charts (Altair) into DIR to look at
"""

from __future__ import annotations

import copy
import functools
import tempfile
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from build_data import scratch
from build_data import site as sites

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SNAPSHOT_FIXTURE = FIXTURES / "snapshot_min.json"

# Pages of the real docs/ that must build against any snapshot (they use only generic keys).
# The other pages are written against the real catalog, so fixture versions stand in for them.
REAL_PAGES = ("authoring.md", "tutorial.md")

# Fixture versions of the pages other people write; together they call every macro, at two
# depths, inside admonitions and next to Material's `{#id}` attribute lists and code blocks.
FIXTURE_PAGES = {
    "index.md": """\
# Small caps, checked

The Russell 2000 is {{ metric("rut.ret_ytd", "signed_pct") }} this year as of {{ asof() }}, against
{{ metric("spx.ret_ytd", "signed_pct") }} for the S&P 500. Its RSI-14 stands at {{ metric("rut.rsi_14") }}.

{{ key_numbers(["rut.ret_ytd", "spx.ret_ytd", "rut.rsi_14", "rut.sessions_since_record"]) }}

## This week

{{ this_week() }}

{{ history_note("rut.drought") }}

{{ base_rate("rsi_hot") }}

{{ data_sources() }}

## What changed

{{ changes_list() }}
""",
    "bull-case.md": """\
# Bull case {#bull}

{{ claims_tally("bull") }}

## Leadership {#leadership}

{{ claim("beats_spx") }} {% call(ok) by_state("beats_spx") %}{% if ok %}The Russell 2000 leads{% else %}The
Russell 2000 trails{% endif %}{% endcall %} the S&P 500 by
{{ metric("rut_vs_spx.ret_ytd_spread", "pp") }} ({{ metric("rut_vs_spx.ret_ytd_spread", "bp") }}) this year,
{{ metric("rut_vs_spx.outperf_streak") }} sessions in a row.

!!! note "Conviction"
    {{ claim("volume_confirms") }} IWM traded {{ metric("iwm.volume") }} shares against an average of
    {{ metric("iwm.volume_avg_63") }}, a ratio of {{ metric("iwm.volume_ratio") }}.
    {% call(ok) by_state("volume_confirms") %}{% if ok %}Buyers show up.{% else %}Buyers stay away.{% endif %}{% endcall %}

    {{ key_numbers(["iwm.volume", ["iwm.volume_avg_63", "int"], "iwm.volume_ratio"]) }}

### {{ by_state("one_year", holds="A year of gains", fails="A year of losses", unknown="The year so far") }} { #one-year }

{{ claim("one_year") }} {% call by_state("one_year", unknown="The one-year trend can't be read yet.") %}The
year tells.{% endcall %} {% call needs() %}One-year return: {{ metric("rut.ret_1y") }}.{% endcall %}
{% call until("2026-02-01", after="The January review has passed.") %}The January review is next.{% endcall %}
{% call(past) until("2099-01-01") %}{% if past %}Long gone.{% else %}Still ahead.{% endif %}{% endcall %}

{{ chart("rut_vs_spx") }}

## Levels and targets {#levels}

{{ levels_table() }}

{{ targets_table() }}

```python
# Braces in code are fine inside a raw block.
{% raw %}template = "{{ not_a_macro }}"{% endraw %}
```
""",
    "bear-case.md": """\
# Bear case

{{ claims_tally("bear") }}

{{ claim("rsi_hot") }} {% if holds("rsi_hot") %}Momentum is stretched.{% else %}Momentum has cooled.{% endif %}
Overbought counts from an RSI-14 of {{ threshold("rsi_hot") }}.

Clients sold {{ fact("bofa_large_cap_outflow") }} of large caps. Valuation: {{ fact("fwd_pe_sep") }}.
Barclays: {{ fact("barclays_view") }}. GDPNow: {{ fact("gdpnow_q4") }}.

{{ chart("rsi") }}

{{ sector_table() }}

{{ sector_table(["ret_ytd"]) }}
""",
    "watchlist.md": """\
# Watchlist

{{ watch_table() }}

## Risks only

{{ watch_table("risk") }}

## Scheduled events

{{ events_calendar() }}

## Changes

{{ changes_list() }}

{{ changes_list(1) }}
""",
    "changes.md": """\
# Changes

{{ changes_list() }}
""",
    "methodology.md": """\
# Methodology & data

{{ data_status() }}

As of {{ asof() }}. The Fed's range is {{ metric("fed.range") }}; the 10-year yields {{ metric("us10y.latest") }}
({{ metric("us10y.latest", "bp") }}, {{ metric("us10y.latest", "signed_pct") }}).
Record close on {{ metric("rut.record_date") }} ({{ metric("rut.record_date", "month") }}),
{{ metric("rut.sessions_since_record") }} sessions ago. Above the 50-day average: {{ metric("rut.above_sma_50") }}.
Leader: {{ metric("sectors.leader_ytd") }}. Close {{ metric("rut.close") }}, {{ metric("rut.close", "compact") }},
{{ metric("rut.close", "int") }}, {{ metric("rut.close", "number") }}. RSI {{ metric("rut.rsi_14", "int") }}.
Claims {{ metric("claims.latest") }} (week: {{ period("claims.latest") }}) ({{ metric("claims.latest", "int") }}). Huge {{ metric("breadth.dispersion_1m") }},
tiny {{ metric("tiny.ratio") }}. One day {{ metric("rut.ret_1d") }} / {{ metric("rut.ret_1d", "signed_pct") }}.
Filters: {{ 0.0776 | pct }}, {{ -0.032 | signed_pct }}, {{ 2610.4 | price }}, {{ 40500000 | compact }}.

{{ series_table() }}

{{ revisions_table() }}

{{ metric_reference() }}

{{ config_reference("claims") }}

{{ metrics_table("levels.") }}

{{ metrics_table() }}
""",
    "deep/nested/charts.md": """\
# Charts, two folders down

{{ chart("rsi") }}

{{ chart("rut_vs_spx") }}

{% call needs() %}Missing value: {{ metric("xlre.ret_1m") }}.{% endcall %}
""",
}


def load_fixture_snapshot() -> dict:
    """A fresh copy of tests/fixtures/snapshot_min.json."""
    return json.loads(SNAPSHOT_FIXTURE.read_text(encoding="utf-8"))


def write_vendor(directory: Path) -> Path:
    """Write the real chart runtime (build_data.publish.chart_runtime) into `directory`; slow (~1.5 s)."""
    from build_data.publish.chart_runtime import write_bundle

    write_bundle(directory)
    return directory


@dataclass
class FixtureSite:
    root: Path

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    def build(self, *, site_url: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        """`mkdocs build --strict` in a subprocess (build_data.scratch.mkdocs_build); returns it
        (check returncode yourself)."""
        return scratch.mkdocs_build(self.root / "mkdocs.yml", self.site, timeout=180,
                                    env={**({"SITE_URL": site_url} if site_url else {}), **(env or {})})

    def html_pages(self) -> dict[str, str]:
        """{path relative to site/: HTML} for every page (404 included)."""
        return {
            p.relative_to(self.site).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(self.site.rglob("*.html"))
        }


def make_site(
    root: Path,
    *,
    vendor: Path | None,
    snapshot: dict | None = None,
    pages: dict[str, str] | None = None,
) -> FixtureSite:
    """Lay out a fixture site in `root` (which must not exist yet): a scratch copy of the default
    site (build_data.scratch) with the real REAL_PAGES, the FIXTURE_PAGES and `pages`, and a
    generated/ folder written here instead of by a data build.

    vendor: a folder holding the chart runtime (see write_vendor); None leaves it out.
    snapshot: metrics.json content (default: the fixture snapshot).
    pages: extra or replacement pages, {path under docs/: Markdown}.
    """
    if root.exists():
        raise FileExistsError(root)
    real = {name: (REPO / "docs" / name).read_text(encoding="utf-8") for name in REAL_PAGES}
    sc = scratch.scratch_site(root, sites.load(REPO), pages={**real, **FIXTURE_PAGES, **(pages or {})},
                              keep_pages=False)
    generated = sc.out
    shutil.copytree(chart_fixture_dir(), generated / "charts")
    data = load_fixture_snapshot() if snapshot is None else copy.deepcopy(snapshot)
    (generated / "metrics.json").write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    if vendor is not None:
        shutil.copytree(vendor, generated / "vendor")
    return FixtureSite(root)


# ---------------------------------------------------------------- reading the built HTML


class Spans(HTMLParser):
    """Collects the elements carrying data-key (spans and links), data-fact or data-watch, with their text."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict] = []
        self._open: list[tuple[str, dict | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        tagged = (tag in ("span", "a") and "data-key" in a) or "data-fact" in a or "data-watch" in a
        entry = {"tag": tag, "attrs": a, "text": ""} if tagged else None
        if entry:
            self.found.append(entry)
        self._open.append((tag, entry))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, entry in self._open:
            if entry is not None:
                entry["text"] += data


def tagged_values(html: str) -> list[dict]:
    """Every metric / fact / watch-value element in a page, with its visible text."""
    # Drop screen-reader-only text first: the visible text is what the numbers test compares.
    visible_html = re.sub(r'<span class="visually-hidden">[^<]*</span>|<small class="na-reason">[^<]*</small>', "", html)
    # And the note markers after a number: the number's text is compared, its note is not part of it.
    visible_html = re.sub(r'<sup class="note-ref">.*?</sup>', "", visible_html)
    parser = Spans()
    parser.feed(visible_html)
    return parser.found


def strip_code(html: str) -> str:
    """The page without <pre> and <code> elements (where braces are legitimately shown)."""
    html = re.sub(r"<pre\b.*?</pre>", "", html, flags=re.S)
    return re.sub(r"<code\b.*?</code>", "", html, flags=re.S)


def visible_text(html: str) -> str:
    """Rough text content of the page body: tags, scripts and styles removed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


# ---------------------------------------------------------------- chart spec contract

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def spec_problems(spec: dict) -> list[str]:
    """What keeps a Vega-Lite spec from rendering right on the site (empty list: none).

    The rules charts.js relies on: Vega-Lite v6, width "container" (concatenations excepted),
    a utc time unit or a utc scale on every temporal channel (tooltips included), dates as
    "YYYY-MM-DD" strings, no colours or typefaces in config (text sizes are fine).
    build_data's chart tests can run this on every spec they write.
    """
    problems = []
    if not str(spec.get("$schema", "")).startswith("https://vega.github.io/schema/vega-lite/v6"):
        problems.append(f"$schema is {spec.get('$schema')!r}, not Vega-Lite v6")
    # Concatenated views cannot fill a container: they keep numeric widths and the SVG is
    # scaled down to the column by CSS instead.
    if spec.get("width") != "container" and not any(k in spec for k in ("vconcat", "hconcat", "concat")):
        problems.append(f"width is {spec.get('width')!r}, not 'container'")
    temporal: set[str] = set()

    def channel_defs(encoding: dict):
        for name, d in encoding.items():
            for item in d if isinstance(d, list) else [d]:
                if isinstance(item, dict):
                    yield name, item

    def walk(node):
        if isinstance(node, dict):
            for name, d in channel_defs(node.get("encoding") or {}):
                if d.get("type") == "temporal" or "timeUnit" in d:
                    # A utc time unit or a utc scale makes Vega-Lite format with utcFormat.
                    unit = d.get("timeUnit")
                    unit = unit.get("unit") if isinstance(unit, dict) else unit
                    utc_scale = (d.get("scale") or {}).get("type") == "utc"
                    if not (str(unit or "").startswith("utc") or utc_scale):
                        problems.append(
                            f"{name} on {d.get('field')!r}: timeUnit {unit!r} and no utc scale: "
                            "local-time formatting shows the previous day west of Greenwich"
                        )
                    if d.get("field"):
                        temporal.add(d["field"])
            for key, value in node.items():
                if key not in ("datasets", "config", "data"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    rows = [r for values in (spec.get("datasets") or {}).values() for r in values]
    rows += (spec.get("data") or {}).get("values") or []
    for field in sorted(temporal):
        bad = {r[field] for r in rows if field in r and not (isinstance(r[field], str) and _ISO_DAY.match(r[field]))}
        if bad:
            problems.append(f"field {field!r} has values that are not YYYY-MM-DD strings: {sorted(map(str, bad))[:3]}")

    def styled(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                # Text sizes are the chart's own (charts.FONT, fitted to the text column); the
                # typeface and colours are the page's.
                font = "font" in key.lower() and not key.lower().endswith("fontsize")
                if key == "background" or "color" in key.lower() or font or key in ("range", "scheme"):
                    problems.append(f"config.{path}{key} styles the chart; leave colours and fonts to charts.js")
                styled(value, f"{path}{key}.")

    styled(spec.get("config") or {}, "")
    return problems


# ---------------------------------------------------------------- chart fixtures


def fixture_chart_specs() -> dict[str, dict]:
    """Two small charts built the way build_data's charts must be (the list is at the top of
    macros/theme/assets/charts.js): dates as "YYYY-MM-DD" strings, UTC time units on every temporal
    channel, width "container", no colours in the spec's config."""
    import altair as alt
    import pandas as pd

    from build_data.compute import charts

    dates = ["2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08",
             "2026-01-09", "2026-01-12", "2026-01-13", "2026-01-14", "2026-01-15"]  # fmt: skip
    rut = [100.0, 101.2, 102.0, 101.5, 103.1, 104.0, 105.2, 106.0, 107.1, 107.8]
    spx = [100.0, 100.4, 100.9, 100.2, 100.8, 101.1, 101.5, 101.3, 101.6, 101.8]
    rebased = pd.DataFrame(
        {"date": dates * 2, "series": ["Russell 2000"] * 10 + ["S&P 500"] * 10, "value": rut + spx}
    )
    day = {"timeUnit": "utcyearmonthdate"}
    line = (
        alt.Chart(rebased)
        .mark_line()
        .encode(
            x=alt.X("date:T", **day, title=None, axis=alt.Axis(format="%b %d")),
            y=alt.Y("value:Q", scale=alt.Scale(zero=False), title="Rebased, Jan 2 = 100"),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("date:T", **day, title="Date", format="%b %d, %Y"),
                alt.Tooltip("series:N", title="Index"),
                alt.Tooltip("value:Q", title="Rebased", format=".1f"),
            ],
        )
        .properties(width="container", height=240, description="Russell 2000 vs S&P 500, rebased")
        .configure(**charts.CONFIG)  # the text sizes the site's charts have
    )
    rsi = pd.DataFrame({"date": ["2026-01-13", "2026-01-14", "2026-01-15"], "rsi": [68.0, 70.4, 71.2]})
    bars = (
        alt.Chart(rsi)
        .mark_bar()
        .encode(
            # Ordinal days: one labelled bar per session, so a shifted day is easy to see.
            x=alt.X("date:O", **day, title=None, axis=alt.Axis(format="%b %d", labelAngle=0)),
            y=alt.Y("rsi:Q", scale=alt.Scale(domain=[0, 100]), title="RSI-14"),
            tooltip=[alt.Tooltip("date:T", **day, title="Date", format="%b %d, %Y"), alt.Tooltip("rsi:Q", title="RSI-14")],
        )
    )
    rule = alt.Chart(rsi).mark_rule(strokeDash=[4, 3]).encode(y=alt.datum(70))
    layered = alt.layer(bars, rule).properties(width="container", height=200, description="RSI-14 with the 70 line").configure(
        **charts.CONFIG)
    return {"rut_vs_spx": line.to_dict(), "rsi": layered.to_dict()}


@functools.lru_cache(maxsize=1)
def chart_fixture_dir() -> Path:
    """The fixture charts, written once per test run into a temporary folder (never committed)."""
    directory = Path(tempfile.mkdtemp(prefix="chart-fixtures-"))
    write_chart_fixtures(directory)
    return directory


def write_chart_fixtures(directory: Path) -> None:
    """Write, for each fixture chart, what render writes: the Vega-Lite source <id>.vl.json and
    what render.draw_chart makes of it (the Vega spec compiled at the fallback's fixed 720 px
    width <id>.vg.json, the static <id>.svg, the data <id>.csv, and their narrow variants)."""
    from build_data.publish.render import draw_chart

    directory.mkdir(parents=True, exist_ok=True)
    for cid, spec in fixture_chart_specs().items():
        (directory / f"{cid}.vl.json").write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        for ext, content in draw_chart(spec).items():
            (directory / f"{cid}.{ext}").write_text(content, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "charts":
        write_chart_fixtures(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
