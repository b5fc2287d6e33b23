"""One deadline for the whole live fetch; offline recognised at once; FRED retried and incremental."""
from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import urllib.parse

import pandas as pd
import pytest
import yfinance.data

from build_data.fetch import cache
from build_data.fetch.sources.fred import fetch_series
from tests.conftest import FIXED_NOW
from tests.fakes.yahoo import Listing, YahooFake, session
from tests.test_live_pipeline import fred, live, market, yahoo  # noqa: F401  (fixtures)
from tests.test_source_yahoo import cold_yfinance  # noqa: F401  (autouse fixture: fresh yfinance state)

MACRO = ("claims", "fed_lo", "fed_hi", "cpi", "gdpnow", "us10y", "hy_spread")


@pytest.fixture
def silent_server():
    """A FRED that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/fredgraph.csv"
    srv.close()


def build_snapshot_logged(universe, facts, log, **options):
    from build_data.build import build
    from build_data.fetch.gather import Options

    options.setdefault("now", FIXED_NOW)
    return build(Options(**options), universe, facts, log=log)


def test_a_fred_that_never_answers_ends_at_the_one_deadline(universe, facts, tmp_path, yahoo, silent_server):
    lines: list[str] = []
    t0 = time.monotonic()
    snap, _ = build_snapshot_logged(universe, facts, lines.append, source="auto", cache_dir=tmp_path / "cache",
                                    yahoo_session=session(yahoo), fred_url=silent_server, fetch_timeout=15)
    print(f"build with a silent FRED and --fetch-timeout 15: {time.monotonic() - t0:.1f}s")
    status = snap["series_status"]
    assert all(status[a]["status"] == "ok" for a in ("rut", "spx", "iwm"))  # Yahoo made it in time
    for alias in MACRO:
        assert status[alias]["status"] == "missing"
        assert "Read timed out" in status[alias]["reason"] or "fetch deadline" in status[alias]["reason"]
    # The seven series were asked for at once, not one after the other.
    assert any(line.startswith("fred: 0/7 series in ") for line in lines)


def test_offline_is_recognised_on_the_first_failure_and_reported_once(universe, facts, tmp_path, yahoo, fred,
                                                                      monkeypatch):
    live(universe, facts, tmp_path, yahoo, fred)  # a good cache first
    calls_before = yahoo.chart_calls("^RUT")
    yahoo.go_offline()
    real = socket.getaddrinfo

    def no_dns(host, *args, **kwargs):  # the machine's resolver, with no network
        if host not in ("127.0.0.1", "localhost"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    lines: list[str] = []
    snap, _ = build_snapshot_logged(universe, facts, lines.append, source="auto", cache_dir=tmp_path / "cache",
                                    yahoo_session=session(yahoo), fred_url="https://fred.stlouisfed.org/graph/fredgraph.csv",
                                    fetch_timeout=60, now=FIXED_NOW + pd.Timedelta(minutes=5))
    offline = [line for line in lines if "offline" in line]
    assert offline == ["offline: cannot resolve fc.yahoo.com; using the cache"]
    assert not any("possibly delisted" in line or "Traceback" in line for line in lines)
    assert yahoo.chart_calls("^RUT") == calls_before  # offline: no chart request was even tried
    assert snap["data_mode"] == "cache"
    assert all(s["status"] == "ok" and s["source"] == "cache" for s in snap["series_status"].values())


def test_nothing_is_printed_by_abandoned_threads_after_the_fetch(universe, facts, tmp_path, yahoo, fred, capfd):
    yahoo.hold()
    lines: list[str] = []
    build_snapshot_logged(universe, facts, lines.append, source="auto", cache_dir=tmp_path / "cache",
                          yahoo_session=session(yahoo), fred_url=fred, fetch_timeout=1)
    assert any("yahoo failed: yahoo: no answer within 1s" in line for line in lines), lines
    capfd.readouterr()
    yahoo.release()  # the abandoned download now fails inside yfinance, which logs about it
    for thread in threading.enumerate():
        if thread.name == "yahoo-download":
            thread.join(timeout=30)
    time.sleep(0.5)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_fred_retries_a_429_storm_with_backoff(httpserver):
    body = "observation_date,DGS10\n2026-01-14,4.18\n2026-01-15,4.15\n"
    for _ in range(2):
        httpserver.expect_ordered_request("/fredgraph.csv").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/fredgraph.csv").respond_with_data(body, content_type="text/csv")
    series, errors = fetch_series(["DGS10"], base_url=httpserver.url_for("/fredgraph.csv"), timeout_s=20,
                                  log=lambda _line: None)
    assert errors == {} and series["DGS10"].tolist() == [4.18, 4.15]
    assert len(httpserver.log) == 3


def test_fred_fetches_are_incremental_after_the_first(universe, facts, tmp_path, yahoo, fred, httpserver):
    live(universe, facts, tmp_path, yahoo, fred)
    first = [request.args.to_dict() for request, _ in httpserver.log]
    assert all("cosd" not in args for args in first)  # no cache yet: the full history
    httpserver.clear_log()
    snap = live(universe, facts, tmp_path, yahoo, fred, now=FIXED_NOW + pd.Timedelta(minutes=5))
    second = {request.args["id"]: request.args.get("cosd") for request, _ in httpserver.log}
    assert len(second) == 7 and all(second.values())
    last = cache.load_macro(tmp_path / "cache", "DGS10").data.index[-1].date()
    assert second["DGS10"] == (last - dt.timedelta(days=400)).isoformat()
    assert snap["data_mode"] == "live"


def test_tickers_are_fetched_in_as_few_downloads_as_their_own_starts_allow():
    import datetime as dt

    from build_data.fetch.gather import fetch_groups

    d = dt.date.fromisoformat
    starts = {"rut": d("2026-01-02"), "spx": d("2026-01-02"), "iwm": d("2025-12-26"),   # cached, close together
              "new": d("1987-01-01"),                                                # no cache: full history
              "old": d("2025-10-01"),                                                # long behind
              "done": d("2026-02-01")}                                               # the cache covers the end
    assert fetch_groups(starts, d("2026-01-16")) == [
        (d("1987-01-01"), ["new"]), (d("2025-10-01"), ["old"]), (d("2025-12-26"), ["iwm", "rut", "spx"])]
    assert fetch_groups({"done": d("2026-02-01")}, d("2026-01-16")) == []


class SlowYahoo(YahooFake):
    """The Yahoo fake with a few symbols whose bar requests hang until `release_slow()`."""

    def __init__(self, listings, slow: set[str]):
        super().__init__(listings)
        self.slow, self.gate = slow, threading.Event()

    def send(self, request, *args, **kwargs):
        url = urllib.parse.urlsplit(request.url)
        path = urllib.parse.unquote(url.path)
        # The bars themselves are slow (the request with the window), not the timezone look-up
        # yfinance makes first while it sets up its session for every symbol.
        if path.startswith("/v8/finance/chart/") and path.rsplit("/", 1)[1] in self.slow and "period1" in url.query:
            self.gate.wait(300)
        return super().send(request, *args, **kwargs)

    def release_slow(self) -> None:
        self.gate.set()


def test_the_deadline_keeps_the_symbols_that_arrived_and_only_the_rest_fall_back(universe, facts, tmp_path, fred,
                                                                                 market):
    prices, _ = market
    kind = {t: "INDEX" if t.startswith("^") else "ETF" for t in prices}
    before = FIXED_NOW - pd.Timedelta(days=1)  # Thursday evening: a cache through 2026-01-15
    warm = YahooFake({t: Listing(f.loc[:"2026-01-15"], instrument_type=kind[t]) for t, f in prices.items()})
    build_snapshot_logged(universe, facts, lambda _line: None, source="auto", cache_dir=tmp_path / "cache",
                          yahoo_session=session(warm), fred_url=fred, fetch_timeout=60, now=before)
    slow = {"XLE", "XLK"}
    fake = SlowYahoo({t: Listing(f, instrument_type=kind[t]) for t, f in prices.items()}, slow)
    yfinance.data.YfData.cache_get.cache_clear()
    lines: list[str] = []
    t0 = time.monotonic()
    try:
        snap, _ = build_snapshot_logged(universe, facts, lines.append, source="auto", cache_dir=tmp_path / "cache",
                                        yahoo_session=session(fake), fred_url=fred, fetch_timeout=30)
        took = time.monotonic() - t0
    finally:
        fake.release_slow()
    assert took < 200  # the deadline ended the fetch, not the symbols hanging for 300 s
    status = snap["series_status"]
    by_ticker = {s["ticker"]: s for s in status.values()}
    tickers = {s.ticker for s in universe.symbols.values()}
    late = {t for t in tickers if f"yahoo: {t}: no answer within the 30s fetch deadline" in lines}
    arrived = {t for t in tickers if any(line.startswith(f"yahoo: {t}: 11 rows ") for line in lines)}
    assert slow <= late and late.isdisjoint(arrived) and late | arrived == tickers
    # The fast ones arrive (all of them on a quiet machine; how many depends on its load, so the
    # test asks only that some did, and checks each one that did below).
    assert arrived
    alias = {s.ticker: a for a, s in universe.symbols.items()}
    for ticker in arrived:  # arrived before the deadline: used, and cached
        assert (by_ticker[ticker]["source"], by_ticker[ticker]["last"]) == ("yahoo", "2026-01-16"), ticker
        assert cache.load_prices(tmp_path / "cache", ticker).data.index[-1] == pd.Timestamp("2026-01-16")
        assert snap["metrics"][f"{alias[ticker]}.close"]["value"] == pytest.approx(prices[ticker]["close"].iloc[-1])
    for ticker in late:  # still downloading at the deadline: the last good cache, labelled as such
        assert (by_ticker[ticker]["status"], by_ticker[ticker]["source"], by_ticker[ticker]["last"]) == (
            "ok", "cache", "2026-01-15")
        assert cache.load_prices(tmp_path / "cache", ticker).data.index[-1] == pd.Timestamp("2026-01-15")
        assert snap["metrics"][f"{alias[ticker]}.close"]["value"] == pytest.approx(
            prices[ticker]["close"].loc["2026-01-15"])
    assert snap["data_mode"] == "cache"
    assert snap["mode_note"].startswith(f"Live data was unavailable for {len(late)} of {len(status)} series "
                                        "(no answer within the 30s fetch deadline)")
