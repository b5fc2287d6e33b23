"""macros/: snapshot loading, lookups, error messages, and what each macro renders.

The in-process tests call the Snapshot methods directly. The build tests at the end run
`mkdocs build --strict` on fixture sites, to check that an error reaches the terminal and
fails the build.
"""

from __future__ import annotations

import html
import html as html_mod
import inspect
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import macros
from build_data import formatting as f
from macros.snapshot import MacroError, PageRef, Snapshot, SnapshotError
from macros.snapshot import NOTE_REF as NOTE
from tests.site_fixtures import SNAPSHOT_FIXTURE, chart_fixture_dir, load_fixture_snapshot, make_site, write_vendor


def snapshot_at(tmp_path: Path, data: dict | None = None, *, page=PageRef("bull-case.md", "bull-case/")) -> Snapshot:
    """A Snapshot loaded from a docs/generated/metrics.json under tmp_path, with chart files."""
    gen = tmp_path / "docs" / "generated"
    (gen / "charts").mkdir(parents=True, exist_ok=True)
    (gen / "vendor").mkdir(exist_ok=True)
    (gen / "vendor" / "vega-bundle.js").write_text("export default null;")
    for p in chart_fixture_dir().iterdir():
        (gen / "charts" / p.name).write_bytes(p.read_bytes())
    (gen / "metrics.json").write_text(json.dumps(data or load_fixture_snapshot()))
    snap = Snapshot.load(gen / "metrics.json", docs_dir=tmp_path / "docs")
    snap.current_page = lambda: page
    return snap


@pytest.fixture
def snap(tmp_path) -> Snapshot:
    return snapshot_at(tmp_path)


# ---------------------------------------------------------------- loading


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema=2), "schema"),
        (lambda d: d.update(data_mode="guess"), "data_mode"),
        (lambda d: d.update(as_of="15/01/2026"), "as_of"),
        (lambda d: d["metrics"]["rut.rsi_14"].update(unit="furlongs"), "rut.rsi_14"),
        (lambda d: d["metrics"]["rut.ret_1y"].pop("reason"), "rut.ret_1y"),
        (lambda d: d["metrics"]["rut.close"].pop("unit"), "rut.close"),
        (lambda d: d.update(metrics=[]), "metrics"),
        (lambda d: d.update(sectors={}), "sectors"),
        (lambda d: d["levels"][0].pop("above_key"), "levels.0.above_key"),
        (lambda d: d["catalog"][0].update(unit=None), "catalog.0.unit"),
        (lambda d: d["facts"]["gdpnow_q4"].update(unit=None), "gdpnow_q4"),
    ],
)
def test_load_rejects_contract_breaks(tmp_path, change, message):
    data = load_fixture_snapshot()
    change(data)
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match=re.escape(message)):
        Snapshot.load(path)


def test_load_names_missing_and_broken_files(tmp_path):
    with pytest.raises(SnapshotError, match="python -m build_data"):
        Snapshot.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        Snapshot.load(tmp_path / "bad.json")


def test_optional_sections_default_to_empty(tmp_path):
    data = {k: v for k, v in load_fixture_snapshot().items() if k in ("schema", "as_of", "data_mode", "metrics")}
    s = snapshot_at(tmp_path, data)
    assert s.changes_list() == '<p class="changes changes--empty">No signal has changed since the last build.</p>'
    assert s.watch_table() == '<p class="empty">Nothing on the watchlist.</p>'


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("call", "key", "near"),
    [
        (lambda s: s.metric("rut.rsi_41"), "rut.rsi_41", "rut.rsi_14"),
        (lambda s: s.key_numbers(["rut.ret_ytd", "spx.ret_ydt"]), "spx.ret_ydt", "spx.ret_ytd"),
        (lambda s: s.chart("rut_vs_spy"), "rut_vs_spy", "rut_vs_spx"),
        (lambda s: s.fact("gdpnow_q5"), "gdpnow_q5", "gdpnow_q4"),
        (lambda s: s.claim("rsi_hott"), "rsi_hott", "rsi_hot"),
        (lambda s: s.claims_tally("bul"), "bul", "bull"),
        (lambda s: s.metrics_table("levls."), "levls.", "levels."),
        (lambda s: s.metric("rut.close", "prcie"), "prcie", "price"),
    ],
)
def test_unknown_key_names_page_key_and_three_closest(snap, call, key, near):
    with pytest.raises(MacroError) as err:
        call(snap)
    msg = str(err.value)
    assert msg.startswith("page bull-case.md: ")
    assert repr(key) in msg
    suggestions = msg.split("closest", 1)[1]
    assert near in suggestions
    assert len(re.findall(r"'[^']+'", suggestions)) in (2, 3)  # the page list has only two entries


