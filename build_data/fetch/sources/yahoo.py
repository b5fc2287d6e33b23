"""Daily prices from Yahoo Finance, through one batched `yfinance.download()` per attempt."""
from __future__ import annotations

import ast
import datetime
import logging
import re
import sys
import threading
import time
import urllib.parse
from typing import Callable

import multitasking
import pandas as pd
import requests
import yfinance
from yfinance import multi as yf_multi

from build_data.errors import Offline, SourceError
from build_data.fetch.sources import is_dns_failure, price_frame

_COLUMNS = {"Open": "open", "High": "high", "Low": "low", "Close": "close",
            "Adj Close": "adj_close", "Volume": "volume"}
_RATE_LIMITED = ("YFRateLimitError", "Too Many Requests", "Rate limited")
# download() ends by logging one line per failure cause: "['A', 'B']: reason".
_FAILURE_LINE = re.compile(r"\s*(\[[^\]\n]*\]): (.+)")
_URL_TAIL = re.compile(r""" for url: [^\s'"]+""")  # URLs carry the crumb: keep them out of reports


PROBE_URL = "https://fc.yahoo.com"  # Yahoo's cookie endpoint, the first host yfinance calls

# yfinance logs its failures; with no handler Python prints them to stderr, even from worker
# threads abandoned after the deadline. Ours are collected by _FailureLog and reported in one line.
_YF_LOGGER = logging.getLogger("yfinance")
_YF_LOGGER.addHandler(logging.NullHandler())
_YF_LOGGER.propagate = False


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def probe(session: requests.Session | None, timeout_s: float = 2.0) -> None:
    """Raise Offline when Yahoo's host name does not resolve; any other outcome is left to the
    real fetch. Offline, yfinance would report every ticker as "possibly delisted"."""
    http = session or requests.Session()
    try:
        http.get(PROBE_URL, timeout=(timeout_s, timeout_s), allow_redirects=False)
    except requests.RequestException as exc:
        if is_dns_failure(exc):
            raise Offline(f"offline: cannot resolve {urllib.parse.urlsplit(PROBE_URL).hostname}") from None


