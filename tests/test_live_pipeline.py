"""The live build through yfinance and FRED fakes: live, then the last good cache, then sample."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yfinance.data
from werkzeug import Response

from build_data.build import build
from build_data.fetch import cache
from build_data.fetch.gather import Options
from build_data.errors import BuildError
from build_data.fetch.sources import sample
from tests.conftest import FIXED_NOW, build_snapshot, day
from tests.fakes.yahoo import Listing, YahooFake, session
from tests.test_source_yahoo import cold_yfinance  # noqa: F401  (autouse fixture: fresh yfinance state)

LAST = day("2026-01-16")


@pytest.fixture
def market(universe):
    """What Yahoo and FRED 'hold': the sample history, served in their own formats."""
    tickers = [s.ticker for s in universe.symbols.values()]
    prices = sample.sample_prices(tickers, LAST)
    macro = sample.sample_macro([m.series for m in universe.macro.values()], LAST)
    return prices, macro


@pytest.fixture
def yahoo(market):
    prices, _ = market
    listings = {t: Listing(f, instrument_type="INDEX" if t.startswith("^") else "ETF") for t, f in prices.items()}
    fake = YahooFake(listings)
    yield fake
    fake.release()
    assert fake.unexpected == []


@pytest.fixture
def fred(httpserver, market):
    _, macro = market

    def answer(request):
        sid = request.args.get("id")
        if sid not in macro:
            return Response("not found", status=404)
        body = macro[sid].rename(sid).to_csv(index_label="observation_date", date_format="%Y-%m-%d")
        return Response(body, content_type="text/csv")
    httpserver.expect_request("/fredgraph.csv").respond_with_handler(answer)
    return httpserver.url_for("/fredgraph.csv")


def live(universe, facts, tmp_path, yahoo, fred_url, **kw):
    """One build run, as a fresh process would make it (yfinance caches responses in memory)."""
    yfinance.data.YfData.cache_get.cache_clear()
    kw.setdefault("source", "auto")
    return build_snapshot(universe, facts, cache_dir=tmp_path / "cache", yahoo_session=session(yahoo),
                          fred_url=fred_url, fetch_timeout=60, **kw)[0]


def break_yahoo(yahoo, universe, status=500):
    for s in universe.symbols.values():
        yahoo.script(s.ticker, status, '{"chart":{"result":null,"error":{"code":"Internal","description":"down"}}}')


def test_live_build_uses_fetched_values_and_fills_the_cache(universe, facts, tmp_path, yahoo, fred, market):
    snap = live(universe, facts, tmp_path, yahoo, fred)
    assert snap["data_mode"] == "live" and snap["as_of"] == "2026-01-16"
    rut = market[0]["^RUT"]["close"]
    assert snap["metrics"]["rut.close"]["value"] == pytest.approx(rut.iloc[-1])
    assert snap["metrics"]["rut.close"]["source"] == "yahoo:^RUT"
    assert snap["metrics"]["us10y.latest"]["source"] == "fred:DGS10"
    assert all(s["status"] == "ok" for s in snap["series_status"].values())
    cached = cache.load_prices(tmp_path / "cache", "^RUT")
    assert cached.source == "yahoo" and cached.data.index[-1] == pd.Timestamp(LAST)
    assert cache.load_macro(tmp_path / "cache", "ICSA") is not None


def test_yahoo_down_falls_back_to_cache_and_says_so(universe, facts, tmp_path, yahoo, fred, httpserver):
    first = live(universe, facts, tmp_path, yahoo, fred)
    break_yahoo(yahoo, universe)
    second = live(universe, facts, tmp_path, yahoo, fred)
    assert second["data_mode"] == "cache"
    assert "cache" in second["mode_note"] and "2026-01-16" in second["mode_note"]
    assert second["series_status"]["rut"]["source"] == "cache"
    assert second["metrics"]["rut.ret_ytd"] == first["metrics"]["rut.ret_ytd"]
    assert first["publishable"] is True and first["publishable_reason"] == "live data through 2026-01-16"
    assert second["publishable"] is True
    assert second["publishable_reason"] == "cached data through 2026-01-16, labelled as such on the pages"
    # The next session, Yahoo still down: the snapshot is as of Tuesday (Monday is a holiday), and
    # each cached number is shown as of its own last close, dated, not emptied.
    day = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(days=4))
    assert day["as_of"] == "2026-01-20" and day["publishable"] is True
    for key in ("rut.close", "rut.rsi_14", "rut_vs_spx.outperf_streak", "levels.breakout_distance"):
        assert day["metrics"][key]["value"] == first["metrics"][key]["value"], key
        assert day["metrics"][key]["as_of"] == "2026-01-16", key
    # A week later, Yahoo still down: four sessions behind, over the limit of three.
    week = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(days=7))
    assert week["publishable"] is False
    assert week["publishable_reason"].startswith("core series rut has no usable data")
    assert "last session 2026-01-16 is 4 sessions before 2026-01-23 (allowed: 3)" in week["publishable_reason"]


def test_bad_live_bar_is_refused_and_the_cache_survives(universe, facts, tmp_path, yahoo, fred):
    live(universe, facts, tmp_path, yahoo, fred)
    before = (tmp_path / "cache" / "prices" / "IWM.parquet").read_bytes()
    bars = yahoo.listings["IWM"].bars.copy()
    bars.iloc[-1, bars.columns.get_loc("close")] *= 3  # an absurd last print
    yahoo.listings["IWM"] = Listing(bars, instrument_type="ETF")
    snap = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(minutes=5))
    assert (tmp_path / "cache" / "prices" / "IWM.parquet").read_bytes() == before
    assert snap["series_status"]["iwm"]["source"] == "cache"
    assert snap["data_mode"] == "cache"


def test_no_network_and_no_cache_gives_the_flagged_sample(universe, facts, tmp_path, yahoo, httpserver):
    break_yahoo(yahoo, universe)
    httpserver.expect_request("/fredgraph.csv").respond_with_data("down", status=500)
    snap = live(universe, facts, tmp_path, yahoo, httpserver.url_for("/fredgraph.csv"))
    assert snap["data_mode"] == "sample"
    assert snap["metrics"]["rut.close"]["source"] == "sample:^RUT"
    with pytest.raises(BuildError, match="no live data and no cache"):
        live(universe, facts, tmp_path, yahoo, httpserver.url_for("/fredgraph.csv"), source="yahoo")


def test_corrupt_cache_is_reported_not_used(universe, facts, tmp_path, yahoo, fred):
    live(universe, facts, tmp_path, yahoo, fred)
    (tmp_path / "cache" / "prices" / "XLE.parquet").write_text("# sha256=0 source=yahoo\nnope\n")
    break_yahoo(yahoo, universe)
    snap = live(universe, facts, tmp_path, yahoo, fred)
    assert snap["series_status"]["xle"]["status"] == "missing"
    assert "corrupt" in snap["series_status"]["xle"]["reason"]
    # Named relative to the cache folder: the build machine's folders are never published.
    reason = snap["series_status"]["xle"]["reason"]
    assert "XLE.parquet.corrupt-" in reason and str(tmp_path) not in reason
    assert str(tmp_path) not in json.dumps(snap)
    assert snap["metrics"]["xle.close"]["value"] is None


def test_as_of_rebuild_inside_the_cache_needs_no_price_fetch(universe, facts, tmp_path, yahoo, fred, market):
    live(universe, facts, tmp_path, yahoo, fred)
    calls = len(yahoo.calls)
    snap = live(universe, facts, tmp_path, yahoo, fred, as_of=day("2025-12-31"))
    assert len(yahoo.calls) == calls  # nothing asked of Yahoo
    assert snap["as_of"] == "2025-12-31" and snap["data_mode"] == "cache"
    assert "covers that date" in snap["mode_note"]
    assert snap["metrics"]["rut.close"]["value"] == pytest.approx(market[0]["^RUT"]["close"].loc["2025-12-31"])


def test_a_corrupt_cache_is_kept_aside_and_healed_only_by_a_fetch_covering_it(universe, facts, tmp_path, yahoo,
                                                                               fred):
    live(universe, facts, tmp_path, yahoo, fred)
    path = tmp_path / "cache" / "prices" / "XLE.parquet"
    rows = len(cache.load_prices(tmp_path / "cache", "XLE").data)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one flipped bit in the body
    path.write_bytes(bytes(damaged))
    full = yahoo.listings["XLE"]
    yahoo.listings["XLE"] = Listing(full.bars.iloc[-100:], instrument_type=full.instrument_type)

    lines: list[str] = []
    yfinance.data.YfData.cache_get.cache_clear()
    snap, _ = build(Options(cache_dir=tmp_path / "cache", yahoo_session=session(yahoo), fred_url=fred,
                            fetch_timeout=60, now=FIXED_NOW + pd.Timedelta(minutes=5)), universe, facts,
                    log=lines.append)
    aside = list(path.parent.glob("XLE.parquet.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(damaged)  # kept, byte for byte
    assert not path.exists()  # the short fetch did not replace it
    status = snap["series_status"]["xle"]
    assert status["status"] == "missing" and status["reason"].startswith(
        f"unavailable: cache corrupt (kept as {aside[0].name}; needs a fetch covering ")
    assert any(f"moved aside to {aside[0].name}" in line for line in lines)
    assert snap["metrics"]["xle.close"]["value"] is None and snap["metrics"]["xle.records_ytd"]["value"] is None

    yahoo.listings["XLE"] = full  # Yahoo serves the whole history again
    snap = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(minutes=10))
    assert snap["series_status"]["xle"]["status"] == "ok"
    assert len(cache.load_prices(tmp_path / "cache", "XLE").data) == rows
    assert aside[0].exists()  # still kept


def test_a_split_restates_the_cached_history_and_is_recorded(universe, facts, tmp_path, yahoo, fred, market):
    day_before = FIXED_NOW - pd.Timedelta(days=1)  # Thursday 2026-01-15, after the close
    live(universe, facts, tmp_path, yahoo, fred, now=day_before)
    original = yahoo.listings["IWM"].bars
    # IWM splits 2-for-1 at the open of 2026-01-16: Yahoo restates every earlier bar.
    split_day = pd.Timestamp("2026-01-16")
    restated = original.copy()
    restated[["open", "high", "low", "close", "adj_close"]] /= 2
    restated["volume"] *= 2
    yahoo.listings["IWM"] = Listing(restated, instrument_type="ETF", splits={split_day: (2, 1)})

    snap = live(universe, facts, tmp_path, yahoo, fred)
    status = snap["series_status"]["iwm"]
    assert status["status"] == "ok" and status["source"] == "yahoo"
    assert status["splits"] == [{"date": "2026-01-16", "ratio": 2.0}]
    assert status["reason"] == "split 2-for-1 on 2026-01-16: cached history restated"
    cached = cache.load_prices(tmp_path / "cache", "IWM").data
    assert len(cached) == len(original)
    assert cached["close"].to_numpy() == pytest.approx(restated["close"].to_numpy(), abs=1e-6)
    assert cached["volume"].to_numpy() == pytest.approx(restated["volume"].to_numpy())
    assert snap["metrics"]["iwm.close"]["value"] == pytest.approx(restated["close"].iloc[-1])
    # Returns are unchanged by a split.
    expected_ytd = restated["close"].iloc[-1] / restated.loc[:"2025-12-31", "close"].iloc[-1] - 1
    assert snap["metrics"]["iwm.ret_ytd"]["value"] == pytest.approx(expected_ytd, rel=1e-6)


def test_a_restatement_that_is_no_reported_split_is_refused_and_flagged(universe, facts, tmp_path, yahoo, fred):
    live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW - pd.Timedelta(days=1))
    original = yahoo.listings["IWM"].bars
    restated = original.copy()
    restated[["open", "high", "low", "close", "adj_close"]] /= 2  # as a split would, but none is reported
    yahoo.listings["IWM"] = Listing(restated, instrument_type="ETF")

    snap = live(universe, facts, tmp_path, yahoo, fred)
    status = snap["series_status"]["iwm"]
    assert status["status"] == "ok" and status["source"] == "cache"
    assert status["reason"].startswith("live data refused: IWM: fetched close on ")
    assert "revision tolerance" in status["reason"]
    # Never the restated number: the cached close (or none, the cache being a session behind).
    shown = snap["metrics"]["iwm.close"]["value"]
    assert shown is None or shown == pytest.approx(original["close"].loc["2026-01-15"])
    assert cache.load_prices(tmp_path / "cache", "IWM").data["close"].iloc[-1] == pytest.approx(
        original["close"].loc["2026-01-15"])


THURSDAY, WEDNESDAY = FIXED_NOW - pd.Timedelta(days=1), FIXED_NOW - pd.Timedelta(days=2)


def test_a_bad_close_corrected_the_next_day_heals_the_series(universe, facts, tmp_path, yahoo, fred):
    true = yahoo.listings["IWM"].bars.copy()
    live(universe, facts, tmp_path, yahoo, fred, now=WEDNESDAY)
    # Thursday's IWM close is printed 3% high: inside the 25% move bound, so it is taken.
    bad = true.copy()
    bad.loc["2026-01-15", ["close", "high"]] *= 1.03
    yahoo.listings["IWM"] = Listing(bad, instrument_type="ETF")
    thursday = live(universe, facts, tmp_path, yahoo, fred, now=THURSDAY)
    assert thursday["metrics"]["iwm.close"]["value"] == pytest.approx(bad.loc["2026-01-15", "close"])
    # The index it tracks did not move so: both series carry a note that one print is bad.
    for alias in ("iwm", "rut"):
        assert any("on 2026-01-15: one of the two prints is likely bad" in q
                   for q in thursday["series_status"][alias].get("quality", [])), alias
    # Friday, Yahoo has corrected it: Thursday is still provisional, so the correction is taken.
    yahoo.listings["IWM"] = Listing(true, instrument_type="ETF")
    friday = live(universe, facts, tmp_path, yahoo, fred)
    cached = cache.load_prices(tmp_path / "cache", "IWM").data
    assert cached.loc["2026-01-15", "close"] == pytest.approx(true.loc["2026-01-15", "close"], abs=1e-6)
    status = friday["series_status"]["iwm"]
    assert (status["status"], status["source"], status["last"]) == ("ok", "yahoo", "2026-01-16")
    assert friday["data_mode"] == "live" and friday["publishable"] is True
    assert friday["metrics"]["iwm.close"]["value"] == pytest.approx(true.loc["2026-01-16", "close"])
    assert friday["revisions"] == []  # a provisional session's correction is no revision
    assert not any("likely bad" in q for q in friday["series_status"]["iwm"].get("quality", []))


def test_a_late_correction_is_disputed_once_then_accepted_and_logged(universe, facts, tmp_path, yahoo, fred):
    original = yahoo.listings["IWM"].bars.copy()
    live(universe, facts, tmp_path, yahoo, fred, now=THURSDAY)
    # Yahoo corrects a settled close (five sessions back) by 3%, beyond the 2% revision tolerance,
    # and has Friday's bar too.
    revised = original.copy()
    revised.loc["2026-01-09", ["open", "high", "low", "close", "adj_close"]] *= 1.03
    yahoo.listings["IWM"] = Listing(revised, instrument_type="ETF")
    first = live(universe, facts, tmp_path, yahoo, fred)
    status = first["series_status"]["iwm"]
    # Disputed, not a wall: the cached close stays, and Friday's session flows in.
    assert (status["status"], status["source"], status["last"]) == ("ok", "yahoo", "2026-01-16")
    assert any(q.startswith("disputed close on 2026-01-09") for q in status["quality"])
    assert first["data_mode"] == "live" and first["publishable"] is True
    cached = cache.load_prices(tmp_path / "cache", "IWM").data
    assert cached.loc["2026-01-09", "close"] == pytest.approx(original.loc["2026-01-09", "close"], abs=1e-6)
    assert cached.index[-1] == pd.Timestamp("2026-01-16")
    assert first["revisions"] == []
    # The next run sees the same correction again: accepted and logged.
    second = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(hours=1))
    cached = cache.load_prices(tmp_path / "cache", "IWM").data
    assert cached.loc["2026-01-09", "close"] == pytest.approx(revised.loc["2026-01-09", "close"], abs=1e-6)
    assert "quality" not in second["series_status"]["iwm"] or not any(
        q.startswith("disputed") for q in second["series_status"]["iwm"]["quality"])
    [entry] = second["revisions"]
    assert entry["series"] == "iwm" and entry["ticker"] == "IWM" and entry["session"] == "2026-01-09"
    assert entry["old"] == pytest.approx(original.loc["2026-01-09", "close"], abs=1e-6)
    assert entry["new"] == pytest.approx(revised.loc["2026-01-09", "close"], abs=1e-6)
    assert entry["how"] == "seen again" and entry["when"] == "2026-01-16T23:00:00Z"
    assert second["series_status"]["iwm"]["last"] == "2026-01-16"
    # The snapshot contract knows the revision log's shape.
    from build_data.publish import contract
    assert contract.validate(second)["revisions"][0]["how"] == "seen again"
    with pytest.raises(contract.ContractError, match="revisions"):
        contract.validate({**second, "revisions": [{**entry, "how": "guessed"}]})


def test_a_run_30s_after_the_close_builds_as_of_the_previous_session(universe, facts, tmp_path, yahoo, fred):
    true = yahoo.listings["^RUT"].bars.copy()
    # Yahoo's Friday bars are still forming: the close a little off, 60% of the day's volume.
    for ticker, listing in list(yahoo.listings.items()):
        forming = listing.bars.copy()
        forming.loc["2026-01-16", "close"] *= 1.004
        forming.loc["2026-01-16", "volume"] *= 0.6
        yahoo.listings[ticker] = Listing(forming, instrument_type=listing.instrument_type)
    bell = pd.Timestamp("2026-01-16 21:00", tz="UTC")
    snap = live(universe, facts, tmp_path, yahoo, fred, now=bell + pd.Timedelta(seconds=30))
    assert snap["as_of"] == "2026-01-15" and snap["data_mode"] == "live" and snap["publishable"] is True
    assert snap["metrics"]["rut.close"]["value"] == pytest.approx(true.loc["2026-01-15", "close"])
    assert cache.load_prices(tmp_path / "cache", "^RUT").data.index[-1] == pd.Timestamp("2026-01-15")


@pytest.mark.parametrize("now, message", [
    (FIXED_NOW - pd.Timedelta(days=213), "the machine's clock is behind"),   # 7 months behind
    (pd.Timestamp("1984-06-01 22:00", tz="UTC"), "outside the XNYS exchange calendar"),
])
def test_a_wrong_clock_is_a_one_line_error(universe, facts, tmp_path, yahoo, fred, now, message):
    live(universe, facts, tmp_path, yahoo, fred)
    before = (tmp_path / "cache" / "prices" / "^RUT.parquet").read_bytes()
    with pytest.raises(BuildError) as err:
        live(universe, facts, tmp_path, yahoo, fred, now=now)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert (tmp_path / "cache" / "prices" / "^RUT.parquet").read_bytes() == before


def chart_starts(yahoo) -> dict[str, pd.Timestamp]:
    """The earliest date each ticker's chart requests reached back to."""
    out: dict[str, pd.Timestamp] = {}
    for _host, path, params in yahoo.calls:
        if path.startswith("/v8/finance/chart/") and "period1" in params:
            t = path.rsplit("/", 1)[1]
            at = pd.Timestamp(int(params["period1"]), unit="s")
            out[t] = min(out.get(t, at), at)
    return out