def test_list_driven_macros_fail_when_their_list_is_missing(tmp_path):
    data = load_fixture_snapshot()
    for section in ("catalog", "sectors", "levels", "targets"):
        data.pop(section)
    s = snapshot_at(tmp_path, data)
    for call, section in [(s.metric_reference, "catalog"), (s.sector_table, "sectors"), (s.levels_table, "levels"), (s.targets_table, "targets")]:
        with pytest.raises(MacroError, match=f"'{section}' list is empty"):
            call()


def test_authoring_page_shows_the_real_error_message(snap):
    """docs/authoring.md quotes an error; it must stay what the macros really print."""
    with pytest.raises(MacroError) as err:
        snap.metric("rut.rsi_41")
    authoring = (Path(macros.__file__).parents[1] / "docs" / "authoring.md").read_text()
    from macros.errors import explain

    assert f"``MacroError: {explain(err.value)}``\n" in authoring


def test_table_macros_fail_on_a_missing_metric(tmp_path):
    data = load_fixture_snapshot()
    del data["metrics"]["xlk.ret_ytd"], data["metrics"]["levels.breakout_above"], data["metrics"]["targets.bull_move"]
    s = snapshot_at(tmp_path, data)
    for call, key in [(s.sector_table, "xlk.ret_ytd"), (s.levels_table, "levels.breakout_above"), (s.targets_table, "targets.bull_move")]:
        with pytest.raises(MacroError, match=re.escape(repr(key))):
            call()


@pytest.mark.parametrize(
    ("fmt", "unit"), [("price", "fraction"), ("pct", "price"), ("int", "date")]
)
def test_format_that_does_not_fit_the_unit_fails(snap, fmt, unit):
    key = next(k for k, m in snap.data["metrics"].items() if m["unit"] == unit and m["value"] is not None)
    with pytest.raises(MacroError, match=f"does not apply to unit '{unit}'"):
        snap.metric(key, fmt)


def test_a_nan_that_slipped_into_the_snapshot_fails_instead_of_printing(tmp_path):
    data = load_fixture_snapshot()
    data["metrics"]["rut.rsi_14"]["value"] = float("nan")  # json.dumps writes NaN; json.loads reads it
    s = snapshot_at(tmp_path, data)
    with pytest.raises(MacroError, match="NaN"):
        s.metric("rut.rsi_14")


# ---------------------------------------------------------------- rendering


def test_metric_span_carries_key_label_date_and_source(snap):
    # A link to the number's row in the methodology table: provenance by keyboard, not hover alone.
    # Then a note marker: the page's notes give its source and date, on a tap (source_notes below).
    assert snap.metric("rut.ret_ytd") == (
        '<a class="metric" data-key="rut.ret_ytd" '
        'title="Russell 2000 YTD return, as of Jan 15, 2026, yahoo:^RUT" '
        'href="../methodology/#metric-rut.ret_ytd">7.8%</a><sup class="note-ref" data-note="metric:rut.ret_ytd"></sup>'
    )
    table = snap.metrics_table("rut.ret_ytd")
    assert '<code id="metric-rut.ret_ytd">rut.ret_ytd</code>' in table  # the row it links to
    assert '<span class="metric" data-key="rut.ret_ytd"' in table  # which does not link to itself
    assert 'data-fmt="signed_pct"' in snap.metric("rut.ret_ytd", "signed_pct")
    assert ">+7.8%<" in snap.metric("rut.ret_ytd", "signed_pct")


def test_missing_value_shows_a_dash_with_its_reason(snap):
    html = snap.metric("rut.ret_1y")
    assert html.startswith('<span class="na metric" title="too little history: 180 sessions, needs 253" data-key="rut.ret_1y">—')
    # The reason is visible in the page's notes, not only in a tooltip; the dash has no source note.
    assert html.endswith('<sup class="note-ref" data-note="na:rut.ret_1y"></sup>') and "metric:" not in html
    page = snap.source_notes(f"One year: {html}.")
    assert re.search(r'<li id="note-1">Russell 2000 1-year return: not available: too little history: 180 sessions, '
                     r'needs 253\. <a class="note-back" href="#note-ref-1"', page)