class _FailureLog(logging.Handler):
    """Collects the per-ticker failures that yfinance.download() logs instead of raising."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reasons: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = _FAILURE_LINE.match(record.getMessage())
        if not match:
            return
        try:
            symbols = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return
        for symbol in symbols:
            self.reasons.setdefault(str(symbol), _URL_TAIL.sub("", match.group(2)).strip()[:200])


def _download(tickers: list[str], start: datetime.date, end: datetime.date,
              session: requests.Session | None, timeout_s: float, deadline: float):
    """Run one yfinance download in a daemon thread; return (frames by symbol, reasons by
    symbol, late): each symbol's own frame as yfinance's Ticker.history gives it (tz-naive).

    At the deadline the symbols whose download finished are kept, and `late` lists the symbols
    still without an answer (empty when everything came back)."""
    box: dict = {}
    failures = _FailureLog()
    ctx = yf_multi._DownloadCtx()  # download()'s per-call state: what has arrived so far

    def run() -> None:
        try:
            probe(session, min(2.0, max(0.1, deadline - time.monotonic())))
            box["data"] = yf_multi._download_impl(
                ctx, tickers, start=start, end=end, auto_adjust=False, actions=True,
                multi_level_index=True, group_by="column", threads=True, progress=False,
                timeout=timeout_s, session=session)
        except Offline as exc:
            box["offline"] = exc
        except Exception as exc:  # reported to the caller as a SourceError
            box["error"] = exc

    # yfinance's per-ticker workers are non-daemon by default and would keep the
    # process alive after we give up on them.
    multitasking.set_daemon(True)
    logger = logging.getLogger("yfinance")
    logger.addHandler(failures)
    try:
        thread = threading.Thread(target=run, name="yahoo-download", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
    finally:
        logger.removeHandler(failures)
    if thread.is_alive():
        with ctx.lock:  # copies: the abandoned download goes on with its own frames
            arrived = {sym: df.copy() for sym, df in ctx.dfs.items() if sym not in ctx.errors and df is not None}
            reasons = {sym: str(err).replace(f"${sym}: ", "") for sym, err in ctx.errors.items()}
        late = [t for t in dict.fromkeys(t.upper() for t in tickers) if t not in arrived and t not in reasons]
        if not any(len(df) for df in arrived.values()):
            raise SourceError(f"yahoo: no answer within {timeout_s:g}s")
        return _naive(arrived), reasons, late
    if "offline" in box:
        raise box["offline"]
    if "error" in box:
        raise SourceError(f"yahoo: download failed: {type(box['error']).__name__}: {box['error']}")
    with ctx.lock:  # download() made them tz-naive (and aligned them on one index)
        return dict(ctx.dfs), failures.reasons, []


def _naive(dfs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    for df in dfs.values():
        if df is not None and len(df) and getattr(df.index, "tz", None) is not None:
            df.index = df.index.tz_localize(None)
    return dfs


def _ticker_splits(dfs: dict[str, pd.DataFrame], symbol: str, last_session: datetime.date) -> dict[pd.Timestamp, float]:
    """Split events Yahoo reported with the bars: session date -> ratio (2.0 for a 2-for-1 split)."""
    data = dfs.get(symbol)
    if data is None or "Stock Splits" not in data.columns:
        return {}
    col = data["Stock Splits"]
    col = col[(col > 0) & col.notna()]
    days = pd.DatetimeIndex(col.index)
    if days.tz is not None:
        days = days.tz_localize(None)
    return {d.normalize(): float(r) for d, r in zip(days, col.to_numpy()) if d.normalize() <= pd.Timestamp(last_session)}


def _ticker_frame(dfs: dict[str, pd.DataFrame], symbol: str, last_session: datetime.date) -> pd.DataFrame:
    """One symbol's completed sessions, in the common price shape (possibly empty)."""
    data = dfs.get(symbol)
    if data is None or data.empty:
        return price_frame(pd.DataFrame())
    df = data.rename(columns=_COLUMNS).rename_axis(columns=None)
    if "adj_close" not in df or df["adj_close"].isna().all():
        df["adj_close"] = df["close"]  # indices: no adjustments to make
    df = price_frame(df).dropna(how="all")
    # A session still trading shows up as a partial bar dated today: keep completed sessions only.
    return df[df.index <= pd.Timestamp(last_session)]


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
    quick request), SourceError when nothing at all came back or time ran out before anything did. Split events reported with the bars are put
    in `splits` (ticker -> {session date: ratio}) when a dict is given.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s if deadline is None else deadline
    end = last_session + datetime.timedelta(days=1)  # yfinance's end is exclusive
    pending = list(dict.fromkeys(tickers))
    frames: dict[str, pd.DataFrame] = {}
    errors: dict[str, str] = {}
    for attempt in range(1, max_attempts + 1):
        log(f"yahoo: attempt {attempt}/{max_attempts}: {len(pending)} tickers "
            f"({' '.join(pending)}) {start} .. {last_session}")
        try:
            data, reasons, late = _download(pending, start, end, session, timeout_s, deadline)
        except SourceError:
            if not frames:
                raise
            errors |= {t: f"no answer within the {timeout_s:g}s fetch deadline" for t in pending}  # a retry too late
            break
        rate_limited = []
        for ticker in pending:
            if ticker.upper() in late:  # still downloading at the deadline: the others are kept
                errors[ticker] = f"no answer within the {timeout_s:g}s fetch deadline"
                log(f"yahoo: {ticker}: {errors[ticker]}")
                continue
            df = _ticker_frame(data, ticker.upper(), last_session)
            if not df.empty:
                frames[ticker] = df
                events = _ticker_splits(data, ticker.upper(), last_session)
                if events and splits is not None:
                    splits[ticker] = events
                errors.pop(ticker, None)
                log(f"yahoo: {ticker}: {len(df)} rows {df.index[0]:%Y-%m-%d} .. {df.index[-1]:%Y-%m-%d}")
                continue
            errors[ticker] = reasons.get(ticker.upper(), "no completed sessions returned")
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
