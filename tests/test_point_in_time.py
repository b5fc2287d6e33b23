"""Point in time: an as-of build shows only what was public that day.

Worked cases: CPI by its release rule, claims by FRED's real-time periods (the API's JSON, from
a fake on 127.0.0.1), targets and facts before their dates, a stale GDPNow, data-quality notes.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yfinance.data

from build_data import config, release
from build_data.build import build
from build_data.fetch.gather import Options
from build_data.fetch.sources import fred as fred_source
from build_data.fetch.sources import sample
from build_data.publish import snapshot
from tests.conftest import FIXED_NOW, build_snapshot, day, write_csv_folder
from tests.fakes.fred import FakeFred
from tests.fakes.yahoo import Listing, YahooFake, session
from tests.test_macros import snapshot_at
from tests.test_source_yahoo import cold_yfinance  # noqa: F401  (autouse fixture: fresh yfinance state)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# ---------------------------------------------------------------- the rules, worked

def test_release_rules_are_never_before_the_real_release(universe):
    rule = {a: m for a, m in universe.macro.items()}
    # Claims for the week ending Saturday Jan 10, 2026 came out on Thursday Jan 15.
    assert release.rule_release(pd.DatetimeIndex(["2026-01-10"]), "weekly", rule["claims"].release)[0] == ts("2026-01-15")
    # September 2025 CPI came out on Oct 24 (the shutdown); September 2013's on Oct 30: the rule
    # (the end of the following month) is later than both.
    for obs, real in (("2025-09-01", "2025-10-24"), ("2013-09-01", "2013-10-30"), ("2025-12-01", "2026-01-13")):
        assert release.rule_release(pd.DatetimeIndex([obs]), "monthly", rule["cpi"].release)[0] >= ts(real)
    assert release.rule_release(pd.DatetimeIndex(["2025-09-01"]), "monthly", rule["cpi"].release)[0] == ts("2025-10-31")
    # Q3 2025's advance GDP (and GDPNow's last Q3 nowcast) came out on Dec 23, 2025.
    assert release.rule_release(pd.DatetimeIndex(["2025-07-01"]), "quarterly", rule["gdpnow"].release)[0] >= ts("2025-12-23")
    # A daily rate: the next day.
    assert release.rule_release(pd.DatetimeIndex(["2026-01-14"]), "daily", rule["us10y"].release)[0] == ts("2026-01-15")


@pytest.mark.parametrize("obs, cadence, text", [
    ("2025-12-01", "monthly", "Dec 2025"), ("2026-01-10", "weekly", "week to Jan 10, 2026"),
    ("2025-01-01", "quarterly", "Q1 2025"), ("2026-01-14", "daily", "Jan 14, 2026")])
def test_period_text(obs, cadence, text):
    assert release.period_text(ts(obs), cadence) == text


def test_staleness_from_cadence_and_grace(universe):
    gdpnow, claims = universe.macro["gdpnow"], universe.macro["claims"]
    # A Q1-2025 GDPNow reading in 2026 is stale; the Q4-2025 one in January 2026 is not.
    why = release.staleness(ts("2025-01-01"), gdpnow, day("2026-01-16"))
    assert why is not None and "Q1 2025" in why and "quarterly" in why
    assert release.staleness(ts("2025-10-01"), gdpnow, day("2026-01-16")) is None
    # Claims: a week to Jan 10 is current on Jan 16 and stale a month later (7 + 10 days).
    assert release.staleness(ts("2026-01-10"), claims, day("2026-01-27")) is None
    assert release.staleness(ts("2026-01-10"), claims, day("2026-01-28")) is not None


def test_vintages_give_the_value_current_on_each_day():
    frame = release.vintages_frame([
        {"date": "2026-01-03", "realtime_start": "2026-01-08", "realtime_end": "2026-01-14", "value": "199000"},
        {"date": "2026-01-03", "realtime_start": "2026-01-15", "realtime_end": "9999-12-31", "value": "200000"},
        {"date": "2026-01-10", "realtime_start": "2026-01-15", "realtime_end": "2026-01-21", "value": "198000"},
        {"date": "2026-01-10", "realtime_start": "2026-01-22", "realtime_end": "9999-12-31", "value": "201000"},
        {"date": "2026-01-17", "realtime_start": "2026-01-22", "realtime_end": "9999-12-31", "value": "."}])
    values, released = release.by_vintage(frame, day("2026-01-14"), "ICSA")
    assert values.to_dict() == {ts("2026-01-03"): 199000.0}  # the Jan 10 week not out yet
    values, released = release.by_vintage(frame, day("2026-01-16"), "ICSA")
    assert values.to_dict() == {ts("2026-01-03"): 200000.0, ts("2026-01-10"): 198000.0}
    assert released.to_dict() == {ts("2026-01-03"): ts("2026-01-08"), ts("2026-01-10"): ts("2026-01-15")}
    assert release.latest_values(frame, "ICSA").to_dict() == {ts("2026-01-03"): 200000.0, ts("2026-01-10"): 201000.0}


# ---------------------------------------------------------------- CPI by its release rule (csv source)

def cpi_series(end: str) -> pd.Series:
    """Monthly CPI growing 2.5% a year, then a jump in September 2025 that takes the
    year-over-year rate to about 3.5%."""
    idx = pd.date_range("2014-01-01", end, freq="MS")
    values = 234.0 * (1.025 ** (np.arange(len(idx)) / 12))
    series = pd.Series(values, index=idx)
    series.loc["2025-09-01":] *= 1.0098
    return series.round(3)


@pytest.fixture
def csv_folder(tmp_path, universe):
    def make(end: str, **macro_overrides) -> object:
        tickers = [s.ticker for s in universe.symbols.values()]
        prices = sample.sample_prices(tickers, day(end))
        macro = sample.sample_macro([m.series for m in universe.macro.values()], day(end))
        macro["CPIAUCSL"] = cpi_series(end)
        macro |= macro_overrides
        return write_csv_folder(tmp_path / f"data-{end}", prices, macro)
    return make


def test_cpi_as_of_2025_10_20_does_not_show_september(universe, facts, csv_folder):
    folder = csv_folder("2025-11-05")
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=day("2025-10-20"))

    cpi = snap["metrics"]["cpi.yoy"]
    assert cpi["as_of"] == "2025-08-01" and cpi["period"] == "Aug 2025"  # September's came out Oct 24
    assert cpi["vintage"] == "latest revision" and cpi["released"] == "2025-09-30"
    assert cpi["value"] == pytest.approx(0.025, abs=1e-3)
    assert snap["claims"]["inflation"]["holds"] is False
    assert snap["series_status"]["cpi"]["last"] == "2025-08-01"


def test_a_macro_flip_is_dated_by_its_release(universe, facts, csv_folder):
    folder = csv_folder("2025-11-05")
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=day("2025-11-05"))

    assert snap["metrics"]["cpi.yoy"]["period"] == "Sep 2025"
    assert snap["metrics"]["cpi.yoy"]["value"] == pytest.approx(0.035, abs=1e-3)
    inflation = snap["claims"]["inflation"]
    # The September figure (observation date Sep 1) counts from its release, Oct 31 by the rule.
    assert inflation["holds"] is True and inflation["since"] == "2025-10-31"
    flips = [c for c in snap["changes"] if c.get("id") == "inflation" or "inflation" in json.dumps(c)]
    assert flips and all(c["date"] == "2025-10-31" for c in flips)


# ---------------------------------------------------------------- claims by FRED's real-time periods

LAST = day("2026-01-16")


def releases(series: pd.Series, lag_days: int = 1) -> list[tuple[str, str, float]]:
    """One release per observation, `lag_days` after it."""
    return [(d.date().isoformat(), (d + pd.Timedelta(days=lag_days)).date().isoformat(), float(v))
            for d, v in series.dropna().items()]


@pytest.fixture
def world(universe, httpserver):
    """Yahoo (the transport fake) and FRED (API and CSV) holding the sample history, with the
    claims week ending Jan 10, 2026 first published at 198,000 on Jan 15 and revised to 201,000
    on Jan 22."""
    tickers = [s.ticker for s in universe.symbols.values()]
    prices = sample.sample_prices(tickers, LAST)
    macro = sample.sample_macro([m.series for m in universe.macro.values()], LAST)
    series = {sid: releases(s) for sid, s in macro.items() if sid != "ICSA"}
    claims = macro["ICSA"].loc[:"2026-01-03"]
    series["ICSA"] = releases(claims, 5) + [("2026-01-10", "2026-01-15", 198000.0),
                                            ("2026-01-10", "2026-01-22", 201000.0),
                                            ("2026-01-17", "2026-01-22", 205000.0)]
    fred = FakeFred(httpserver, series)
    listings = {t: Listing(f, instrument_type="INDEX" if t.startswith("^") else "ETF") for t, f in prices.items()}
    yahoo = YahooFake(listings)
    yield yahoo, fred
    yahoo.release()


def live(universe, facts, tmp_path, yahoo, fred, log=None, **kw):
    yfinance.data.YfData.cache_get.cache_clear()
    opts = Options(source="auto", cache_dir=tmp_path / "cache", yahoo_session=session(yahoo), fred_url=fred.csv_url,
                   fred_api_url=fred.api_url, fetch_timeout=60, **{"now": FIXED_NOW, **kw})
    return build(opts, universe, facts, log=log if log is not None else (lambda _m: None))[0]


def test_claims_week_to_jan_10_shows_the_first_release_via_the_api(universe, facts, tmp_path, world):
    yahoo, fred = world
    # Built a week later, as of Jan 16: the figure a reader saw then, not today's revision.
    snap = live(universe, facts, tmp_path, yahoo, fred, fred_api_key="test-key", as_of=LAST,
                now=FIXED_NOW + pd.Timedelta(days=7))

    claims = snap["metrics"]["claims.latest"]
    assert claims["value"] == 198000 and claims["as_of"] == "2026-01-10"
    assert claims["period"] == "week to Jan 10, 2026" and claims["released"] == "2026-01-15"
    assert claims["vintage"] == "as published"
    assert snap["facts"]["claims_jan_2026"]["value"] == claims["value"]  # the site's own fact agrees
    status = snap["series_status"]["claims"]
    assert status["status"] == "ok" and status["vintage"] == "as published" and status["last"] == "2026-01-10"
    assert fred.requests and all(r["realtime_start"] == "1776-07-04" and r["realtime_end"] == "9999-12-31"
                                 for r in fred.requests)


def test_a_build_of_today_shows_the_revision_and_the_newer_week(universe, facts, tmp_path, world):
    yahoo, fred = world
    snap = live(universe, facts, tmp_path, yahoo, fred, fred_api_key="test-key", as_of=day("2026-01-23"),
                now=FIXED_NOW + pd.Timedelta(days=7))
    # Prices end on Jan 16 in this world; the macro figures go by their own release dates.
    claims = snap["metrics"]["claims.latest"]
    assert claims["value"] == 205000 and claims["period"] == "week to Jan 17, 2026"
    assert snap["metrics"]["claims.avg_4w"]["value"] > 0


def test_an_api_failure_falls_back_to_the_csv_and_says_so(universe, facts, tmp_path, world):
    yahoo, fred = world
    fred.api_status = 503
    lines: list[str] = []
    snap = live(universe, facts, tmp_path, yahoo, fred, log=lines.append, fred_api_key="test-key", as_of=LAST,
                now=FIXED_NOW + pd.Timedelta(days=7))

    claims = snap["metrics"]["claims.latest"]
    # The CSV holds today's revision; by the rule (the Thursday after the week) it was out by Jan 16.
    assert claims["value"] == 201000 and claims["vintage"] == "latest revision"
    assert snap["series_status"]["claims"]["vintage"] == "latest revision"
    assert any("fred api: ICSA" in line and "falling back to the CSV endpoint" in line for line in lines)


def test_without_a_key_the_api_is_never_asked(universe, facts, tmp_path, world):
    yahoo, fred = world
    snap = live(universe, facts, tmp_path, yahoo, fred, as_of=LAST)
    assert fred.requests == []
    assert snap["metrics"]["claims.latest"]["vintage"] == "latest revision"


def test_a_refused_key_is_an_error_that_never_shows_the_key(httpserver):
    fred = FakeFred(httpserver, {"ICSA": [("2026-01-10", "2026-01-15", 198000.0)]}, api_key="right-key")
    with pytest.raises(Exception) as failed:
        fred_source.fetch_vintages(["ICSA"], "wrong-secret-key", base_url=fred.api_url, timeout_s=5,
                                   log=lambda _m: None)
    assert "api_key is not registered" in str(failed.value) and "wrong-secret-key" not in str(failed.value)


def test_the_api_pages_through_a_long_history(httpserver, monkeypatch):
    rows = [(d.date().isoformat(), (d + pd.Timedelta(days=5)).date().isoformat(), 200000.0 + i)
            for i, d in enumerate(pd.date_range("2020-01-04", periods=30, freq="W-SAT"))]
    fred = FakeFred(httpserver, {"ICSA": rows})
    monkeypatch.setattr(fred_source, "API_PAGE", 7)
    got, errors = fred_source.fetch_vintages(["ICSA"], "test-key", base_url=fred.api_url, timeout_s=5,
                                             log=lambda _m: None)
    assert errors == {} and len(got["ICSA"]) == 30
    assert [r["offset"] for r in fred.requests] == ["0", "7", "14", "21", "28"]


# ---------------------------------------------------------------- targets, facts, staleness, notes

def test_a_target_dated_2026_01_15_is_absent_in_a_2025_09_12_build(universe, facts):
    snap, charts = build_snapshot(universe, facts, source="sample", as_of=day("2025-09-12"))

    for key in ("targets.base", "targets.base_move", "targets.bull_move"):
        m = snap["metrics"][key]
        assert m["value"] is None and m["reason"] == "not yet set: the target dates from 2026-01-15, after 2025-09-12"
    assert snap["watchlist"]["target_reached"]["status"] == "unknown"
    # The trend chart draws no target that did not exist yet; the author's levels stay.
    trend = next(c for c in charts if c.id == "rut-trend")
    assert "3,000 bull target" not in json.dumps(trend.spec) and "2,500 breakout" in json.dumps(trend.spec)
    # Facts from 2026 are absent, with the reason; a fact from before the date is there.
    absent = [k for k, f in snap["facts"].items() if f.get("absent")]
    assert "claims_jan_2026" in absent and all(snap["facts"][k]["effective"] > "2025-09-12" for k in absent)
    # The 2021 record is dated 2021 but reads "unbeaten until September 2025": public from Sep 18, 2025.
    assert "record_2021" in absent and snap["facts"]["record_2021"]["effective"] == "2025-09-18"
    assert snap["facts"]["claims_jan_2026"]["value"] is None
    assert "not yet published" in snap["facts"]["claims_jan_2026"]["reason"]


def test_a_fact_before_its_date_renders_as_absent(universe, facts, tmp_path):
    snap, _ = build_snapshot(universe, facts, source="sample", as_of=day("2025-09-12"))
    page = snapshot_at(tmp_path, json.loads(snapshot.to_json(snap)))
    html = page.fact("claims_jan_2026")
    assert "198,000" not in html and "not yet published" in html


def test_a_target_counts_from_its_date(universe, facts):
    snap, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    assert snap["metrics"]["targets.base"]["value"] == 2861
    assert snap["metrics"]["targets.base_move"]["value"] is not None
    # Facts count from their effective date too: the claims fact is there on its own date.
    assert snap["facts"]["claims_jan_2026"]["value"] == 198000 and not snap["facts"]["claims_jan_2026"].get("absent")


def test_effective_dates_in_config(tmp_path):
    path = tmp_path / "facts.yml"
    path.write_text("facts:\n  x: {text: t, source: s, date: '2026-01-10', max_age_days: 9, effective: '2026-01-12'}\n"
                    "  y: {text: t, source: s, date: '2026-01-10', max_age_days: 9}\n")
    got = config.load_facts(path)
    assert got.facts["x"].effective_from == day("2026-01-12") and got.facts["y"].effective_from == day("2026-01-10")
    path.write_text("facts:\n  x: {text: t, source: s, date: '2026-01-10', max_age_days: 9, efective: '2026-01-12'}\n")
    with pytest.raises(Exception, match=r"facts\.yml: facts\.x: unknown field 'efective'; did you mean 'effective'\?"):
        config.load_facts(path)


def test_a_stale_gdpnow_is_labelled_stale_in_the_text_and_the_methodology_table(universe, facts, csv_folder,
                                                                                 tmp_path):
    gdpnow = pd.Series([2.1, 2.94], index=pd.DatetimeIndex(["2024-10-01", "2025-01-01"]))
    folder = csv_folder("2026-01-16", GDPNOW=gdpnow)
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=LAST)

    m = snap["metrics"]["gdpnow.latest"]
    assert m["value"] == 2.94 and m["period"] == "Q1 2025" and m["stale"] is True
    status = snap["series_status"]["gdpnow"]
    assert status["status"] == "stale" and "Q1 2025" in status["reason"]
    assert snap["metrics"]["cpi.yoy"]["stale"] is False and snap["series_status"]["cpi"]["status"] == "ok"

    page = snapshot_at(tmp_path, json.loads(snapshot.to_json(snap)))
    text = page.metric("gdpnow.latest")
    assert "2.94%" in text and "stale: for Q1 2025" in text
    assert page.period("gdpnow.latest") == "Q1 2025, stale"
    assert page.period("cpi.yoy") == "Nov 2025" and "(Nov 2025)" in page.metric("cpi.yoy")
    table = page.series_table()
    row = next(r for r in table.split("<tr") if "<code>gdpnow</code>" in r)
    assert "badge--stale" in row and "Q1 2025" in row and "latest revision" in row


def test_quality_notes_speak_only_of_rows_up_to_the_as_of_date(universe, facts, csv_folder, tmp_path):
    folder = csv_folder("2026-01-16")
    path = folder / "IWM.csv"
    frame = pd.read_csv(path)
    # Rows on Saturdays: one before the as-of date, one after (a stray bar from August 2026).
    extra = frame.iloc[[-1, -1]].copy()
    extra["Date"] = ["2026-01-10", "2026-08-22"]
    pd.concat([frame, extra]).to_csv(path, index=False)
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=LAST)

    notes = " ".join(snap["series_status"]["iwm"].get("quality") or [])
    assert "2026-01-10" in notes and "2026-08" not in notes


def test_the_workflow_gives_the_api_key_to_the_build_step_only():
    from tests.test_workflow import jobs

    steps = [(name, s) for name, job in jobs().items() for s in job.get("steps", [])]
    holders = [(name, s.get("name")) for name, s in steps if "FRED_API_KEY" in str(s.get("env", {}))]
    assert holders == [("build", "Build data and site")]
    build_step = next(s for name, s in steps if s.get("name") == "Build data and site")
    assert build_step["env"]["FRED_API_KEY"] == "${{ secrets.FRED_API_KEY }}"
