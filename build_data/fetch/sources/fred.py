"""Macro series from FRED's public CSV endpoint (no API key)."""
from __future__ import annotations

import datetime
import io
import sys
import time
from typing import Callable

import pandas as pd
import requests

from build_data.errors import SourceError
from build_data.fetch.sources import macro_series

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


def _fetch_one(http: requests.Session, url: str, params: dict[str, str], timeout_s: float,
               series_id: str) -> pd.Series:
    """GET and parse one series; raises ValueError with a one-line reason."""
    try:
        response = http.get(url, params=params, timeout=timeout_s)
    except requests.RequestException as exc:
        raise ValueError(f"request failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}")
    try:
        return parse_csv(response.text, series_id)
    except ValueError as exc:
        raise ValueError(f"malformed CSV: {_first_line(exc)}") from exc


def fetch_series(series_ids: list[str], *, base_url: str = FRED_CSV_URL,
                 start: datetime.date | None = None, session: requests.Session | None = None,
                 timeout_s: float = 30.0, log: Callable[[str], None] = _stderr,
                 ) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Fetch each FRED series as CSV from `base_url` (observations from `start`, if given).

    Returns (series, errors): the common macro shape for each series that parsed, a one-line
    reason for each that did not (HTTP error, malformed CSV). `timeout_s` bounds each request.
    Raises SourceError only when every series failed.
    """
    http = session or requests.Session()
    found: dict[str, pd.Series] = {}
    errors: dict[str, str] = {}
    for series_id in dict.fromkeys(series_ids):
        t0 = time.monotonic()
        params = {"id": series_id}
        if start is not None:
            params["cosd"] = start.isoformat()  # FRED's "chart observation start date"
        try:
            series = _fetch_one(http, base_url, params, timeout_s, series_id)
        except ValueError as exc:
            errors[series_id] = str(exc)
            log(f"fred: {series_id}: failed: {exc}")
            continue
        found[series_id] = series
        log(f"fred: {series_id}: {len(series)} observations {series.index[0]:%Y-%m-%d} .. "
            f"{series.index[-1]:%Y-%m-%d} in {time.monotonic() - t0:.1f}s")
    if not found:
        first = next(iter(errors.items()), ("-", "no series requested"))
        raise SourceError(f"fred: no data for any of {len(errors)} series ({first[0]}: {first[1]})")
    return found, errors
