"""The Yahoo adapter, driven through yfinance itself against a fake Yahoo transport."""
from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yfinance
import yfinance.base
import yfinance.cache
import yfinance.data

from build_data.errors import SourceError
from build_data.fetch.sources import price_frame
from build_data.fetch.sources.yahoo import fetch_prices
from tests.fakes.yahoo import NEW_YORK, Listing, UnexpectedRequest, YahooFake, make_bars, session

SESSIONS = [d.date() for d in pd.bdate_range("2026-01-02", "2026-01-15")]
TICKERS = ["MSFT", "IWM", "^RUT"]
NOT_A_TICKER = "ZZNOPE"


def _reset_yfinance() -> None:
    # set_tz_cache_location() only redirects caches not opened yet: drop the opened ones too.
    yfinance.cache._TzCacheManager._tz_cache = None
    yfinance.cache._CookieCacheManager._Cookie_cache = None
    yfinance.data.YfData.cache_get.cache_clear()
    yfinance.data.SingletonMeta._instances.pop(yfinance.data.YfData, None)  # cookie, crumb, session
    yfinance.base._tz_info_fetch_ctr = 0  # as in a fresh process


@pytest.fixture(autouse=True)
def cold_yfinance(tmp_path):
    """Each test starts with an empty yfinance cache folder and no remembered state."""
    previous = yfinance.cache._TzDBManager.get_location()
    # An existing folder: yfinance's worker threads race to create a missing one, and the
    # loser silently turns the timezone cache off for the rest of the process.
    (tmp_path / "yfinance-cache").mkdir()
    yfinance.set_tz_cache_location(str(tmp_path / "yfinance-cache"))
    _reset_yfinance()
    yield
    yfinance.set_tz_cache_location(previous)
    _reset_yfinance()


@pytest.fixture
def listings() -> dict[str, Listing]:
    return {
        "MSFT": Listing(make_bars(SESSIONS, seed=1, adj_ratio=0.98)),
        "IWM": Listing(make_bars(SESSIONS, seed=2, adj_ratio=0.99), instrument_type="ETF"),
        # Yahoo publishes no adjclose block for indices.
        "^RUT": Listing(make_bars(SESSIONS, seed=3, base=2500.0, adj_ratio=None),
                        instrument_type="INDEX"),
    }


@pytest.fixture
def fake(listings):
    fake = YahooFake(listings)
    yield fake
    fake.release()
    assert fake.unexpected == [], "yfinance requested URLs the fake does not serve"


def fetch(fake, tickers=TICKERS, *, start=SESSIONS[0], last_session=SESSIONS[-1], **kwargs):
    """fetch_prices through the fake; returns (frames, errors, log lines)."""
    lines: list[str] = []
    kwargs.setdefault("backoff_s", 0.01)
    frames, errors = fetch_prices(tickers, start, last_session=last_session,
                                  session=session(fake), log=lines.append, **kwargs)
    return frames, errors, lines


def expected_frame(listing: Listing) -> pd.DataFrame:
    bars = listing.bars.copy()
    if "adj_close" not in bars:
        bars["adj_close"] = bars["close"]
    out = price_frame(bars)
    out.index = pd.DatetimeIndex(out.index, freq=None)  # bars as read carry no inferred frequency
    return out


def ny_midnight(d: datetime.date) -> int:
    return int(datetime.datetime.combine(d, datetime.time(0), NEW_YORK).timestamp())


def test_batch_of_three_equals_the_served_series(fake, listings):
    frames, errors, lines = fetch(fake)

    assert errors == {}
    assert sorted(frames) == sorted(TICKERS)
    for ticker in TICKERS:
        pd.testing.assert_frame_equal(frames[ticker], expected_frame(listings[ticker]))
    # Close is the quoted close, adj_close the adjusted one, never swapped.
    assert (frames["MSFT"]["adj_close"] < frames["MSFT"]["close"]).all()
    assert frames["^RUT"]["adj_close"].equals(frames["^RUT"]["close"])
    # The window asked of Yahoo covers start .. last_session in the exchange's dates, whatever its
    # time zone, and not much more (the bars are cut to those dates once read).
    windows = {(int(p["period1"]), int(p["period2"])) for _, path, p in fake.calls if "period1" in p}
    assert len(windows) == 1
    (first, after), = windows
    assert ny_midnight(SESSIONS[0]) - 2 * 86400 < first <= ny_midnight(SESSIONS[0]) - 12 * 3600
    assert ny_midnight(SESSIONS[-1] + datetime.timedelta(days=1)) + 12 * 3600 <= after
    assert after < ny_midnight(SESSIONS[-1] + datetime.timedelta(days=3))
    assert any("MSFT: 10 rows 2026-01-02 .. 2026-01-15" in line for line in lines)
    assert "3/3 tickers" in lines[-1]


