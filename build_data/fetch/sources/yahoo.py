"""Daily prices from Yahoo Finance: yfinance's client (its session, cookie and crumb, and its
rate-limit handling) asks Yahoo's v8 chart API for each ticker's window, a pool of worker threads
keeps several requests in flight, and each answer is read straight into the common price shape.

Reading the chart JSON here, rather than through `Ticker.history()`, costs a fraction of the CPU
(a daily run of a 500-ticker universe is mostly this), needs no timezone lookup per ticker, and
applies the same rules yfinance applies to daily bars: timestamps in the exchange's time zone,
Yahoo's pre-midnight DST stamps moved to the day they mean, a live bar reported beside the day's
own bar keeps the later one, duplicate dates keep the first, rows with no price and no volume
are dropped, and an index without an adjusted close gets its close.
"""
from __future__ import annotations

import datetime
import json
import logging
import queue
import sys
import threading
import time
import urllib.parse
from typing import Callable

import numpy as np
import pandas as pd
import requests
from yfinance.data import YfData

from build_data.errors import Offline, SourceError
from build_data.fetch.sources import PRICE_COLUMNS, is_dns_failure

_RATE_LIMITED = ("YFRateLimitError", "Too Many Requests", "Rate limited")
CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
PROBE_URL = "https://fc.yahoo.com"  # Yahoo's cookie endpoint, the first host yfinance calls
# Requests in flight at once: Yahoo answers in a few hundred ms, so a large universe needs many
# (yfinance's own default is twice the CPU count).
WORKERS = 12
# Up to this many tickers, each one's rows are logged; beyond, only failures and the summary.
PER_TICKER_LINES = 25

# yfinance logs what it tolerates (a crumb it could not get...); with no handler Python prints
# it to stderr, even from worker threads abandoned after the deadline.
_YF_LOGGER = logging.getLogger("yfinance")
_YF_LOGGER.addHandler(logging.NullHandler())
_YF_LOGGER.propagate = False


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def probe(session: requests.Session | None, timeout_s: float = 2.0) -> None:
    """Raise Offline when Yahoo's host name does not resolve; any other outcome is left to the
    real fetch. Offline, every ticker would fail on its own with a connection error."""
    http = session or requests.Session()
    try:
        http.get(PROBE_URL, timeout=(timeout_s, timeout_s), allow_redirects=False)
    except requests.RequestException as exc:
        if is_dns_failure(exc):
            raise Offline(f"offline: cannot resolve {urllib.parse.urlsplit(PROBE_URL).hostname}") from None


class Answer:
    """One ticker's answer: its bars in the common price shape (possibly empty), the split events
    with them ({session date: ratio}), or the one-line reason it has none."""
    __slots__ = ("frame", "splits", "reason")

    def __init__(self, frame: pd.DataFrame | None = None, splits: dict | None = None, reason: str | None = None):
        self.frame, self.splits, self.reason = frame, splits or {}, reason


def _window(start: datetime.date, last_session: datetime.date) -> dict[str, int]:
    """period1/period2 wide enough for any exchange's time zone (UTC-12 .. UTC+14) to cover
    `start` .. `last_session` in local dates; the bars are cut to those dates once read."""
    utc = datetime.timezone.utc
    first = datetime.datetime.combine(start - datetime.timedelta(days=1), datetime.time(0), utc)
    after = datetime.datetime.combine(last_session + datetime.timedelta(days=2), datetime.time(0), utc)
    return {"period1": int(first.timestamp()), "period2": int(after.timestamp())}


