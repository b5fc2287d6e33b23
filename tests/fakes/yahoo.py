"""A requests transport adapter that answers like Yahoo Finance, from series the test supplies.

Mount it on a `requests.Session` (see `session()`) and hand that session to yfinance:

* `/v8/finance/chart/{symbol}` gets v8 chart JSON generated from the test's own bars: daily
  bars stamped at the 09:30 New York session open, meta like Yahoo's, `indicators.quote` and
  (when the listing has one) `indicators.adjclose`; a live partial bar, when given, is appended
  stamped with `meta.regularMarketTime`, whatever the requested window, as Yahoo does.
* the cookie/crumb endpoints and the metadata endpoints yfinance falls back to when it cannot
  find a ticker's timezone get Yahoo's usual answers.
* any other URL is recorded in `unexpected` and refused, so no request escapes unnoticed.
"""
from __future__ import annotations

import dataclasses
import datetime
import http
import json
import threading
import urllib.parse
import zoneinfo

import numpy as np
import pandas as pd
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
CRUMB = "fAkEcRuMb0"
NOT_FOUND = {"chart": {"result": None,
                       "error": {"code": "Not Found",
                                 "description": "No data found, symbol may be delisted"}}}


class UnexpectedRequest(AssertionError):
    """A request to a URL the fake does not serve."""


@dataclasses.dataclass
class Listing:
    """One symbol's history as Yahoo holds it.

    bars: session-date index; columns open, high, low, close, volume, and adj_close unless
    Yahoo publishes none for the symbol (indices). live: a partial bar of a session in progress,
    {"time": aware datetime, "open", "high", "low", "close", "volume"}.
    """
    bars: pd.DataFrame
    instrument_type: str = "EQUITY"
    live: dict | None = None
    splits: dict = dataclasses.field(default_factory=dict)  # session date -> (numerator, denominator)


@dataclasses.dataclass
class Scripted:
    status: int
    body: str
    times: int | None  # None: every time


def make_bars(sessions: list[datetime.date], *, seed: int, base: float = 100.0,
              adj_ratio: float | None = 0.98) -> pd.DataFrame:
    """Deterministic OHLCV bars for the given session dates (adj_close = close * adj_ratio)."""
    rng = np.random.default_rng(seed)
    close = np.round(base * np.cumprod(1 + rng.normal(0, 0.01, len(sessions))), 4)
    open_ = np.round(close * (1 + rng.normal(0, 0.003, len(sessions))), 4)
    bars = pd.DataFrame({
        "open": open_,
        "high": np.round(np.maximum(open_, close) * 1.004, 4),
        "low": np.round(np.minimum(open_, close) * 0.996, 4),
        "close": close,
        "volume": rng.integers(1_000_000, 50_000_000, len(sessions)).astype("float64"),
    }, index=pd.DatetimeIndex(sessions, name="date"))
    if adj_ratio is not None:
        bars.insert(4, "adj_close", np.round(close * adj_ratio, 6))
    return bars


def _epoch(d: datetime.date, t: datetime.time) -> int:
    return int(datetime.datetime.combine(d, t, NEW_YORK).timestamp())


def _nulls(values) -> list:
    return [None if pd.isna(v) else (int(v) if isinstance(v, (int, np.integer)) else float(v))
            for v in values]