def test_a_new_ticker_never_forces_a_full_download_for_the_others(universe, facts, tmp_path, yahoo, fred):
    live(universe, facts, tmp_path, yahoo, fred, now=THURSDAY)
    for stored in (tmp_path / "cache" / "prices").glob("XLE.parquet*"):  # as if XLE were new to the universe
        stored.unlink()
    yahoo.calls.clear()
    snap = live(universe, facts, tmp_path, yahoo, fred)
    starts = chart_starts(yahoo)
    assert starts["XLE"].date() <= universe.history_start
    others = {t: s for t, s in starts.items() if t != "XLE"}
    assert len(others) == len(universe.symbols) - 1
    # (the window asked of Yahoo opens a day early, so it covers the dates in any time zone)
    assert all(s >= pd.Timestamp("2025-12-31") for s in others.values()), others
    assert snap["data_mode"] == "live" and snap["series_status"]["xle"]["status"] == "ok"


def test_a_delisted_ticker_is_reported_once_and_kept_as_last_good(universe, facts, tmp_path, yahoo, fred):
    from tests.fakes.yahoo import NOT_FOUND

    live(universe, facts, tmp_path, yahoo, fred, now=WEDNESDAY)
    listing = yahoo.listings.pop("IWM")  # gone from Yahoo: "No data found, symbol may be delisted"
    runs = []
    for now in (THURSDAY, FIXED_NOW, FIXED_NOW + pd.Timedelta(days=7)):
        lines: list[str] = []
        yahoo.calls.clear()
        yfinance.data.YfData.cache_get.cache_clear()
        snap, _ = build(Options(cache_dir=tmp_path / "cache", yahoo_session=session(yahoo), fred_url=fred,
                                fetch_timeout=60, now=now), universe, facts, log=lines.append)
        runs.append((snap, lines, chart_starts(yahoo)))
    reports = [sum("reports it delisted" in line for line in lines) for _, lines, _ in runs]
    assert reports == [0, 1, 0]  # reported once, when a second session confirms it
    # The first "not found" may be a glitch: the last good cache, as for any failed fetch.
    first = runs[0][0]
    assert first["series_status"]["iwm"]["source"] == "cache" and "delisted" not in first["series_status"]["iwm"]
    assert first["data_mode"] == "cache"
    for snap, _lines, starts in runs:
        # The others keep flowing, incrementally: no full download because one ticker vanished.
        assert snap["series_status"]["rut"]["last"] == min(snap["as_of"], "2026-01-16")  # Yahoo's last bar
        assert all(s >= pd.Timestamp("2025-12-20") for t, s in starts.items() if t != "IWM"), starts
        assert snap["metrics"]["iwm.close"]["value"] == pytest.approx(listing.bars.loc["2026-01-14", "close"])
    for snap, _lines, _starts in runs[1:]:
        status = snap["series_status"]["iwm"]
        assert status["status"] == "ok" and status["source"] == "cache" and status["delisted"] == "2026-01-15"
        assert status["reason"] == ("delisted: Yahoo has had no data for IWM since 2026-01-15; the last good "
                                    "data, through 2026-01-14, is shown")
    assert runs[1][0]["data_mode"] == "live" and runs[1][0]["publishable"] is True
    # A week on, IWM is still shown as its last good data (the stale rule is for series that
    # should be moving), while the others go stale as Yahoo's market stops on Friday.
    assert runs[2][0]["series_status"]["iwm"]["status"] == "ok"
    # Listed again: the marker goes, the series is fresh on the next run.
    yahoo.listings["IWM"] = listing
    yfinance.data.YfData.cache_get.cache_clear()
    back = live(universe, facts, tmp_path, yahoo, fred)
    assert back["series_status"]["iwm"]["source"] == "yahoo" and "delisted" not in back["series_status"]["iwm"]
    assert cache.delisted_since(tmp_path / "cache", "IWM") is None
    assert NOT_FOUND["chart"]["error"]["description"].endswith("may be delisted")