@pytest.mark.parametrize(
    ("page", "prefix", "source_prefix"),
    [(PageRef("index.md", ""), "", ""), (PageRef("bull-case.md", "bull-case/"), "../", ""),
     (PageRef("a/b/c.md", "a/b/c/"), "../../../", "../../"), (PageRef("x.md", "x.html"), "", "")],
)
def test_chart_urls_are_relative_to_the_page(tmp_path, page, prefix, source_prefix):
    s = snapshot_at(tmp_path, page=page)
    html = s.chart("rsi")
    # The spec URL is read by charts.js against the page URL.
    assert f'data-spec="{prefix}generated/charts/rsi.vg.json"' in html  # Vega, compiled at build time
    # The fallback image is Markdown relative to the source file; the site builder rewrites it
    # for the page (the built-site tests check the result).
    assert f"]({source_prefix}generated/charts/rsi.svg)" in html
    assert "![Bar chart of the RSI-14" in html and "<figcaption>Russell 2000 RSI-14 <a" in html
    # The data the chart shows, as CSV, linked under it (relative to the page, like the spec).
    assert (f'<a class="chart-data" href="{prefix}generated/charts/rsi.csv" download=""'
            ' aria-label="data &#40;CSV&#41;: Russell 2000 RSI-14">data (CSV)</a></figcaption>') in html
    assert '{ width="688" height="236" decoding="async" }' in html  # read from the SVG: no layout shift
    # Phones get the narrow drawing, with its own size, and charts.js its narrow spec.
    assert (f'<picture class="chart-light"><source media="&#40;max-width: 480px&#41;" '
            f'srcset="{prefix}generated/charts/rsi.narrow.svg" width="358" height="236">') in html
    assert f'data-spec-narrow="{prefix}generated/charts/rsi.narrow.vg.json"' in html
    # The same drawings for the dark palette (assets/site.css shows them), loaded only when shown.
    assert (f'<picture class="chart-dark"><source media="&#40;max-width: 480px&#41;" '
            f'srcset="{prefix}generated/charts/rsi.narrow.dark.svg" width="358" height="236">') in html
    assert f']({source_prefix}generated/charts/rsi.dark.svg){{ width="688" height="236" decoding="async" loading="lazy" }}' in html
    assert html.count("loading=") == 1


def test_a_snapshot_without_dark_drawings_shows_the_light_ones(tmp_path):
    snap = load_fixture_snapshot()
    for entry in snap["charts"].values():
        entry.pop("svg_dark"), entry.pop("narrow_svg_dark")
    html = snapshot_at(tmp_path, page=PageRef("bull-case.md", "bull-case/"), data=snap).chart("rsi")
    assert 'class="chart-light"' in html and "chart-dark" not in html and ".dark.svg" not in html


def test_chart_image_falls_back_to_html_without_a_source_path(tmp_path):
    html = snapshot_at(tmp_path, page=PageRef("?", "bull-case/")).chart("rsi")
    assert 'src="../generated/charts/rsi.svg"' in html and 'alt="Bar chart of the RSI-14' in html


def test_claims_badges_and_tally(snap):
    assert '<span class="badge badge--holds">holds</span>' in snap.claim("rsi_hot")
    assert "(now 71.2, threshold 70.0)" in NOTE.sub("", snap.claim("rsi_hot"))
    assert 'now 71.2<sup class="note-ref" data-note="metric:rut.rsi_14"></sup>,' in snap.claim("rsi_hot")
    assert '<span class="badge badge--fails">no longer holds</span>' in snap.claim("volume_confirms")
    unknown = snap.claim("one_year")
    assert "can't be checked" in unknown and "too little history" in unknown
    # The tally names the claims that do not hold (the one that no longer holds with its date, if any).
    bull = snap.claims_tally("bull")
    assert ">1 of 3 bull-case claims hold; 1 no longer holds (<em>Conviction</em>" in bull
    assert "1 can&#x27;t be checked (<em>One-year trend</em>). No change since" in bull
    # The week the home page's summary covers (the fixture's summary starts after Jan 9).
    assert ">1 of 1 bear-case claims hold. No change since <time datetime=\"2026-01-09\">Jan 9, 2026</time>.<" \
        in snap.claims_tally("bear")


