"""Charts declared in the site config: every kind builds from its declaration, config errors name
the key and the closest valid names, `list --charts`, and the default site's chart ids."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from build_data import config
from build_data.errors import ConfigError
from build_data.compute import charts as charts_mod
from build_data.compute.charts import DARK_COLOURS
from build_data.publish import render
from tests.conftest import build_snapshot, day
from tests.site_fixtures import spec_problems

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IDS = ["performance-ytd", "rut-trend", "rsi", "iwm-volume", "rut-spx-ratio", "sector-returns", "macro-panel"]

# Ten charts: every kind, two trend charts (an index and a fund), annotations, the card not first.
TEN = {
    "four-way": {"kind": "performance", "series": ["rut", "spx", "ndx", "iwm"],
                 "annotations": [{"date": "2026-01-08", "text": "CPI day"}]},
    "index-trend": {"kind": "trend", "series": "rut"},
    "fund-trend": {"kind": "trend", "series": "iwm", "title": "IWM and its averages",
                   "annotations": [{"date": "2025-11-03", "text": "Breakout"}, {"date": "2019-01-01", "text": "Too old"}]},
    "momentum": {"kind": "indicator", "series": "spx"},
    "shares": {"kind": "volume", "series": "iwm"},
    "micro-vs-small": {"kind": "ratio", "series": ["iwc", "iwm"], "card": True},
    "index-ratio": {"kind": "ratio", "series": ["rut", "spx"]},
    "basket": {"kind": "returns", "series": ["xlk", "xlf", "xle"], "horizons": ["3m", "1m", "ytd"]},
    "rates": {"kind": "macro", "series": ["us10y", "fed"], "annotations": [{"date": "2025-09-17", "text": "Fed cut"}]},
    "off-the-high": {"kind": "drawdown", "series": "rut"},
}


def raw_universe() -> dict:
    return yaml.safe_load(config.DEFAULT_UNIVERSE.read_text(encoding="utf-8"))


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def ten_chart_universe(tmp_path: Path) -> config.Universe:
    raw = raw_universe()
    raw["symbols"]["iwm"]["short"] = "IWM"
    raw["charts"] = TEN
    return config.load_universe(write(tmp_path, raw))


@pytest.fixture(scope="module")
def ten(tmp_path_factory, facts):
    universe = ten_chart_universe(tmp_path_factory.mktemp("ten"))
    snap, charts = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    return universe, snap, charts


def layers(spec: dict) -> list[dict]:
    out, stack = [], [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "mark" in node:
                out.append(node)
            stack.extend(v for k, v in node.items() if k not in ("datasets", "data"))
        elif isinstance(node, list):
            stack.extend(node)
    return out


def test_ten_declared_charts_of_every_kind_each_get_a_spec_in_config_order(ten):
    universe, snap, charts = ten
    assert [c.id for c in charts] == list(TEN) == list(snap["charts"])
    assert {c.kind for c in charts} == set(config.CHART_KINDS)
    for c in charts:
        assert c.spec is not None, (c.id, c.reason)
        assert c.spec["usermeta"] == {"id": c.id, "dark_colours": DARK_COLOURS}
        assert spec_problems(json.loads(json.dumps(c.spec))) == [], c.id
        entry = snap["charts"][c.id]
        assert entry["kind"] == TEN[c.id]["kind"] and entry["spec"] == f"charts/{c.id}.vg.json"
        assert entry["title"] == universe.chart_title(c.id) and entry["description"].strip()
    # The card is the one marked, not the first; only it has a PNG.
    assert [cid for cid, e in snap["charts"].items() if e["card"]] == ["micro-vs-small"]
    assert [e["png"] for e in snap["charts"].values() if e.get("png")] == ["charts/micro-vs-small.png"]
    assert snap["charts"]["fund-trend"]["title"] == "IWM and its averages"
    assert snap["charts"]["index-trend"]["title"] == "Russell 2000 with its moving averages, levels and targets"
    assert snap["charts"]["basket"]["title"] == "3 months, 1 month and year to date returns"


def test_price_axes_count_points_for_an_index_and_dollars_for_a_fund(ten):
    _, _, charts = ten
    by_id = {c.id: c for c in charts}
    titles = lambda cid: {(l["encoding"].get("y") or {}).get("title") for l in layers(by_id[cid].spec)}  # noqa: E731
    assert "Russell 2000 (points)" in titles("index-trend")
    assert "iShares Russell 2000 ETF ($)" in titles("fund-trend")
    # Levels and targets are drawn on the chart of the symbol they name only.
    assert any("2,500 breakout" in json.dumps(v) for v in by_id["index-trend"].spec["datasets"].values())
    assert not any("2,500 breakout" in json.dumps(v) for v in by_id["fund-trend"].spec["datasets"].values())


def test_lines_are_named_at_their_ends_and_told_apart_by_more_than_hue(ten):
    """No legend to look up: each line's short name is written at its last point, and each
    series has its own colour, dash pattern and end marker (S&P 500 and Nasdaq-100 differ in all three)."""
    _, _, charts = ten
    perf = next(c for c in charts if c.id == "four-way")
    series = {r["series"] for v in perf.spec["datasets"].values() for r in v if "series" in r}
    assert series == {"Russell 2000", "S&P 500", "Nasdaq-100", "IWM"}  # IWM's `short`, the others' names
    marks = layers(perf.spec)
    line = next(l for l in marks if (l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"]) == "line")
    enc = line["encoding"]
    assert enc["color"]["legend"] is None and enc["strokeDash"]["legend"] is None
    names = enc["color"]["scale"]["domain"]
    assert enc["strokeDash"]["scale"]["domain"] == names
    styles = dict(zip(names, zip(enc["color"]["scale"]["range"], map(tuple, enc["strokeDash"]["scale"]["range"]))))
    assert len(set(styles.values())) == 4
    assert styles["S&P 500"][0] != styles["Nasdaq-100"][0] and styles["S&P 500"][1] != styles["Nasdaq-100"][1]
    shape = next(l["encoding"]["shape"] for l in marks if "shape" in l.get("encoding", {}))
    assert len(set(shape["scale"]["range"])) == 4
    # The name labels: one per series, at its last session.
    text = next(l for l in marks if l["encoding"].get("text", {}).get("field") == "series")
    labelled = [r for v in perf.spec["datasets"].values() for r in v if "label_y" in r]
    assert sorted(r["series"] for r in labelled) == sorted(series)
    last = {}
    for v in perf.spec["datasets"].values():
        for r in v:
            if "series" in r and "label_y" not in r:
                last[r["series"]] = max(last.get(r["series"], ""), r["date"])
    assert all(r["date"] == last[r["series"]] for r in labelled)


def test_annotations_are_labelled_rules_inside_the_window(ten):
    _, _, charts = ten
    by_id = {c.id: c for c in charts}
    rows = lambda cid: [r for v in by_id[cid].spec["datasets"].values() for r in v if "text" in r]  # noqa: E731
    assert rows("fund-trend") == [{"date": "2025-11-03", "text": "Breakout"}]  # 2019 is outside the past year
    assert rows("four-way") == [{"date": "2026-01-08", "text": "CPI day"}]
    assert rows("index-trend") == []
    rules = [l for l in layers(by_id["fund-trend"].spec) if l["mark"]["type"] == "rule" and "x" in l["encoding"]]
    assert len(rules) == 1 and rules[0]["encoding"]["x"]["scale"] == {"type": "utc"}
    # A macro panel gets the rule in each of its panels that reaches the date.
    panels = by_id["rates"].spec["vconcat"]
    assert all(any(l["mark"]["type"] == "rule" for l in layers(p)) for p in panels)


def test_returns_bars_follow_the_declared_horizons(ten):
    _, snap, charts = ten
    basket = next(c for c in charts if c.id == "basket")
    bars = [r for v in basket.spec["datasets"].values() for r in v]
    assert {r["horizon"] for r in bars} == {"3 months", "1 month", "Year to date"}
    assert {r["sector"] for r in bars} == {"Technology", "Financials", "Energy"}
    three_month = {r["sector"]: r["value"] for r in bars if r["horizon"] == "3 months"}
    leader = max(three_month, key=three_month.get)
    assert f"leader over 3 months: {leader}" in snap["charts"]["basket"]["description"]
    assert three_month["Energy"] == snap["metrics"]["xle.ret_3m"]["value"]


def test_drawdown_and_free_ratio_plot_the_catalog_numbers(ten):
    _, snap, charts = ten
    by_id = {c.id: c for c in charts}
    dd = [r for v in by_id["off-the-high"].spec["datasets"].values() for r in v]
    assert dd[-1] == {"date": "2026-01-15", "series": "Drawdown", "value": snap["metrics"]["rut.drawdown"]["value"]}
    # No configured pair iwc/iwm: the ratio is drawn from the two closes, ending at their ratio.
    ratio = [r for v in by_id["micro-vs-small"].spec["datasets"].values() for r in v]
    closes = snap["metrics"]["iwc.close"]["value"] / snap["metrics"]["iwm.close"]["value"]
    assert ratio[-1]["value"] == pytest.approx(closes, rel=1e-12)


def _font_sizes(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'font-size[:=]\s*"?(\d+(?:\.\d+)?)', svg)]


def test_the_ten_charts_draw_and_only_the_card_gets_a_png(ten):
    """Every chart draws light and dark, wide and narrow. Each SVG is fitted to the text column it
    is shown in (688 px at 1400, 358 px on a 390 px phone), so its text reaches the reader at the
    size it was drawn: at least 11 px. The dark drawings use none of the light palette's colours;
    the live specs find the nearest point for tooltips, the static drawings leave that layer out."""
    _, _, charts = ten
    light = set(DARK_COLOURS) - set(DARK_COLOURS.values())  # a dark colour may be a light one of another mark
    for c in charts:
        files = render.draw_chart(c.spec, card=c.card)
        assert files["svg"].startswith("<svg") and files["narrow.svg"].startswith("<svg"), c.id
        assert ("png" in files) == (c.id == "micro-vs-small")
        for ext, column in (("svg", render.FIT_WIDE), ("dark.svg", render.FIT_WIDE),
                            ("narrow.svg", render.FIT_NARROW), ("narrow.dark.svg", render.FIT_NARROW)):
            width = render.svg_size_of(files[ext])[0]
            assert abs(width - column) <= 24, (c.id, ext, width)
            assert min(_font_sizes(files[ext])) * column / width >= 11, (c.id, ext)
        dark = files["dark.svg"].lower() + files["narrow.dark.svg"].lower()
        assert not [h for h in light if h in dark], c.id
        assert "#1e2129" not in files["svg"] and 'fill="transparent"' not in files["svg"], c.id
        if TEN[c.id]["kind"] not in ("returns", "volume"):  # bars are their own target
            assert '"isVoronoi"' in files["vg.json"] and '"isVoronoi"' in files["narrow.vg.json"], c.id
            # A Voronoi cell's datum is the point's scene item: its tooltip reads the point's data.
            cells = [m for m in _walk(json.loads(files["vg.json"]))
                     if m.get("type") == "path" and "isVoronoi" in (m.get("encode") or {}).get("update", {})]
            for cell in cells:
                signal = cell["encode"]["update"]["tooltip"]["signal"]
                assert not re.search(r"(?<![.\w])datum\[", signal), (c.id, signal)
                assert 'datum.datum["date"]' in signal, c.id


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_no_charts_is_a_valid_site(tmp_path, facts):
    raw = raw_universe()
    raw["charts"] = None  # `charts:` with nothing under it
    assert config.load_universe(write(tmp_path, raw)).charts == {}
    del raw["charts"]
    universe = config.load_universe(write(tmp_path, raw))
    assert universe.charts == {} and universe.card_chart is None
    snap, charts = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    assert charts == [] and snap["charts"] == {}


def test_a_chart_missing_its_data_keeps_its_configured_title_and_says_why(tmp_path, facts):
    universe = ten_chart_universe(tmp_path)
    _, charts = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    entries = render.chart_entries([c for c in charts if c.id != "shares"], "not drawn", universe)
    assert list(entries) == list(TEN)
    # Titles name series in full; legends and bars use the short names.
    assert entries["shares"] == {"title": "iShares Russell 2000 ETF volume vs its 3-month average", "description": "not drawn",
                                 "kind": "volume", "card": False, "spec": None, "svg": None, "reason": "not drawn"}


def test_pages_name_charts_by_configured_id_and_the_card_comes_from_the_snapshot(ten):
    import macros
    from macros.snapshot import MacroError, Snapshot

    _, snap, _ = ten
    snap = json.loads(json.dumps(snap))
    page_snapshot = Snapshot(data=snap, path=Path("docs/generated/metrics.json"))
    with pytest.raises(MacroError, match=r"chart\('fund-trnd'\): unknown chart key 'fund-trnd'; "
                                         r"closest valid keys: 'fund-trend', 'index-trend'"):
        page_snapshot.chart("fund-trnd")
    assert macros.social_card(page_snapshot) == "generated/charts/micro-vs-small.png"
    snap["charts"] = {}
    assert macros.social_card(Snapshot(data=snap, path=Path("docs/generated/metrics.json"))) is None


# ---------------------------------------------------------------- config errors


def chart_error(tmp_path: Path, charts: dict) -> str:
    raw = raw_universe()
    raw["charts"] = charts
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as exc:
        config.load_universe(path)
    message = str(exc.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


@pytest.mark.parametrize("charts, expected", [
    ({"t": {"kind": "trend", "series": "rutt"}}, "charts.t.series: unknown symbol 'rutt'; closest valid names: rut"),
    ({"p": {"kind": "performance", "series": ["rut", "spy"]}},
     "charts.p.series[1]: unknown symbol 'spy'; closest valid names: spx"),
    ({"r": {"kind": "ratio", "series": ["rut", "nqd"]}}, "charts.r.series[1]: unknown symbol 'nqd'; closest valid names: ndx"),
    ({"v": {"kind": "volume", "series": "rut"}}, "charts.v.series: unknown volume_symbols alias 'rut'; valid names: iwm"),
    ({"m": {"kind": "macro", "series": ["claims", "fed_range"]}},
     "charts.m.series[1]: unknown macro alias or range 'fed_range'; closest valid names: fed_lo, fed_hi, fed"),
    ({"x": {"kind": "trnd", "series": "rut"}}, "charts.x.kind: unknown chart kind 'trnd'; closest valid names: trend"),
    ({"x": {"kind": "candles", "series": "rut"}}, "charts.x.kind: unknown chart kind 'candles'; valid names: "),
    ({"x": {"series": "rut"}}, "charts.x.kind: Field required (one of performance, trend, indicator"),
    ({"x": {"kind": ["trend"], "series": "rut"}}, "charts.x.kind: unknown chart kind ['trend']; closest valid names: trend"),
    # The former layout (a kind -> its series) says what a chart now is.
    ({"performance": ["rut", "spx"], "trend": "rut"},
     "charts.performance: a chart is a mapping with a kind and its series, such as {kind: trend, series: ALIAS}"),
    ({"a": {"kind": "trend", "series": "rut", "card": True}, "b": {"kind": "indicator", "series": "rut", "card": True}},
     "charts.b.card: charts.a is already the card; at most one chart has card: true"),
    ({"Rut_Trend": {"kind": "trend", "series": "rut"}}, "charts.Rut_Trend: a chart id is lower-case letters"),
    ({"s": {"kind": "returns", "series": ["xlk"], "annotations": [{"date": "2026-01-02", "text": "x"}]}},
     "charts.s.annotations: a returns chart has no time axis to mark"),
])
def test_chart_config_errors_name_the_key_and_the_closest_names(tmp_path, charts, expected):
    assert expected in chart_error(tmp_path, charts)


def test_chart_fields_are_checked_per_kind(tmp_path):
    assert "charts.t: unknown field 'horizons' (a trend chart takes annotations, card, kind, series, title)" in chart_error(
        tmp_path, {"t": {"kind": "trend", "series": "rut", "horizons": ["1m"]}})
    assert "charts.t: unknown field 'serie'; closest valid name: series (a trend" in chart_error(
        tmp_path, {"t": {"kind": "trend", "serie": "rut"}})
    assert "charts.r.series: List should have at most 2 items" in chart_error(
        tmp_path, {"r": {"kind": "ratio", "series": ["rut", "spx", "ndx"]}})
    assert "charts.t.annotations.0.date: Input should be a valid date" in chart_error(
        tmp_path, {"t": {"kind": "trend", "series": "rut", "annotations": [{"date": "someday", "text": "x"}]}})


def test_derived_aliases_are_valid_chart_series_once_config_has_them():
    """Charts accept the `derived` mapping's aliases when the config model carries one."""
    universe = config.load_universe()
    assert "charts.x.series[0]: unknown symbol 'smh_spy'" in _problem(universe, {"x": {"kind": "ratio", "series": ["smh_spy", "rut"]}})
    with_derived = universe.model_copy(update={"derived": {"smh_spy": object()}})
    assert _problem(with_derived, {"x": {"kind": "ratio", "series": ["smh_spy", "rut"]}}) == ""