def test_missing_ticker_is_an_error_and_the_others_still_arrive(fake, listings):
    frames, errors, _ = fetch(fake, TICKERS + [NOT_A_TICKER])

    assert sorted(frames) == sorted(TICKERS)
    assert list(errors) == [NOT_A_TICKER]
    assert errors[NOT_A_TICKER].strip() and "\n" not in errors[NOT_A_TICKER]
    assert "crumb" not in errors[NOT_A_TICKER]
    pd.testing.assert_frame_equal(frames["IWM"], expected_frame(listings["IWM"]))


def test_missing_ticker_with_cached_timezone_reports_yahoos_reason(fake, listings):
    fetch(fake, ["MSFT", "IWM"])  # leaves both timezones in yfinance's cache
    yfinance.data.YfData.cache_get.cache_clear()
    del listings["MSFT"]

    frames, errors, _ = fetch(fake, ["MSFT", "IWM"])

    assert list(frames) == ["IWM"]
    assert "No data found, symbol may be delisted" in errors["MSFT"]


@pytest.mark.parametrize("tickers, start, last_session", [
    pytest.param([NOT_A_TICKER, "ZZGONE"], SESSIONS[0], SESSIONS[-1], id="unknown-tickers"),
    pytest.param(TICKERS, datetime.date(2026, 2, 2), datetime.date(2026, 2, 6), id="no-bars-in-window"),
])
def test_nothing_delivered_raises(fake, tickers, start, last_session):
    with pytest.raises(SourceError, match=r"^yahoo: no data for any of \d+ tickers \(.+: .+\)$"):
        fetch(fake, tickers, start=start, last_session=last_session)


def test_rate_limit_is_retried_for_the_failed_ticker_only(fake, listings):
    fake.script("IWM", 429, "Too Many Requests\r\n", times=2)

    frames, errors, lines = fetch(fake)

    assert errors == {}
    pd.testing.assert_frame_equal(frames["IWM"], expected_frame(listings["IWM"]))
    # Attempt 1: the 429, then yfinance's own retry with its other cookie strategy (429 again).
    # Attempt 2: the window, answered. One request per ticker otherwise: no timezone lookup.
    assert fake.chart_calls("IWM") == 3
    assert fake.chart_calls("MSFT") == 1
    assert any("retrying" in line for line in lines)
    assert any(line.startswith("yahoo: attempt 2/3: 1 tickers (IWM)") for line in lines)


def test_persistent_rate_limit_gives_up_after_max_attempts(fake):
    fake.script("IWM", 429, "Too Many Requests\r\n")

    frames, errors, lines = fetch(fake, max_attempts=2)

    assert sorted(frames) == ["MSFT", "^RUT"]
    assert "Rate limited" in errors["IWM"]
    assert fake.chart_calls("IWM") == 4
    assert sum(line.startswith("yahoo: attempt") for line in lines) == 2


def test_server_error_fails_that_ticker_without_retry(fake):
    fake.script("MSFT", 500, '{"chart":{"result":null,"error":{"code":"Internal Server Error",'
                             '"description":"Internal Server Error"}}}')

    frames, errors, lines = fetch(fake)

    assert sorted(frames) == ["IWM", "^RUT"]
    assert list(errors) == ["MSFT"]
    assert sum(line.startswith("yahoo: attempt") for line in lines) == 1


def test_server_error_everywhere_raises(fake):
    for ticker in TICKERS:
        fake.script(ticker, 500, "<html><body>500 Internal Server Error</body></html>")

    with pytest.raises(SourceError, match="no data for any of 3 tickers"):
        fetch(fake)


def test_malformed_json_is_an_error_not_a_crash(fake, listings):
    fake.script("MSFT", 200, '{"chart": {"result": [{"meta": {"currency": "USD"')

    frames, errors, _ = fetch(fake)

    assert list(errors) == ["MSFT"]
    pd.testing.assert_frame_equal(frames["^RUT"], expected_frame(listings["^RUT"]))


def test_live_partial_bar_after_last_session_is_dropped(fake, listings):
    today = SESSIONS[-1] + datetime.timedelta(days=1)
    listings["MSFT"].live = {"time": datetime.datetime.combine(today, datetime.time(11, 7), NEW_YORK),
                             "open": 120.0, "high": 121.0, "low": 119.0, "close": 120.5,
                             "volume": 1234}

    frames, errors, _ = fetch(fake, last_session=SESSIONS[-1])

    assert errors == {}
    assert frames["MSFT"].index[-1] == pd.Timestamp(SESSIONS[-1])
    assert 120.5 not in frames["MSFT"]["close"].to_numpy()
    pd.testing.assert_frame_equal(frames["MSFT"], expected_frame(listings["MSFT"]))


def test_no_answer_within_timeout_raises_quickly(fake):
    fake.hold()
    t0 = time.monotonic()
    try:
        with pytest.raises(SourceError, match=r"^yahoo: no answer within 0.3s$"):
            fetch(fake, timeout_s=0.3)
        assert time.monotonic() - t0 < 3
    finally:
        fake.release()
        for thread in threading.enumerate():
            if thread.name == "yahoo-download":
                thread.join(timeout=30)