def test_threshold_prints_the_configured_number_as_the_snapshot_formatted_it(tmp_path):
    data = load_fixture_snapshot()
    data["claims"]["rsi_hot"] |= {"threshold_text": "70", "clear_text": "67"}
    data["watchlist"]["breakout_fail"] |= {"threshold_text": "2,500", "clear_text": None}
    snap = snapshot_at(tmp_path, data)
    assert (snap.threshold("rsi_hot"), snap.threshold("rsi_hot", "clear")) == ("70", "67")
    assert snap.threshold("breakout_fail") == "2,500"  # a watch item's too
    for call, message in [
        (lambda: snap.threshold("rsi_ht"), "threshold('rsi_ht'): unknown claim or watch item 'rsi_ht'; closest: 'rsi_hot'"),
        (lambda: snap.threshold("breakout_fail", "clear"),
         "threshold('breakout_fail', 'clear'): watch item 'breakout_fail' has no clear to show: it has no clear level"),
        (lambda: snap.threshold("beats_spx"), "claim 'beats_spx' has no threshold to show"),
        (lambda: snap.threshold("rsi_hot", "clr"), "the second argument is 'threshold' or 'clear', not 'clr'"),
    ]:
        with pytest.raises(MacroError) as e:
            call()
        assert message in str(e.value) and str(e.value).startswith("page bull-case.md: ")


def test_config_reference_lays_out_the_rows_the_build_wrote(tmp_path):
    from pydantic import Field

    from build_data import schema
    from build_data.config import Claim, Universe

    class ToneClaim(Claim):
        tone: str = Field(default="neutral", description="How firmly the claim is worded.")

    class ToneUniverse(Universe):
        claims: dict[str, ToneClaim] = {}

    data = load_fixture_snapshot()
    data["config_reference"] = schema.reference_rows(ToneUniverse)
    snap = snapshot_at(tmp_path, data)
    html = snap.config_reference()
    assert ("<td><code>claims.NAME.tone</code></td><td>string</td><td>&quot;neutral&quot;</td>"
            "<td>How firmly the claim is worded.</td>") in html
    only = snap.config_reference("claims")
    assert "claims.NAME.tone" in only and "watchlist.NAME.why" not in only and "symbols" not in only
    with pytest.raises(MacroError, match=r"config_reference\('claim'\): unknown config section 'claim'; closest: 'claims'"):
        snap.config_reference("claim")
    data["config_reference"] = []
    with pytest.raises(MacroError, match="config_reference"):
        snapshot_at(tmp_path / "empty", data).config_reference()


def test_claims_tally_counts_any_claim_group(tmp_path):
    data = load_fixture_snapshot()
    data["claims"]["rsi_hot"]["page"] = "semis"
    data["tally"] = {"bull": data["tally"]["bull"], "semis": {"holds": 1, "fails": 0, "unknown": 0}}
    snap = snapshot_at(tmp_path, data)
    assert '<p class="claims-tally" data-page="semis">1 of 1 semis-case claims hold. No change since' \
        in snap.claims_tally("semis")
    assert ">1 of 1 chip-stock claims hold. No change" in snap.claims_tally("semis", "chip-stock")
    with pytest.raises(MacroError) as e:
        snap.claims_tally("semi")
    assert str(e.value) == ("page bull-case.md: claims_tally('semi'): unknown claim group 'semi'; "
                            "closest groups: 'semis', 'bull'")


def test_watch_table(snap):
    html = snap.watch_table()
    for status in ("near", "clear", "triggered", "unknown"):
        assert f'<span class="badge badge--{status}">{status}</span>' in html
    assert 'since <time datetime="2026-01-13">Jan 13, 2026</time>' in html
    assert '<span class="watch-value" data-watch="yield_drop"><span class="na"' in html
    # Its table roles are in the HTML (phones draw it as a grid): a table for screen readers, with
    # or without JavaScript. Header cells keep their native role (Material styles th[role] as sortable).
    assert html.count('<table role="table">') == 1 and html.count('role="rowgroup"') == 2
    # Each item's row carries its anchor (the change log links to it).
    assert html.count('<tr role="row"') == 5 and html.count('role="cell"') == html.count('<td') == 4 * 5
    assert html.count('<tr role="row" id="watch-') == 4
    assert len(re.findall(r"<th[ >]", html)) == 5 and "<th role" not in html
    # The two risks (shown above on the same page, which keeps their anchors) and the header row.
    assert snap.watch_table("risk").count('<tr role="row"') == 3
    # A dash's reason is visible in the page's notes (the item's own reason, else its metric's);
    # a value's source and date are too.
    notes = snap.source_notes(html)
    assert "10-year below 4%: not available: not available in this snapshot." in html_mod.unescape(notes)
    assert re.search(r'<li id="note-\d">[^<]*<a href="../methodology/#metric-[^"]+">', notes)
    # Each row with a value marks its source, even where an earlier row shares it.
    rows = re.findall(r"<tr role=\"row\"[^>]*>(.*?)</tr>", notes)[1:]
    assert [bool(re.search(r'watch-value[^>]*>[^—]*?</span><sup class="note-ref">', r)) for r in rows] \
        == [w["value"] is not None for w in snap.data["watchlist"].values()]