def chart_json(symbol: str, listing: Listing, params: dict[str, str]) -> dict:
    """Yahoo's v8 chart answer for one symbol and the request's range or period1/period2."""
    bars = listing.bars
    stamps = np.array([_epoch(d.date(), datetime.time(9, 30)) for d in bars.index], dtype="int64")
    if "period1" in params:
        keep = (stamps >= int(params["period1"])) & (stamps < int(params["period2"]))
    else:  # range=...: yfinance only asks for range=1d, to learn the timezone
        keep = np.zeros(len(stamps), bool)
        keep[-1:] = True
    window, stamps = bars[keep], stamps[keep].tolist()
    quote = {c: _nulls(window[c]) for c in ("open", "high", "low", "close")}
    quote["volume"] = [None if pd.isna(v) else int(v) for v in window["volume"]]
    adjclose = _nulls(window["adj_close"]) if "adj_close" in bars else None

    last_day = bars.index[-1].date()
    market_time = _epoch(last_day, datetime.time(16, 0)) + 1
    if listing.live is not None:
        live = listing.live
        market_time = int(live["time"].timestamp())
        stamps.append(market_time)
        for c in ("open", "high", "low", "close"):
            quote[c].append(float(live[c]))
        quote["volume"].append(int(live["volume"]))
        if adjclose is not None:
            adjclose.append(float(live["close"]))
        last_day = live["time"].astimezone(NEW_YORK).date()

    local = datetime.datetime.fromtimestamp(market_time, NEW_YORK)
    offset = int(local.utcoffset().total_seconds())

    def period(start: datetime.time, end: datetime.time) -> dict:
        return {"timezone": local.tzname(), "start": _epoch(last_day, start),
                "end": _epoch(last_day, end), "gmtoffset": offset}

    closes = bars["close"]
    meta = {
        "currency": "USD", "symbol": symbol, "exchangeName": "NYQ" if symbol[0] != "^" else "SNP",
        "fullExchangeName": "NYSE", "instrumentType": listing.instrument_type,
        "firstTradeDate": _epoch(bars.index[0].date(), datetime.time(9, 30)),
        "regularMarketTime": market_time, "hasPrePostMarketData": listing.instrument_type != "INDEX",
        "gmtoffset": offset, "timezone": local.tzname(), "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": float(listing.live["close"] if listing.live else closes.iloc[-1]),
        "fiftyTwoWeekHigh": float(bars["high"].max()), "fiftyTwoWeekLow": float(bars["low"].min()),
        "regularMarketDayHigh": float(bars["high"].iloc[-1]),
        "regularMarketDayLow": float(bars["low"].iloc[-1]),
        "regularMarketVolume": int(bars["volume"].iloc[-1]),
        "longName": f"{symbol} (test listing)", "shortName": symbol,
        "chartPreviousClose": float(closes[~keep].iloc[-1] if (~keep).any() else closes.iloc[0]),
        "priceHint": 2,
        "currentTradingPeriod": {"pre": period(datetime.time(4), datetime.time(9, 30)),
                                 "regular": period(datetime.time(9, 30), datetime.time(16)),
                                 "post": period(datetime.time(16), datetime.time(20))},
        "dataGranularity": params.get("interval", "1d"), "range": params.get("range", ""),
        "validRanges": VALID_RANGES,
    }
    result: dict = {"meta": meta}
    if stamps:
        result["timestamp"] = stamps
        events = {}
        for day, (num, den) in listing.splits.items():
            at = _epoch(pd.Timestamp(day).date(), datetime.time(9, 30))
            if stamps[0] <= at <= stamps[-1]:
                events[str(at)] = {"date": at, "numerator": float(num), "denominator": float(den),
                                   "splitRatio": f"{num:g}:{den:g}"}
        if events:  # Yahoo's layout: events.splits keyed by the event's epoch second, as a string
            result["events"] = {"splits": events}
        result["indicators"] = {"quote": [quote]}
        if adjclose is not None:
            result["indicators"]["adjclose"] = [{"adjclose": adjclose}]
    else:  # Yahoo's answer for a window without bars: no timestamps, empty quote
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return {"chart": {"result": [result], "error": None}}