def test_fake_refuses_urls_it_does_not_serve():
    fake = YahooFake({})
    with pytest.raises(UnexpectedRequest):
        session(fake).get("https://query1.finance.yahoo.com/v7/finance/options/MSFT")
    with pytest.raises(UnexpectedRequest):
        session(fake).get("http://example.com/")
    assert len(fake.unexpected) == 2


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "yahoo_v8_chart_MSFT_6mo_1d.json"


@pytest.mark.shared_reference
@pytest.mark.skipif(not REFERENCE.is_file(), reason="no recorded response in ../shared/reference/: that folder "
                    "sits beside CI's checkout only, not beside a fresh clone")
def test_a_recorded_real_response_reads_exactly(cold_yfinance):
    """Yahoo's own bytes (a recorded v8 chart response, read from the shared reference folder and
    never copied into the project) go through yfinance and the adapter unchanged."""
    import json

    body = REFERENCE.read_text()
    result = json.loads(body)["chart"]["result"][0]
    fake = YahooFake({})
    fake.script("MSFT", 200, body)
    days = [datetime.datetime.fromtimestamp(t, NEW_YORK).date() for t in result["timestamp"]]
    closes = result["indicators"]["quote"][0]["close"]
    # The last bar is stamped with regularMarketTime; as of the previous session it must be dropped.
    frames, errors = fetch_prices(["MSFT"], days[0], last_session=days[-2], session=session(fake),
                                  log=lambda _m: None, backoff_s=0.01)
    msft = frames["MSFT"]
    assert errors == {}
    assert [d.date() for d in msft.index] == days[:-1]
    assert msft["close"].tolist() == pytest.approx(closes[:-1], rel=1e-12)
    assert msft["volume"].tolist() == result["indicators"]["quote"][0]["volume"][:-1]
    fake.release()


def _as_yfinance_reads(fake, ticker: str, start: datetime.date, last_session: datetime.date) -> pd.DataFrame:
    """The same answer read by yfinance's own Ticker.history(), in the common price shape."""
    got = yfinance.Ticker(ticker, session=session(fake)).history(
        start=start, end=last_session + datetime.timedelta(days=1), auto_adjust=False, actions=True)
    got = got.rename(columns={"Open": "open", "High": "high", "Low": "low", "Close": "close",
                              "Adj Close": "adj_close", "Volume": "volume"})
    out = price_frame(got)
    out.index = pd.DatetimeIndex(out.index, freq=None)
    return out


def test_bars_read_as_yfinance_history_reads_them(fake, listings):
    """yfinance's own parser is the reference: the same answers (a fund with adjusted closes, an
    index without, a live bar reported beside the last session, a null bar) read the same."""
    today = SESSIONS[-1] + datetime.timedelta(days=1)
    listings["MSFT"].live = {"time": datetime.datetime.combine(today, datetime.time(11, 7), NEW_YORK),
                             "open": 120.0, "high": 121.0, "low": 119.0, "close": 120.5, "volume": 1234}
    listings["IWM"].bars.iloc[3] = float("nan")  # Yahoo's nulls for a bar it lost
    frames, errors, _ = fetch(fake)
    assert errors == {}
    for ticker in TICKERS:
        reference = _as_yfinance_reads(fake, ticker, SESSIONS[0], SESSIONS[-1])
        pd.testing.assert_frame_equal(frames[ticker], reference, check_index_type=False)
    assert len(frames["IWM"]) == len(SESSIONS) - 1  # the null bar is dropped, as yfinance drops it


@pytest.mark.shared_reference
@pytest.mark.skipif(not REFERENCE.is_file(), reason="no recorded response in ../shared/reference/: that folder "
                    "sits beside CI's checkout only, not beside a fresh clone")
def test_a_recorded_real_response_reads_as_yfinance_reads_it():
    body = REFERENCE.read_text()
    result = __import__("json").loads(body)["chart"]["result"][0]
    days = [datetime.datetime.fromtimestamp(t, NEW_YORK).date() for t in result["timestamp"]]
    fake = YahooFake({})
    fake.script("MSFT", 200, body)
    frames, errors = fetch_prices(["MSFT"], days[0], last_session=days[-2], session=session(fake),
                                  log=lambda _m: None, backoff_s=0.01)
    reference = _as_yfinance_reads(fake, "MSFT", days[0], days[-2])
    pd.testing.assert_frame_equal(frames["MSFT"], reference, check_index_type=False)
    fake.release()


def test_without_a_session_yahoo_is_asked_through_yfinances_browser_like_client(fake):
    """Production passes no session: the requests then go through yfinance's own curl_cffi
    session, not a plain `requests` one that Yahoo answers with 429s; a given session is used as is."""
    import curl_cffi.requests

    from build_data.fetch.sources.yahoo import client

    assert isinstance(client(None)._session, curl_cffi.requests.Session)
    given = session(fake)
    assert client(given)._session is given