def test_a_claim_or_watch_item_gives_its_own_reason_when_its_value_is_missing(tmp_path):
    data = load_fixture_snapshot()
    data["watchlist"]["yield_drop"]["reason"] = "the 10-year series ended on Jan 9"
    data["claims"]["one_year"]["reason"] = "needs a year of history"
    snap = snapshot_at(tmp_path, data)
    notes = html_mod.unescape(snap.source_notes(snap.watch_table() + snap.claim("one_year")))
    assert "10-year below 4%: not available: the 10-year series ended on Jan 9." in notes
    # A claim that can't be checked says why in its own words, beside its badge (no dash, no note).
    assert "(no verdict: needs a year of history; threshold 10.0%)" in notes
    with pytest.raises(MacroError):
        snap.watch_table("risks")


def test_fact_shows_its_value_and_a_note_with_source_date_and_age(snap):
    shown = snap.fact("bofa_large_cap_outflow")
    # Nothing between the number and the words after it: the source is in the note.
    assert re.sub(r"<[^>]+>", "", shown) == "$45.9bn"
    assert shown.endswith('<sup class="note-ref" data-note="fact:bofa_large_cap_outflow"></sup></span>')
    page = snap.source_notes(f"Flows were {shown} and GDPNow {snap.fact('gdpnow_q4')}.")
    assert re.sub(r"<[^>]+>", "", page).startswith("Flows were $45.9bn1 and GDPNow 5.3%2.")
    notes = dict(re.findall(r'<li id="note-(\d)">(.*?)</li>', page))
    assert html.unescape(re.sub(r"<[^>]+>", "", notes["1"])) == (
        "Bank of America clients sold large caps, net, in 2025: Bank of America, Dec 2025 (40 days old). ↩\ufe0e")
    assert '<a href="https://www.atlantafed.org/cqer/research/gdpnow">Atlanta Fed GDPNow</a>' in notes["2"]
    assert "GDPNow estimate for Q4 2025: " in notes["2"] and "(1 day old)" in notes["2"]


def test_an_expired_fact_reads_as_history(snap):
    expired = snap.fact("fwd_pe_sep")
    assert "fact--expired" in expired
    assert re.sub(r"<[^>]+>", "", expired) == "was 16.1×, as of Sep 2025"
    assert '<time datetime="2025-09-30">Sep 2025</time>' in expired
    assert "(400 days old, past its 365-day limit)" in snap.source_notes(expired)
    # A quote or a stance is not a number: no "was", only its date.
    assert re.sub(r"<[^>]+>", "", snap.fact("barclays_view")) == "less compelling"


def test_facts_keep_the_precision_they_were_published_with(tmp_path):
    data = load_fixture_snapshot()
    data["facts"]["eps"] = {**data["facts"]["gdpnow_q4"], "value": 0.61, "unit": "fraction", "decimals": 0}
    data["facts"]["pe"] = {**data["facts"]["gdpnow_q4"], "value": 33.0, "unit": "multiple"}  # no decimals: as needed
    data["facts"]["eps_exact"] = {**data["facts"]["eps"], "decimals": 1}
    snap = snapshot_at(tmp_path, data)
    shown = {k: re.sub(r"<[^>]+>", "", snap.fact(k)) for k in ("eps", "pe", "eps_exact")}
    assert shown == {"eps": "61%", "pe": "33×", "eps_exact": "61.0%"}


