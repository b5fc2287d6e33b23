"""Macro series from FRED: the public CSV endpoint (no API key), or the API's real-time
periods (with FRED_API_KEY), which give each observation's release date and first-release value."""
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
FRED_API_URL = "https://api.stlouisfed.org/fred/series/observations"
# The environment variable (a secret in the workflow) that holds the API key.
API_KEY_ENV = "FRED_API_KEY"
# Every real-time period FRED knows: each value an observation ever had, with its dates (ALFRED).
REALTIME_ALL = ("1776-07-04", "9999-12-31")
API_PAGE = 100000  # the API's largest page
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


def _get(http: requests.Session, url: str, params: dict[str, str], deadline: float,
         secret: str | None = None) -> requests.Response:
    """One GET within the deadline. A failed request is a one-line ValueError (with `secret`, the
    API key, scrubbed from it); an unresolvable host is Offline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ValueError("no time left in the fetch deadline")
    try:
        return http.get(url, params=params, timeout=(min(5.0, left), left))
    except requests.RequestException as exc:
        if is_dns_failure(exc):
            raise Offline(f"offline: cannot resolve {urllib.parse.urlsplit(url).hostname}") from None
        message = f"request failed: {type(exc).__name__}: {_first_line(exc)}"
        raise ValueError(_scrub(message, secret)) from None


def _fetch_one(http: requests.Session, url: str, params: dict[str, str], deadline: float,
               series_id: str) -> pd.Series:
    """GET and parse one series; raises ValueError with a one-line reason, Offline if offline."""
    response = _get(http, url, params, deadline)
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


# ------------------------------------------------------------------ the API's real-time periods

def _scrub(text: str, secret: str | None) -> str:
    """A message with the API key taken out (a failed request's message carries its URL)."""
    return text.replace(secret, "***") if secret else text


def parse_observations(payload: object, series_id: str) -> tuple[list[dict], int]:
    """One fred/series/observations JSON page -> (its observation rows, the total count).
    Raises ValueError with a one-line reason."""
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    if "error_message" in payload:
        raise ValueError(f"FRED error {payload.get('error_code', '?')}: {str(payload['error_message'])[:120]}")
    rows = payload.get("observations")
    if not isinstance(rows, list):
        raise ValueError("no 'observations' list")
    for row in rows[:1]:
        if not isinstance(row, dict) or not {"date", "value", "realtime_start", "realtime_end"} <= set(row):
            raise ValueError(f"unexpected observation {str(row)[:80]!r}")
    return rows, int(payload.get("count", len(rows)))


def _api_one(http: requests.Session, url: str, series_id: str, api_key: str, start: datetime.date | None,
             deadline: float) -> list[dict]:
    """Every real-time observation row of one series, page by page; raises ValueError or Offline."""
    rows: list[dict] = []
    while True:
        params = {"series_id": series_id, "api_key": api_key, "file_type": "json",
                  "realtime_start": REALTIME_ALL[0], "realtime_end": REALTIME_ALL[1],
                  "limit": str(API_PAGE), "offset": str(len(rows))}
        if start is not None:
            params["observation_start"] = start.isoformat()
        response = _get(http, url, params, deadline, secret=api_key)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200:
            detail = payload.get("error_message") if isinstance(payload, dict) else None
            raise ValueError(_scrub(f"HTTP {response.status_code}" + (f": {str(detail)[:120]}" if detail else ""),
                                    api_key))
        try:
            page, count = parse_observations(payload, series_id)
        except ValueError as exc:
            raise ValueError(_scrub(f"malformed JSON: {_first_line(exc)}", api_key)) from None
        rows += page
        if not page or len(rows) >= count:
            break
    if not any(str(r.get("value", ".")).strip() not in _MISSING for r in rows):
        raise ValueError("malformed JSON: no observations")
    return rows


def fetch_vintages(series_ids: list[str], api_key: str, *, base_url: str = FRED_API_URL,
                   starts: dict[str, datetime.date] | None = None, session: requests.Session | None = None,
                   timeout_s: float = 30.0, deadline: float | None = None,
                   log: Callable[[str], None] = _stderr) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """Every real-time period of each series from the FRED API (fred/series/observations with
    realtime_start 1776-07-04 and realtime_end 9999-12-31): rows {date, realtime_start,
    realtime_end, value}, each value with the days it was current. Returns (rows by series,
    one-line errors by series); raises Offline when the host does not resolve, SourceError when
    every series failed. The key never appears in a message."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s if deadline is None else deadline
    http = session or retrying_session()
    ids = list(dict.fromkeys(series_ids))
    found: dict[str, list[dict]] = {}
    errors: dict[str, str] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, len(ids))), thread_name_prefix="fred-api")
    try:
        futures = {pool.submit(_api_one, http, base_url, sid, api_key, (starts or {}).get(sid), deadline): sid
                   for sid in ids}
        done, _ = concurrent.futures.wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for future, sid in futures.items():
            if future not in done:
                errors[sid] = f"no answer within the {deadline - t0:.0f}s fetch deadline"
            elif isinstance(future.exception(), Offline):
                raise future.exception()
            elif future.exception() is not None:
                errors[sid] = _scrub(str(future.exception()), api_key)
            else:
                found[sid] = future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for sid in ids:
        log(f"fred api: {sid}: {len(found[sid])} real-time observations" if sid in found
            else f"fred api: {sid}: failed: {errors[sid]}")
    if not found:
        first = next(iter(errors.items()), ("-", "no series requested"))
        raise SourceError(f"fred api: no data for any of {len(errors)} series ({first[0]}: {first[1]})")
    return found, errors