def read_chart(body: dict, start: datetime.date, last_session: datetime.date) -> Answer:
    """A v8 chart answer as daily bars from `start` through `last_session` (exchange dates)."""
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        return Answer(reason="unreadable answer from Yahoo (no chart)")
    if chart.get("error"):
        error = chart["error"]
        return Answer(reason=str(error.get("description") or error.get("code") or error)[:200]
                      if isinstance(error, dict) else str(error)[:200])
    results = chart.get("result") or []
    result = results[0] if results and isinstance(results[0], dict) else {}
    meta = result.get("meta") or {}
    stamps = result.get("timestamp") or []
    quote = ((result.get("indicators") or {}).get("quote") or [{}])[0] or {}
    window = f"({start} -> {last_session})"
    if not stamps or not quote:
        return Answer(reason=f"possibly delisted; no price data found {window}")
    tz = meta.get("exchangeTimezoneName") or "America/New_York"
    try:
        n = len(stamps)
        at = np.asarray(stamps, dtype="int64")
        cols = [_column(quote.get(c), n) for c in ("open", "high", "low", "close")]
        adj = (result["indicators"].get("adjclose") or [{}])[0].get("adjclose")
        cols += [_column(adj, n) if adj else cols[3].copy(), _column(quote.get("volume"), n)]
        wall = pd.DatetimeIndex(at.astype("datetime64[s]")).tz_localize("UTC").tz_convert(tz)
        wall = wall.tz_localize(None).as_unit("s").asi8  # local wall-clock seconds
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        return Answer(reason=f"unreadable answer from Yahoo ({exc})"[:200])
    order = np.argsort(at, kind="stable")
    wall, values = wall[order], np.column_stack(cols)[order]
    # Yahoo stamps some daily bars an hour or two before the midnight they mean (a DST slip).
    hour, minute = wall % 86400 // 3600, wall % 3600 // 60
    wall = wall + np.where((minute == 0) & ((hour == 22) | (hour == 23)), (24 - hour) * 3600, 0)
    days = wall // 86400 * 86400
    keep = np.ones(len(days), bool)
    # A session still trading is sometimes reported as a second bar of the day: the later one stands.
    if len(days) > 1 and days[-1] == days[-2]:
        keep[-2] = False
    days, values = days[keep], values[keep]
    first = np.zeros(len(days), bool)  # then one bar per date, the first
    first[np.unique(days, return_index=True)[1]] = True
    values[:, 5] = np.where(np.isnan(values[:, 5]), 0.0, values[:, 5])
    priced = ~(np.isnan(values) | (values == 0)).all(axis=1)  # rows with no price and no volume go
    lo = int(pd.Timestamp(start).timestamp())
    hi = int(pd.Timestamp(last_session).timestamp())
    keep = first & priced & (days >= lo) & (days <= hi)
    frame = pd.DataFrame(values[keep], columns=PRICE_COLUMNS,
                         index=pd.DatetimeIndex(days[keep].astype("datetime64[s]"), name="date"))
    splits = {}
    for event in ((result.get("events") or {}).get("splits") or {}).values():
        try:
            day = pd.Timestamp(int(event["date"]), unit="s", tz="UTC").tz_convert(tz).tz_localize(None).normalize()
            ratio = float(event["numerator"]) / float(event["denominator"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
        if ratio > 0 and pd.Timestamp(start) <= day <= pd.Timestamp(last_session):
            splits[day] = ratio
    return Answer(frame, splits)


def _column(values, n: int) -> np.ndarray:
    """A quote column as floats (null -> NaN); a missing column is all NaN."""
    if values is None:
        return np.full(n, np.nan)
    out = np.array([np.nan if v is None else v for v in values], dtype="float64")
    if len(out) != n:
        raise ValueError("a column's length differs from the timestamps'")
    return out


def _ask(data: YfData, ticker: str, start: datetime.date, last_session: datetime.date, timeout_s: float) -> Answer:
    """One ticker's chart request and its reading; every failure becomes a reason."""
    params = {**_window(start, last_session), "interval": "1d", "includePrePost": "false",
              "events": "div,splits,capitalGains"}
    try:
        response = data.get(url=CHART_URL.format(symbol=urllib.parse.quote(ticker, safe="")),
                            params=params, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 (a rate limit, a connection error: the ticker's reason)
        return Answer(reason=f"{type(exc).__name__}: {exc}"[:200])
    try:
        body = json.loads(response.text)
    except ValueError:
        return Answer(reason=f"unreadable answer from Yahoo (HTTP {response.status_code}, not JSON)")
    answer = read_chart(body, start, last_session)
    if answer.reason and response.status_code >= 400 and str(response.status_code) not in answer.reason:
        answer.reason = f"{answer.reason} (HTTP {response.status_code})"
    return answer


def client(session: requests.Session | None) -> YfData:
    """yfinance's client for Yahoo: on the given session (tests give one that reaches a fake), or,
    with None, yfinance's own (a browser-like curl_cffi session, which Yahoo accepts where it
    turns plain `requests` away)."""
    return YfData(session=session)


def _download(tickers: list[str], start: datetime.date, last_session: datetime.date,
              session: requests.Session | None, timeout_s: float, deadline: float
              ) -> tuple[dict[str, Answer], list[str]]:
    """Every ticker's Answer, asked by WORKERS daemon threads; at the deadline the answers in
    hand are kept and the tickers still waiting are returned as `late`."""
    data = client(session)
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for ticker in tickers:
        todo.put(ticker)
    answers: dict[str, Answer] = {}
    box: dict = {}
    lock, done = threading.Lock(), threading.Event()

    def work() -> None:
        while not done.is_set():
            try:
                ticker = todo.get_nowait()
            except queue.Empty:
                return
            answer = _ask(data, ticker, start, last_session, timeout_s)
            with lock:
                answers[ticker] = answer
                if len(answers) == len(tickers):
                    done.set()

    def run() -> None:  # the probe too runs aside: a host that never answers cannot hold the caller
        try:
            probe(session, min(2.0, max(0.1, deadline - time.monotonic())))
        except Offline as exc:
            box["offline"] = exc
            done.set()
            return
        for _ in range(min(WORKERS, len(tickers))):
            threading.Thread(target=work, name="yahoo-download", daemon=True).start()

    threading.Thread(target=run, name="yahoo-download", daemon=True).start()
    done.wait(max(0.0, deadline - time.monotonic()))
    with lock:
        done.set()  # workers still waiting on Yahoo finish their request and stop; nothing more is asked
        got = dict(answers)
    if "offline" in box:
        raise box["offline"]
    late = [t for t in tickers if t not in got]
    if late and not any(a.frame is not None and len(a.frame) for a in got.values()):
        raise SourceError(f"yahoo: no answer within {timeout_s:g}s")
    return got, late


def fetch_prices(tickers: list[str], start: datetime.date, *, last_session: datetime.date,
                 session: requests.Session | None = None, timeout_s: float = 60.0,
                 max_attempts: int = 3, backoff_s: float = 2.0, deadline: float | None = None,
                 splits: dict[str, dict[pd.Timestamp, float]] | None = None,
                 log: Callable[[str], None] = _stderr,
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Daily bars from `start` through `last_session` for each ticker, from Yahoo.

    Returns (frames, errors): frames in the common price shape for tickers that delivered rows,
    a one-line reason for each ticker that did not. Tickers failing on rate limits are retried
    with exponential backoff (up to `max_attempts` batches); the whole fetch is bounded by
    `timeout_s`, or ends by `deadline` (a time.monotonic() value shared with other sources;
    `timeout_s` is then the whole budget it was set from).
    At the deadline the tickers whose download finished are kept; the others get a "no answer
    within the deadline" reason. Raises Offline when Yahoo's host does not resolve (found in one
    quick request), SourceError when nothing at all came back or time ran out before anything
    did. Split events reported with the bars are put in `splits` (ticker -> {session date:
    ratio}) when a dict is given.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s if deadline is None else deadline
    pending = list(dict.fromkeys(tickers))
    each = len(pending) <= PER_TICKER_LINES  # a large universe logs its failures and a summary only
    frames: dict[str, pd.DataFrame] = {}
    errors: dict[str, str] = {}
    for attempt in range(1, max_attempts + 1):
        shown = " ".join(pending) if len(pending) <= PER_TICKER_LINES else " ".join(pending[:PER_TICKER_LINES]) + " ..."
        log(f"yahoo: attempt {attempt}/{max_attempts}: {len(pending)} tickers ({shown}) {start} .. {last_session}")
        try:
            answers, late = _download(pending, start, last_session, session, timeout_s, deadline)
        except SourceError:
            if not frames:
                raise
            errors |= {t: f"no answer within the {timeout_s:g}s fetch deadline" for t in pending}  # a retry too late
            break
        rate_limited = []
        for ticker in pending:
            if ticker in late:  # still downloading at the deadline: the others are kept
                errors[ticker] = f"no answer within the {timeout_s:g}s fetch deadline"
                log(f"yahoo: {ticker}: {errors[ticker]}")
                continue
            answer = answers[ticker]
            df = answer.frame
            if df is not None and not df.empty:
                frames[ticker] = df
                if answer.splits and splits is not None:
                    splits[ticker] = answer.splits
                errors.pop(ticker, None)
                if each:
                    log(f"yahoo: {ticker}: {len(df)} rows {df.index[0]:%Y-%m-%d} .. {df.index[-1]:%Y-%m-%d}")
                continue
            errors[ticker] = answer.reason or "no completed sessions returned"
            log(f"yahoo: {ticker}: failed: {errors[ticker]}")
            if any(marker in errors[ticker] for marker in _RATE_LIMITED):
                rate_limited.append(ticker)
        delay = backoff_s * 2 ** (attempt - 1)
        if not rate_limited or late or attempt == max_attempts or time.monotonic() + delay >= deadline:
            break
        log(f"yahoo: rate-limited on {len(rate_limited)} tickers, retrying in {delay:g}s")
        time.sleep(delay)
        pending = rate_limited
    log(f"yahoo: {len(frames)}/{len(frames) + len(errors)} tickers in {time.monotonic() - t0:.1f}s")
    if not frames:
        first = next(iter(errors.items()), ("-", "empty result"))
        raise SourceError(f"yahoo: no data for any of {len(errors)} tickers ({first[0]}: {first[1]})")
    return frames, errors