def test_source_notes_are_numbered_once_per_source_and_date(snap):
    page = (f"A {snap.metric('rut.ret_ytd')}, B {snap.metric('rut.rsi_14')}, C {snap.fact('gdpnow_q4')}, "
            f"D {snap.metric('rut.ret_1y')} and {snap.metric('rut.ret_1y')}.\n\nA again {snap.metric('rut.ret_ytd')}.\n")
    out = snap.source_notes(page)
    # The two ^RUT numbers of Jan 15 share note 1, marked once in a paragraph (at its first
    # number); a later paragraph links to it again with its own id. Every dash is marked.
    refs = re.findall(r'<sup class="note-ref"><a href="#note-(\d)" id="([^"]+)" aria-label="Note \d">\d</a></sup>', out)
    assert refs == [("1", "note-ref-1"), ("2", "note-ref-2"), ("3", "note-ref-3"), ("3", "note-ref-3-2"),
                    ("1", "note-ref-1-2")]
    assert re.sub(r"<[^>]+>", "", out).startswith(
        "A 7.8%1, B 71.2, C 5.3%2, D — (not available)3 and — (not available)3.\n\nA again 7.8%1.")
    assert "data-note=" not in out and out.count("<li id=") == 3
    first = re.search(r'<li id="note-1">(.*?)</li>', out).group(1)
    assert ('<a href="../methodology/#metric-rut.ret_ytd">Russell 2000 YTD return</a>; '
            '<a href="../methodology/#metric-rut.rsi_14">Russell 2000 RSI-14</a>: yahoo:^RUT, as of '
            '<time datetime="2026-01-15">Jan 15, 2026</time>.') in first
    assert out.startswith("A <a class=\"metric\"") and out.endswith("</ol></section>\n")
    assert '<section class="source-notes" aria-labelledby="page-notes"><h2 id="page-notes">' in out
    # A page without markers is left as it is; a marker for a key the snapshot lacks is dropped.
    assert snap.source_notes("No numbers.\n") == "No numbers.\n"
    assert snap.source_notes('x<sup class="note-ref" data-note="fact:nope"></sup>') == "x"


def test_a_reason_shared_by_many_missing_values_names_the_first_few(tmp_path):
    data = load_fixture_snapshot()
    keys = sorted(data["metrics"])[:8]
    for k in keys:
        data["metrics"][k] |= {"value": None, "reason": "no data from the source"}
    snap = snapshot_at(tmp_path, data)
    out = snap.source_notes(" ".join(snap.metric(k) for k in keys))
    assert out.count("<li id=") == 1 and out.count('href="#note-1"') == 8
    assert "; ".join(data["metrics"][k]["label"] for k in keys[:6]) + " and 2 more: not available: no data" \
        in html.unescape(out)


def test_tables_follow_snapshot_order_and_units(snap):
    sectors = snap.sector_table()
    assert [m for m in re.findall(r"<td>([^<]+) <span class=\"ticker\">", sectors)] == ["Energy", "Real Estate", "Technology"]
    assert ">+0.5%<" in sectors and f">{f.MINUS}2.2%<" in sectors and ">0.0%<" in sectors
    levels = snap.levels_table()
    assert "position--below" in levels and levels.count("position--above") == 2
    assert ">2,700.00<" in levels and f">{f.MINUS}3.3%<" in levels
    targets = snap.targets_table()
    assert ">+9.6%<" in targets and ">+14.9%<" in targets and "Strategist consensus" in targets


def test_key_numbers_is_phrasing_content(snap):
    html = snap.key_numbers(["rut.ret_ytd", ["iwm.volume", "int"]])
    assert "<div" not in html and "\n" not in html
    assert ">25,100,000<" in html and ">Russell 2000 YTD return<" in html
    # Each card marks its source, even where cards share one.
    cards = snap.source_notes(snap.key_numbers(["rut.ret_ytd", "rut.rsi_14"]))
    assert re.findall(r'href="#note-(\d)" id="([^"]+)"', cards) == [("1", "note-ref-1"), ("1", "note-ref-1-2")]
    with pytest.raises(MacroError, match="list of keys"):
        snap.key_numbers("rut.ret_ytd")


@pytest.mark.parametrize(
    ("mode", "note", "text"),
    [
        ("live", "", "Data as of Jan 15, 2026 (close)."),
        ("cache", "Cached data as of 2026-01-14: Yahoo did not answer.", "Cached data, as of Jan 15, 2026."),
        ("sample", "No network and no cache.", "SAMPLE DATA, not real prices."),
        ("csv", "", "Data as of Jan 15, 2026 (close), from local CSV files."),
    ],
)
def test_banner_per_data_mode(tmp_path, mode, note, text):
    data = load_fixture_snapshot()
    data.update(data_mode=mode, mode_note=note)
    assert snapshot_at(tmp_path, data).banner() == {"mode": mode, "text": text, "note": note, "as_of": "2026-01-15"}


