"""Data sources: the only code that reads market data from outside the project.

Every source returns frames in one shape, so nothing downstream knows where data came from:

* prices: `dict[ticker, DataFrame]`, index = tz-naive session dates (DatetimeIndex named
  "date", ascending), float64 columns `PRICE_COLUMNS`. `close` is the quoted close,
  `adj_close` the dividend/split-adjusted close (equal to `close` for indices).
* macro: `dict[series_id, Series]`, index = tz-naive observation dates named "date",
  float64 values in the series' native unit, missing observations dropped.
"""
from __future__ import annotations

import pandas as pd

PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]


def price_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to the common price shape: tz-naive sorted date index, float columns."""
    out = df.reindex(columns=PRICE_COLUMNS).astype("float64")
    idx = pd.DatetimeIndex(out.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out.index = idx.normalize().rename("date")
    return out.sort_index()


def macro_series(s: pd.Series, series_id: str) -> pd.Series:
    """Coerce a series to the common macro shape: tz-naive date index, float, no missing values."""
    out = pd.to_numeric(s, errors="coerce").astype("float64").dropna()
    out.index = pd.DatetimeIndex(out.index).normalize().rename("date")
    return out.sort_index().rename(series_id)


_DNS_MESSAGES = ("Name or service not known", "Temporary failure in name resolution",
                 "nodename nor servname", "No address associated with hostname", "getaddrinfo failed")


def is_dns_failure(exc: BaseException) -> bool:
    """Whether a request failed because a host name did not resolve (the machine is offline).

    requests wraps urllib3's NameResolutionError (itself wrapping socket.gaierror) a few levels
    deep, so walk the causes and the wrapped `reason`s.
    """
    import socket

    from urllib3.exceptions import NameResolutionError

    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        err = todo.pop()
        if not isinstance(err, BaseException) or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, (socket.gaierror, NameResolutionError)):
            return True
        if any(m in str(err) for m in _DNS_MESSAGES):
            return True
        todo += [err.__cause__, err.__context__, getattr(err, "reason", None), *err.args]
    return False