def _problem(universe, charts: dict) -> str:
    adapter = __import__("pydantic").TypeAdapter(dict[str, config.ChartSpec])
    candidate = universe.model_copy(update={"charts": adapter.validate_python(charts)})
    try:
        config._chart_problems(candidate)
    except Exception as exc:  # PydanticCustomError
        return str(exc)
    return ""


# ---------------------------------------------------------------- the default site and the CLI


def test_default_site_declares_its_seven_chart_ids_and_every_page_call_exists(universe):
    assert list(universe.charts) == DEFAULT_IDS
    assert universe.card_chart == "performance-ytd"
    # Pages rendered by the macros (the tutorial shows another site's calls, as text).
    rendered = [p for p in (REPO / "docs").glob("*.md") if "render_macros: false" not in p.read_text(encoding="utf-8")]
    called = {m for page in rendered
              for m in re.findall(r'\{\{\s*chart\("([^"]+)"\)', page.read_text(encoding="utf-8"))}
    assert called and called <= set(universe.charts)


def test_list_charts_prints_id_kind_series_and_title(tmp_path):
    run = subprocess.run([sys.executable, "-m", "build_data", "list", "--charts"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == DEFAULT_IDS
    assert re.fullmatch(r"performance-ytd\s+\* performance\s+rut,spx,ndx\s+"
                        r"Russell 2000 vs S&P 500 vs Nasdaq-100, year to date", lines[0])
    assert re.fullmatch(r"sector-returns\s+returns\s+xlk,.*,xlc\s+Sector returns", lines[5])
    raw = raw_universe()
    raw["charts"] = TEN
    run = subprocess.run([sys.executable, "-m", "build_data", "list", "--charts", "--config", str(write(tmp_path, raw))],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert list(rows) == list(TEN)
    assert "*" in rows["micro-vs-small"].split()[1] and "*" not in rows["four-way"]
    assert rows["off-the-high"].endswith("Russell 2000: drawdown from its record close")


def _rule_rows(spec: dict) -> dict[float, str]:
    """{value: label} of a chart's labelled rules (levels, targets, thresholds)."""
    return {r["value"]: r["label"] for v in spec["datasets"].values() for r in v if "label" in r and "label_y" in r}


def test_rsi_bands_come_from_config_thresholds_and_the_claims_and_watch_items_on_it(tmp_path, facts):
    """The RSI chart draws the `thresholds` bands and every claim or watch threshold on its RSI,
    each labelled: move the configured band and the line moves; the claim keeps its own line."""
    raw = raw_universe()
    raw["thresholds"]["rsi_overbought"] = 75
    raw["charts"] = {"momentum": {"kind": "indicator", "series": "rut"}}
    universe = config.load_universe(write(tmp_path, raw))
    _, charts = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    rows = _rule_rows(charts[0].spec)
    claim = raw["claims"]["overbought"]["threshold"]
    assert rows[75] == "75 overbought" and rows[30] == "30 oversold"
    assert claim == 70 and rows[70] == "RSI-14 above 70"  # the watch item's title names its number


def test_macro_panels_draw_the_thresholds_of_claims_and_watch_items_on_their_series(ten):
    """The 10-year panel: the `rates` claim (>= 4.0) and the `yields_spike` watch item (> 4.75),
    each labelled with a title that names the number."""
    _, _, charts = ten
    rates = next(c for c in charts if c.id == "rates")
    rows = _rule_rows(rates.spec)
    assert set(rows) == {4.0, 4.75}
    assert rows[4.75] == "10-year yield above 4.75%"
    assert rows[4.0].startswith("Long rates stay high") and "4%" in rows[4.0]


def test_trend_chart_labels_each_level_and_target_and_keeps_labels_apart(ten):
    universe, _, charts = ten
    trend = next(c for c in charts if c.id == "index-trend")
    rows = {r["label"]: r for v in trend.spec["datasets"].values() for r in v if "label" in r and "label_y" in r}
    wanted = {lv.label: lv.value for lv in universe.levels.values() if lv.symbol == "rut"}
    wanted |= {t.label: t.value for t in universe.targets.values() if t.symbol == "rut"}
    assert {k: r["value"] for k, r in rows.items()} == wanted
    # 2,400 / 2,450 / 2,500 are close: their labels are spread at least a label's height apart.
    y = trend.spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    px = sorted(r["label_y"] * 340 / (y[1] - y[0]) for r in rows.values())
    assert all(b - a >= charts_mod.LABEL_GAP - 1e-6 for a, b in zip(px, px[1:]))


@pytest.mark.parametrize("values, gap", [([10, 10.1, 10.2, 50], 15), ([0, 0, 0], 20), ([99, 100], 15), ([5], 15)])
def test_spread_labels_keeps_order_and_gap_inside_the_plot(values, gap):
    domain, height = [0.0, 100.0], 200
    out = charts_mod.spread_labels(values, domain, height, gap)
    px = [(100 - v) * height / 100 for v in out]
    order = sorted(range(len(values)), key=lambda i: -values[i])
    placed = [px[i] for i in order]
    assert all(b - a >= gap - 1e-9 for a, b in zip(placed, placed[1:]))
    assert all(-1e-9 <= p <= height + 1e-9 for p in px)
    # A label already clear of the others does not move.
    if len(values) == 1:
        assert out == values
    if values == [10, 10.1, 10.2, 50]:
        assert out[3] == 50


def _drawn_one_by_one(spec: dict) -> dict[str, str]:
    """Each file drawn on its own: the width fitted from a sizing drawing at the start width,
    then the light and the dark spec each drawn by Vega (no drawing reused or recoloured)."""
    from build_data.publish.chart_runtime import compile_to_vega

    out = {}
    for prefix, target, start in (("", render.FIT_WIDE, render.WIDTH_FALLBACK),
                                  ("narrow.", render.FIT_NARROW, render.WIDTH_NARROW)):
        first = render._static(spec, start)
        size = render.svg_size_of(render._svg(render._still(first)))
        width = max(120, start - (size[0] - target))
        fixed = first if width == start else render._static(spec, width)
        out[f"{prefix}vg.json"] = json.dumps(compile_to_vega(fixed), sort_keys=True, separators=(",", ":"))
        out[f"{prefix}svg"] = render._svg(render._with_config(render._still(fixed), render.LIGHT_CONFIG))
        out[f"{prefix}dark.svg"] = render._svg(render.dark(render._still(fixed)))
    return out


def test_drawing_with_fewer_renders_gives_the_same_files(ten, tmp_path):
    """The dark SVGs recoloured from the light ones, the sizing drawing kept as the final one,
    the last build's widths tried first, the card's PNG rasterized from its SVG: every file is
    byte for byte what drawing each one on its own gives, on a first build and on the next."""
    import vl_convert

    _, _, charts = ten
    calls = []
    real = render._svg
    render._svg = lambda spec: calls.append(1) or real(spec)
    try:
        for c in charts:
            reference = _drawn_one_by_one(c.spec)
            calls.clear()
            first = render.draw_chart(c.spec, card=c.card)
            first_calls = len(calls)
            for ext in ("vg.json", "narrow.vg.json"):
                (tmp_path / "charts").mkdir(exist_ok=True)
                (tmp_path / "charts" / f"{c.id}.{ext}").write_text(first[ext], encoding="utf-8")
            widths = render.previous_widths(tmp_path, c.id, c.spec)
            assert set(widths) == {"", "narrow."}, c.id
            calls.clear()
            second = render.draw_chart(c.spec, card=c.card, widths=widths)
            for files in (first, second):
                assert {k: files[k] for k in reference} == reference, c.id
            if c.card:
                assert first["png"] == second["png"] == vl_convert.vegalite_to_png(
                    render._with_config(render._still(render.fit(c.spec, render.FIT_WIDE, render.WIDTH_FALLBACK)),
                                        render.LIGHT_CONFIG), scale=1.5)
            assert first_calls <= 4 and len(calls) <= 3, (c.id, first_calls, len(calls))
        # A wrong width from the last build costs a drawing, not a different file.
        c = charts[0]
        wrong = render.draw_chart(c.spec, widths={"": 400, "narrow.": 150})
        assert {k: wrong[k] for k in reference} == _drawn_one_by_one(c.spec)
    finally:
        render._svg = real


def _line(colour: str) -> dict:
    return {"data": {"values": [{"x": i, "y": i * i % 7} for i in range(12)]},
            "mark": {"type": "line", "color": colour}, "width": "container", "height": 120,
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}


def test_a_dark_drawing_is_recoloured_only_where_that_is_what_vega_draws():
    fixed = render._static(_line("#1c7ed6"), 500)  # a palette colour: recoloured, same as drawn
    light = render._svg(render._with_config(render._still(fixed), render.LIGHT_CONFIG))
    dark = render._recoloured(render._still(fixed), light)
    assert dark is not None and dark == render._svg(render.dark(render._still(fixed)))
    assert "#4dabf7" in dark and 'fill="white"' not in dark
    # A mark in the light text colour stays that colour in the dark spec, unlike the axis text in
    # it: recolouring would get it wrong, so the dark spec is drawn.
    fixed = render._static(_line("#4b4f57"), 500)
    light = render._svg(render._with_config(render._still(fixed), render.LIGHT_CONFIG))
    assert render._recoloured(render._still(fixed), light) is None
    files = render.draw_chart(_line("#4b4f57"))
    drawn = render._svg(render.dark(render._still(render.fit(_line("#4b4f57"), render.FIT_WIDE, render.WIDTH_FALLBACK))))
    assert files["dark.svg"] == drawn and "#4b4f57" in drawn


def test_every_kind_of_chart_is_a_valid_vega_lite_spec(ten):
    """The build does not validate the specs it makes (it is slow): this does, for every kind."""
    import altair as alt

    schema = alt.vegalite.v6.schema.core.load_schema()
    _, _, charts = ten
    assert {TEN[c.id]["kind"] for c in charts} == set(charts_mod.BUILDERS)
    for c in charts:
        alt.utils.schemapi.validate_jsonschema(c.spec, schema)
    broken = json.loads(json.dumps(charts[0].spec))
    broken["layer"][0]["mark"] = {"type": "no-such-mark"}
    with pytest.raises(Exception, match="no-such-mark"):
        alt.utils.schemapi.validate_jsonschema(broken, schema)


def test_hand_assembled_specs_are_what_altair_writes_for_the_same_chart():
    """charts.py assembles its specs as dicts (Altair objects deep-copied every layer, data
    included): the same chart made with Altair gives the same spec, byte for byte and key for key.
    Covered: data shared by every layer moved up, selections lifted with their views, a named layer
    renamed by its position when its panel is layered with annotations, null scales and titles,
    x2/y2 without a type, constants, a top-level unit view with a step height and autosize."""
    import altair as alt
    import pandas as pd

    c = charts_mod
    line = pd.DataFrame({"date": ["2026-01-02", "2026-01-05"], "series": "Close", "value": [1.5, 2.25]})
    notes = pd.DataFrame({"date": ["2026-01-05"], "text": ["CPI day"]})
    band = pd.DataFrame({"date": ["2026-01-02"], "lo": [3.5], "hi": [3.75]})
    rows = pd.DataFrame({"value": [2.0], "label": ["Level"], "colour": ["#2b8a3e"]})

    def ours():
        y = c._enc("value:Q", title=None, axis={"format": "~s"}, scale=c._fixed([0.0, 3.0]))
        tips = [c._enc("date:N", title="Session"), c._enc("value:Q", format=".2f", title="Value")]
        rule = c._chart(rows, c._mark("rule", strokeDash=[4, 4]), y=c._enc("value:Q", scale=c._fixed([0.0, 3.0])),
                        color=c._enc("colour:N", scale=None))
        marks = [c._chart(notes, c._mark("rule", strokeDash=[3, 3]), x=c._x(), tooltip=[c._enc("text:N", title="Note")]),
                 c._chart(notes, c._mark("text", dx=3), x=c._x(), y=c._const(0), text=c._enc("text:N"))]
        first = c._layer(c._layer(rule, c._chart(line, c._mark("line", strokeWidth=2), x=c._x(), y=y),
                                  c._hits(line, y, tips, "p0")), *marks, title="A")
        second = c._layer(c._layer(c._chart(line, c._mark("line"), x=c._x(), y=y), c._hits(line, y, tips, "p1")),
                          title="B")
        third = c._layer(c._chart(band, c._mark("area", opacity=0.5), x=c._x(), y=c._enc("lo:Q", title=None),
                                  y2=c._enc("hi")), title="C")
        return c._vconcat(*[p.properties(width=640, height=120) for p in (first, second, third)], spacing=18)

    def altairs():
        x = alt.X("date:T", title=None, scale=alt.Scale(type="utc"),
                  axis=alt.Axis(format="%b %Y", tickCount="month", labelOverlap=True, grid=False))
        scale = alt.Scale(domain=[0.0, 3.0], nice=False, zero=False)
        y = alt.Y("value:Q", title=None, axis=alt.Axis(format="~s"), scale=scale)
        tips = [alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=".2f", title="Value")]

        def hits(name):
            nearest = alt.selection_point(name=name, nearest=True, on="pointerover", clear="pointerout",
                                          empty=False, fields=["date"])
            return alt.Chart(line).mark_point(opacity=0, size=1).encode(x=x, y=y, tooltip=tips).add_params(
                nearest).properties(name=f"hits_{name}")
        rule = alt.Chart(rows).mark_rule(strokeDash=[4, 4]).encode(y=alt.Y("value:Q", scale=scale),
                                                                    color=alt.Color("colour:N", scale=None))
        marks = [alt.Chart(notes).mark_rule(strokeDash=[3, 3]).encode(x=x, tooltip=[alt.Tooltip("text:N", title="Note")]),
                 alt.Chart(notes).mark_text(dx=3).encode(x=x, y=alt.value(0), text="text:N")]
        first = alt.layer(alt.layer(rule, alt.Chart(line).mark_line(strokeWidth=2).encode(x=x, y=y), hits("p0")),
                          *marks, title="A")
        second = alt.layer(alt.layer(alt.Chart(line).mark_line().encode(x=x, y=y), hits("p1")), title="B")
        third = alt.layer(alt.Chart(band).mark_area(opacity=0.5).encode(x=x, y=alt.Y("lo:Q", title=None), y2="hi:Q"),
                          title="C")
        return alt.vconcat(*[p.properties(width=640, height=120) for p in (first, second, third)], spacing=18)

    def bars_ours():
        return c._chart(line, c._mark("bar"), y=c._enc("series:N", sort=["Close"], title=None),
                        x=c._enc("value:Q", axis={"format": "%"}),
                        color=c._enc("series:N", legend={"orient": "top"}, scale={"range": ["#1c7ed6"]}),
                        tooltip=[c._enc("series:N"), c._enc("value:Q", format="+.1%")]).properties(
            width="container", height={"step": 11}, autosize=c._obj(type="fit-x", contains="padding"))

    def bars_altair():
        return alt.Chart(line).mark_bar().encode(
            y=alt.Y("series:N", sort=["Close"], title=None), x=alt.X("value:Q", axis=alt.Axis(format="%")),
            color=alt.Color("series:N", legend=alt.Legend(orient="top"), scale=alt.Scale(range=["#1c7ed6"])),
            tooltip=["series:N", alt.Tooltip("value:Q", format="+.1%")]).properties(
            width="container", height=alt.Step(11), autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))

    for mine, theirs in [(ours, altairs), (bars_ours, bars_altair)]:
        spec = c._finish(mine(), "x", "X", "What it shows.").spec
        assert spec.pop("usermeta")["id"] == "x"
        expected = theirs().properties(description="What it shows.").configure(**c.CONFIG).to_dict(validate=False)
        assert json.dumps(spec) == json.dumps(expected)
    # The cases the comparison is about did happen.
    text = json.dumps(c._finish(ours(), "x", "X", "").spec)
    assert '"views": ["hits_p0_0"]' in text and '"views": ["hits_p1"]' in text and '"y2": {"field": "hi"}' in text


def test_a_frames_rows_are_the_values_altair_writes_for_it():
    """charts._rows reads the column types charts use itself: the same rows, of the same Python
    types, as Altair's data transformer; other column types are left to Altair."""
    import math

    import altair as alt
    import numpy as np
    import pandas as pd

    frames = [
        pd.DataFrame({"date": ["2026-01-02", None, "2026-01-06"], "value": [1.5, math.nan, -0.0],
                      "n": [1, 2, 3], "hi": [np.inf, -np.inf, 1e-300]}),
        pd.DataFrame({"y": [100]}),
        pd.DataFrame({"date": pd.to_datetime(["2026-01-02"]), "up": [True]}),  # Altair's own conversion
        pd.DataFrame(columns=["date", "series", "value"]),
        pd.DataFrame({"value": pd.Series([], dtype=float)}),
    ]
    for frame in frames:
        ours, altairs = charts_mod._rows(frame), alt.data_transformers.get()(frame)["values"]
        assert json.dumps(ours) == json.dumps(altairs)
        assert [type(v) for row in ours for v in row.values()] == [type(v) for row in altairs for v in row.values()]
    assert charts_mod._rows(frames[0])[1] == {"date": None, "value": None, "n": 2, "hi": None}