def test_single_line_output_for_admonitions(snap):
    calls = [snap.sector_table(), snap.levels_table(), snap.targets_table(), snap.watch_table(), snap.changes_list(),
             snap.series_table(), snap.metrics_table(), snap.chart("rsi"), snap.data_status()]  # fmt: skip
    assert not [c for c in calls if "\n" in c]


# ---------------------------------------------------------------- wiring


class FakeEnv:
    """The slice of the mkdocs-macros plugin object that define_env uses."""

    def __init__(self, docs_dir: Path):
        self.conf = {"docs_dir": str(docs_dir), "extra": {"snapshot": "generated/metrics.json"}}
        self.macros, self.filters, self.variables = {}, {}, {}
        self.page = SimpleNamespace(file=SimpleNamespace(src_path="deep/page.md"), url="deep/page/")

    def macro(self, func, name=""):
        self.macros[name or func.__name__] = func

    def filter(self, func, name=""):
        self.filters[name or func.__name__] = func


def test_define_env_registers_documented_macros(tmp_path, monkeypatch):
    monkeypatch.delenv("SNAPSHOT_PATH", raising=False)
    snapshot_at(tmp_path)
    env = FakeEnv(tmp_path / "docs")
    macros.define_env(env)
    assert set(env.macros) == {*macros.MACROS, "macro_reference"}
    for name, func in env.macros.items():
        assert inspect.getdoc(func), f"macro {name} has no docstring"
    assert env.conf["extra"]["data_banner"]["text"] == "Data as of Jan 15, 2026 (close)."
    assert env.variables["data_mode"] == "live"
    assert env.filters["pct"](0.0776) == "7.8%"
    # Page-aware: relative URLs and error messages use the page being rendered.
    assert "](../generated/charts/rsi.svg)" in env.macros["chart"]("rsi")  # deep/page.md
    with pytest.raises(MacroError, match="^page deep/page.md: "):
        env.macros["metric"]("nope")
    reference = html.unescape(env.macros["macro_reference"]())
    assert "<code>metric(key, [fmt])</code>" in reference and "<code>chart(id)</code>" in reference


def test_snapshot_path_env_var_overrides_config(tmp_path, monkeypatch):
    snapshot_at(tmp_path)
    other = load_fixture_snapshot()
    other["data_mode"] = "sample"
    (tmp_path / "other.json").write_text(json.dumps(other))
    monkeypatch.setenv("SNAPSHOT_PATH", str(tmp_path / "other.json"))
    env = FakeEnv(tmp_path / "docs")
    macros.define_env(env)
    assert env.variables["data_mode"] == "sample"
    with pytest.raises(MacroError, match="outside docs_dir"):
        env.macros["chart"]("rsi")


def test_a_rebuild_reuses_a_macro_only_while_the_stamped_snapshot_and_the_page_are_the_same(tmp_path, monkeypatch):
    from build_data.publish import contract

    monkeypatch.delenv("SNAPSHOT_PATH", raising=False)
    snapshot_at(tmp_path)
    path = tmp_path / "docs/generated/metrics.json"

    def rebuild(close: float) -> tuple[str, str]:
        data = json.loads(path.read_text())
        data["metrics"]["rut.close"]["value"] = close
        path.write_text(contract.dumps(data))
        env = FakeEnv(tmp_path / "docs")
        macros.define_env(env)
        first = env.macros["metric"]("rut.close")
        env.page = SimpleNamespace(file=SimpleNamespace(src_path="index.md"), url="")
        return first, env.macros["metric"]("rut.close")

    deep, top = rebuild(2610.4)
    assert ">2,610.40<" in deep and 'href="../../methodology/' in deep and 'href="methodology/' in top
    assert macros._reused and rebuild(2610.4) == (deep, top)  # the same snapshot: reused
    assert ">2,700.00<" in rebuild(2700.0)[0]  # a new build of the data: rendered again


def test_page_ref_survives_a_page_without_file(tmp_path):
    env = SimpleNamespace(page=SimpleNamespace(url="x/"))
    assert macros.page_ref(env) == PageRef("x/", "x/")
    assert macros.page_ref(SimpleNamespace()) == PageRef()


# ---------------------------------------------------------------- the build fails, and says why


@pytest.fixture(scope="module")
def vendor(tmp_path_factory) -> Path:
    return write_vendor(tmp_path_factory.mktemp("vendor"))