class YahooFake(BaseAdapter):
    """Transport adapter serving Yahoo's endpoints from `listings` (symbol -> Listing)."""

    def __init__(self, listings: dict[str, Listing]):
        super().__init__()
        self.listings = listings
        self.calls: list[tuple[str, str, dict[str, str]]] = []  # (host, path, params)
        self.unexpected: list[str] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._held: threading.Event | None = None
        self._offline = False
        self._lock = threading.Lock()

    def script(self, symbol: str, status: int, body: str, *, times: int | None = None) -> None:
        """Answer the next `times` chart requests for `symbol` (all of them if None) with this."""
        self._scripts.setdefault(symbol, []).append(Scripted(status, body, times))

    def hold(self) -> None:
        """Make every request hang until `release()`, like a server that never answers."""
        self._held = threading.Event()

    def go_offline(self) -> None:
        """Fail every request as requests does when no host name resolves (no network)."""
        self._offline = True

    def release(self) -> None:
        """Let held requests go; they then fail with a connection error."""
        if self._held is not None:
            self._held.set()

    def chart_calls(self, symbol: str) -> int:
        """How many chart requests were made for `symbol`."""
        return sum(path == f"/v8/finance/chart/{symbol}" for _, path, _ in self.calls)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urllib.parse.urlsplit(request.url)
        path = urllib.parse.unquote(url.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        with self._lock:
            self.calls.append((url.hostname, path, params))
        if self._offline:
            raise dns_failure(request.url)
        if self._held is not None:
            self._held.wait(timeout=30)
            raise requests.ConnectionError(f"fake Yahoo released a held request: {request.url}")
        status, body, ctype = self._route(url.hostname or "", path, params)
        if status is None:
            self.unexpected.append(f"{request.method} {request.url}")
            raise UnexpectedRequest(f"fake Yahoo does not serve {request.method} {request.url}")
        return _response(request, status, body, ctype)

    def _route(self, host: str, path: str, params: dict[str, str]):
        js = "application/json;charset=utf-8"
        if host == "fc.yahoo.com":  # cookie endpoint: a 404 page (that sets a cookie, in real life)
            return 404, "<html><body>404 Not Found</body></html>", "text/html"
        if path == "/v1/test/getcrumb" and host.endswith("finance.yahoo.com"):
            return 200, CRUMB, "text/plain;charset=utf-8"
        if host == "guce.yahoo.com" and path == "/consent":  # no consent form outside the EU
            return 200, "<html><body>ok</body></html>", "text/html"
        if path.startswith("/v8/finance/chart/"):
            return self._chart(path.rsplit("/", 1)[1], params)
        # Fallbacks yfinance tries when it cannot find a ticker's timezone:
        if path.startswith("/v10/finance/quoteSummary/"):
            symbol = path.rsplit("/", 1)[1]
            return 404, json.dumps({"quoteSummary": {"result": None, "error": {
                "code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}}}), js
        if path == "/v7/finance/quote":
            return 200, json.dumps({"quoteResponse": {"result": [], "error": None}}), js
        if path.startswith("/ws/fundamentals-timeseries/"):
            return 200, json.dumps({"timeseries": {"result": [], "error": None}}), js
        return None, "", ""

    def _chart(self, symbol: str, params: dict[str, str]):
        with self._lock:
            queue = self._scripts.get(symbol, [])
            if queue:
                step = queue[0]
                if step.times is not None:
                    step.times -= 1
                    if step.times <= 0:
                        queue.pop(0)
                return step.status, step.body, "application/json;charset=utf-8"
        if symbol not in self.listings:
            return 404, json.dumps(NOT_FOUND), "application/json;charset=utf-8"
        body = chart_json(symbol, self.listings[symbol], params)
        return 200, json.dumps(body), "application/json;charset=utf-8"

    def close(self):
        pass


def _response(request, status: int, body: str, content_type: str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.reason = http.HTTPStatus(status).phrase
    r.headers = CaseInsensitiveDict({"Content-Type": content_type})
    r._content = body.encode("utf-8")
    r.encoding = "utf-8"
    r.url = request.url
    r.request = request
    return r


def session(fake: YahooFake) -> requests.Session:
    """A plain requests.Session whose every request goes to `fake`."""
    s = requests.Session()
    s.mount("https://", fake)
    s.mount("http://", fake)
    return s


def dns_failure(url: str) -> requests.ConnectionError:
    """The exception requests raises when the host does not resolve: a ConnectionError wrapping
    urllib3's MaxRetryError, whose reason is a NameResolutionError over socket.gaierror."""
    import socket

    from urllib3.exceptions import MaxRetryError, NameResolutionError

    host = urllib.parse.urlsplit(url).hostname
    cause = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    reason = NameResolutionError(host, None, cause)
    reason.__cause__ = cause
    return requests.ConnectionError(MaxRetryError(None, url, reason=reason))
