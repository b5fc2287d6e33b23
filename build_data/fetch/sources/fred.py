"""Macro series from FRED's public CSV endpoint (no API key)."""
from __future__ import annotations

import concurrent.futures
import datetime
import io
import sys
import time
import urllib.parse
from typing import Callable

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from build_data.errors import Offline, SourceError
from build_data.fetch.sources import is_dns_failure, macro_series

FRED_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
_DATE_COLUMNS = ("observation_date", "DATE")  # current header, and the one FRED used before
_MISSING = {".", ""}  # how FRED writes a missing observation


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse_csv(text: str, series_id: str) -> pd.Series:
    """One fredgraph.csv body -> the series in the common macro shape. Raises ValueError."""
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if len(table.columns) != 2 or table.columns[0] not in _DATE_COLUMNS or table.columns[1] != series_id:
        raise ValueError(f"unexpected header {','.join(map(str, table.columns))[:80]!r}")
    dates = pd.to_datetime(table.iloc[:, 0].str.strip(), format="%Y-%m-%d")
    raw = table.iloc[:, 1].str.strip()
    values = pd.to_numeric(raw.mask(raw.isin(_MISSING)), errors="raise")
    series = macro_series(pd.Series(values.to_numpy(), index=dates), series_id)
    if series.empty:
        raise ValueError("no observations")
    return series


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def retrying_session() -> requests.Session:
    """A session that retries 429s and 5xx with exponential backoff (urllib3's Retry).

    Connection failures are not retried: a name that does not resolve means offline, and is
    reported at once. A long Retry-After is capped so the fetch deadline still holds.
    """
    retry = Retry(total=3, connect=0, read=0, status=3, backoff_factor=0.5, backoff_max=4,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",),
                  raise_on_status=False, retry_after_max=5)
    http = requests.Session()
    http.mount("https://", HTTPAdapter(max_retries=retry))
    http.mount("http://", HTTPAdapter(max_retries=retry))
    return http


def _fetch_one(http: requests.Session, url: str, params: dict[str, str], deadline: float,
               series_id: str) -> pd.Series:
    """GET and parse one series; raises ValueError with a one-line reason, Offline if offline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ValueError("no time left in the fetch deadline")
    try:
        response = http.get(url, params=params, timeout=(min(5.0, left), left))
    except requests.RequestException as exc:
        if is_dns_failure(exc):
            host = urllib.parse.urlsplit(url).hostname
            raise Offline(f"offline: cannot resolve {host}") from None
        raise ValueError(f"request failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}")
    try:
        return parse_csv(response.text, series_id)
    except ValueError as exc:
        raise ValueError(f"malformed CSV: {_first_line(exc)}") from exc


def fetch_series(series_ids: list[str], *, base_url: str = FRED_CSV_URL,
                 start: datetime.date | None = None, starts: dict[str, datetime.date] | None = None,
                 session: requests.Session | None = None, timeout_s: float = 30.0,
                 deadline: float | None = None, log: Callable[[str], None] = _stderr,
                 ) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Fetch FRED series as CSV from `base_url`, all at once, within one deadline.

    `start` (or per series, `starts`) asks only for observations from that date (FRED's `cosd`).
    Returns (series, errors): the common macro shape for each series that parsed, a one-line
    reason for each that did not (HTTP error after retries, malformed CSV, out of time). The
    whole call ends by `deadline` (a time.monotonic() value; default now + `timeout_s`).
    Raises Offline when a host name does not resolve, SourceError when every series failed.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s if deadline is None else deadline
    http = session or retrying_session()
    ids = list(dict.fromkeys(series_ids))
    found: dict[str, pd.Series] = {}
    errors: dict[str, str] = {}

    def one(series_id: str) -> pd.Series:
        params = {"id": series_id}
        first = (starts or {}).get(series_id, start)
        if first is not None:
            params["cosd"] = first.isoformat()  # FRED's "chart observation start date"
        return _fetch_one(http, base_url, params, deadline, series_id)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(8, len(ids))),
                                                 thread_name_prefix="fred")
    try:
        futures = {pool.submit(one, sid): sid for sid in ids}
        done, _pending = concurrent.futures.wait(futures, timeout=max(0.0, deadline - time.monotonic()),
                                                 return_when=concurrent.futures.FIRST_EXCEPTION)
        offline = next((f.exception() for f in done if isinstance(f.exception(), Offline)), None)
        if offline is not None:
            raise offline
        if len(done) < len(futures):  # wait for the rest, still within the deadline
            more, _ = concurrent.futures.wait(futures, timeout=max(0.0, deadline - time.monotonic()))
            done |= more
        for future, series_id in futures.items():
            if future not in done:
                errors[series_id] = f"no answer within the {deadline - t0:.0f}s fetch deadline"
            elif isinstance(future.exception(), Offline):
                raise future.exception()
            elif future.exception() is not None:
                errors[series_id] = str(future.exception())
            else:
                found[series_id] = future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for series_id in ids:
        if series_id in found:
            series = found[series_id]
            log(f"fred: {series_id}: {len(series)} observations {series.index[0]:%Y-%m-%d} .. "
                f"{series.index[-1]:%Y-%m-%d}")
        else:
            log(f"fred: {series_id}: failed: {errors[series_id]}")
    log(f"fred: {len(found)}/{len(ids)} series in {time.monotonic() - t0:.1f}s")
    if not found:
        first = next(iter(errors.items()), ("-", "no series requested"))
        raise SourceError(f"fred: no data for any of {len(errors)} series ({first[0]}: {first[1]})")
    return found, errors