def test_a_split_right_after_a_bad_close_restates_the_cache_and_heals_the_close(universe, facts, tmp_path, yahoo,
                                                                                 fred):
    true = yahoo.listings["IWM"].bars.copy()
    live(universe, facts, tmp_path, yahoo, fred, now=WEDNESDAY)
    bad = true.copy()
    bad.loc["2026-01-15", ["close", "high"]] *= 1.04  # Thursday's close printed 4% high, and cached
    yahoo.listings["IWM"] = Listing(bad, instrument_type="ETF")
    live(universe, facts, tmp_path, yahoo, fred, now=THURSDAY)
    # Friday: a 2-for-1 split at the open, and Thursday's close corrected in the restatement.
    restated = true.copy()
    restated[["open", "high", "low", "close", "adj_close"]] /= 2
    restated["volume"] *= 2
    yahoo.listings["IWM"] = Listing(restated, instrument_type="ETF", splits={pd.Timestamp("2026-01-16"): (2, 1)})
    snap = live(universe, facts, tmp_path, yahoo, fred)
    status = snap["series_status"]["iwm"]
    assert (status["status"], status["source"]) == ("ok", "yahoo")
    assert status["splits"] == [{"date": "2026-01-16", "ratio": 2.0}]
    cached = cache.load_prices(tmp_path / "cache", "IWM").data
    assert cached["close"].to_numpy() == pytest.approx(restated["close"].to_numpy(), abs=2e-6)


def test_missing_sessions_are_the_calendar_sessions_a_series_lacks():
    """The gap note's sessions, found in the calendar's sessions looked up once: holidays are
    no gap, a missing session is, and a series far from the calendar's edges is judged alike."""
    import datetime as dt

    from build_data import sessions
    from build_data.fetch import gather
    days = sessions.sessions(dt.date(2025, 12, 1), dt.date(2026, 1, 16))
    whole = pd.DataFrame({"close": 1.0}, index=days)
    assert gather._gaps(whole, "XNYS") == []  # Christmas and New Year's Day are not sessions
    holed = whole.drop(index=[pd.Timestamp("2025-12-24"), pd.Timestamp("2026-01-09")])
    assert gather._gaps(holed, "XNYS") == ["2025-12-24", "2026-01-09"]
    assert gather._gaps(holed.set_axis(holed.index.as_unit("us")), "XNYS") == ["2025-12-24", "2026-01-09"]
    expected = sessions.sessions(dt.date(2001, 9, 4), dt.date(2001, 9, 21))
    sparse = pd.DataFrame({"close": 1.0}, index=expected[::3])
    assert gather._gaps(sparse, "XNYS") == [d.date().isoformat() for d in expected.difference(sparse.index)]