@pytest.mark.parametrize(
    ("page", "markdown", "expect"),
    [
        ("bull-case.md", '# Bull\n\nRSI {{ metric("rut.rsi_41") }}\n', ["rut.rsi_41", "'rut.rsi_14'"]),
        ("deep/nested/charts.md", '# Charts\n\n{{ chart("rsi_chart") }}\n', ["rsi_chart", "'rsi'"]),
        ("watchlist.md", '# Watch\n\n{{ fact("bofa_outflow") }}\n', ["bofa_outflow", "'bofa_large_cap_outflow'"]),
        ("bear-case.md", '# Bear\n\n{{ claim("rsi_hto") }}\n', ["rsi_hto", "'rsi_hot'"]),
        ("methodology.md", '# M\n\n{{ metric("rut.close", "pct") }}\n', ["does not apply to unit 'price'"]),
        ("methodology.md", "# M\n\n{{ metirc('rut.close') }}\n", ["'metirc' is undefined; did you mean metric"]),
    ],
)
def test_bad_macro_call_fails_the_strict_build(tmp_path, vendor, page, markdown, expect):
    site = make_site(tmp_path / "site", vendor=vendor, pages={page: markdown})
    run = site.build()
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert page in out
    for needle in expect:
        assert needle in out, out[-3000:]
    assert f"Macro error in {page}, line 3" in out  # our own block: page and line


def test_missing_snapshot_fails_the_build_in_one_line(tmp_path, vendor):
    site = make_site(tmp_path / "site", vendor=vendor)
    (site.docs / "generated" / "metrics.json").unlink()
    run = site.build()
    assert run.returncode != 0
    assert "snapshot not found" in run.stderr and "python -m build_data" in run.stderr
    assert "Traceback" not in run.stderr


def test_attribute_lists_are_not_jinja_comments(tmp_path, vendor):
    pages = {"bull-case.md": "# Bull {#bull-top}\n\nText {{ metric('rut.rsi_14') }}.\n\n## Next {#next}\n\n{## hidden ##}Shown.\n"}
    site = make_site(tmp_path / "site", vendor=vendor, pages=pages)
    run = site.build()
    assert run.returncode == 0, run.stderr
    html = (site.site / "bull-case" / "index.html").read_text()
    assert 'id="bull-top"' in html and 'id="next"' in html and ">71.2<" in html
    assert "hidden" not in re.sub(r"<[^>]+>", "", html.split("<article", 1)[1].split("</article>", 1)[0])


def test_sector_table_heads_read_the_horizon_from_the_snapshot_catalog(tmp_path):
    data = load_fixture_snapshot()
    data["catalog"] += [{"pattern": "X.ret_1d", "unit": "fraction", "definition": "d", "horizon": "1 session"},
                        {"pattern": "X.ret_1m", "unit": "fraction", "definition": "d", "horizon": "one month"}]
    data["catalog"][1]["horizon"] = "this year"  # X.ret_ytd
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", snapshot_at(tmp_path, data).sector_table())
    assert heads == ["Sector", "1 session", "one month", "this year"]


def test_the_sector_table_head_says_which_return_its_rows_count(tmp_path):
    data = load_fixture_snapshot()
    keys = [k for k in data["metrics"] if k.endswith(".ret_ytd") and k.split(".")[0] in
            {s["alias"] for s in data["sectors"]}]
    for k in keys:
        data["metrics"][k]["basis"] = "total"
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", snapshot_at(tmp_path, data).sector_table(["ret_ytd"]))
    assert html.unescape(heads[0]) == "Sector (total return)"
    data["metrics"][keys[0]]["basis"] = "price"  # one row counts price return: the head claims neither
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", snapshot_at(tmp_path, data).sector_table(["ret_ytd"]))
    assert heads[0] == "Sector"


def test_the_revisions_table_lists_accepted_corrections_or_says_there_are_none():
    from macros.snapshot import Snapshot

    snap = Snapshot(data={"revisions": []}, path=Path("metrics.json"))
    assert "No published close has been corrected." in snap.revisions_table()
    snap.data["revisions"] = [{"series": "rut", "ticker": "^RUT", "session": "2026-01-13", "old": 1827.83,
                               "new": 1724.37, "when": "2026-01-15T22:31:00Z", "how": "seen again"}]
    html = snap.revisions_table()
    assert "<code>rut</code> ^RUT" in html and ">1,827.83<" in html and ">1,724.37<" in html
    assert 'datetime="2026-01-13"' in html and "seen again" in html and "Jan 15, 2026" in html
