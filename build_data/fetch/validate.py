"""Checks that fail closed: data that breaks a rule is never published.

Each rule raises ValidationError naming the series and the rule.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from build_data import sessions
from build_data.errors import ValidationError


def check_not_empty(name: str, data: pd.DataFrame | pd.Series) -> None:
    if data is None or len(data) == 0:
        raise ValidationError(name, "empty", "no rows")


def check_dates(name: str, data: pd.DataFrame | pd.Series) -> None:
    idx = data.index
    if isinstance(idx, pd.DatetimeIndex) and idx.tz is None and (np.diff(idx.asi8) > 0).all():
        return  # strictly increasing: neither duplicated nor out of order
    if idx.has_duplicates:
        raise ValidationError(name, "duplicate dates", f"{idx[idx.duplicated()][0].date()} appears more than once")
    if not idx.is_monotonic_increasing:
        pos = next(i for i in range(1, len(idx)) if idx[i] < idx[i - 1])
        raise ValidationError(name, "unordered dates", f"{idx[pos].date()} comes after {idx[pos - 1].date()}")


def check_positive_prices(name: str, frame: pd.DataFrame) -> None:
    close = frame["close"].to_numpy()
    missing = np.isnan(close)
    if missing.any():
        raise ValidationError(name, "missing close", f"no close on {frame.index[np.argmax(missing)].date()}")
    fields = ["open", "high", "low", "close", "adj_close"]
    prices = frame.to_numpy()[:, :5] if list(frame.columns[:5]) == fields else frame[fields].to_numpy()
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        day = frame.index[np.argmax(bad)]
        raise ValidationError(name, "non-positive price", f"price <= 0 on {day.date()}")


def check_daily_moves(name: str, frame: pd.DataFrame, max_move: float) -> None:
    close = frame["close"].to_numpy()
    if len(close) < 2:
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        move = np.abs(close[1:] / close[:-1] - 1)
    if (move > max_move).any():
        at = int(np.nanargmax(move))
        raise ValidationError(name, "implausible one-day move",
                              f"{move[at]:.1%} on {frame.index[at + 1].date()} exceeds the {max_move:.0%} bound")


def check_fresh(name: str, data: pd.DataFrame | pd.Series, expected: dt.date, max_stale: int,
                calendar: str = "XNYS") -> None:
    """The last session must be within `max_stale` exchange sessions of `expected`."""
    last = data.index[-1].date()
    behind = _sessions_between(last, expected, calendar)
    if behind > max_stale:
        raise ValidationError(name, "stale", f"last session {last} is {behind} sessions before {expected} "
                                             f"(allowed: {max_stale})")


def check_history(name: str, data: pd.DataFrame | pd.Series, needed: int, metric: str) -> None:
    if len(data) < needed:
        raise ValidationError(name, "too little history", f"{metric} needs {needed} sessions, have {len(data)}")


def drop_non_sessions(data: pd.DataFrame | pd.Series, calendar: str = "XNYS") -> tuple[pd.DataFrame | pd.Series, list[str]]:
    """Rows dated on days the exchange did not trade (weekends, holidays, closures) removed,
    with the dates removed. Such a bar is a data defect (a file merged on a 7-day calendar, a
    stray partial bar); dropping it keeps it out of compute and out of the cache."""
    index = data.index
    if isinstance(index, pd.DatetimeIndex) and index.tz is None:
        days = session_days(calendar)
        at = index.as_unit("ns").asi8
        pos = np.minimum(np.searchsorted(days, at), len(days) - 1)
        off = days[pos] != at
        bad = index[off] if off.any() else index[:0]
    else:
        bad = sessions.non_sessions(index, calendar)
    if len(bad) == 0:
        return data, []
    return data.drop(bad), [d.date().isoformat() for d in bad]


@lru_cache(maxsize=4)
def session_days(calendar: str = "XNYS") -> np.ndarray:
    """Every session of the exchange calendar, as sorted int64 nanoseconds (midnight, tz-naive):
    looked up once per process, so checking a series' dates is a search, not a calendar query."""
    days = pd.DatetimeIndex(sessions.exchange(calendar).sessions)
    days = days.tz_localize(None) if days.tz is not None else days
    days = days.as_unit("ns").asi8.copy()
    days.flags.writeable = False
    return days


# Many series end on the same session: the count of sessions between two dates is asked once.
_sessions_between = lru_cache(maxsize=256)(sessions.sessions_between)


def check_prices(name: str, frame: pd.DataFrame, *, max_move: float) -> None:
    """Every rule that does not depend on the build date."""
    check_not_empty(name, frame)
    check_dates(name, frame)
    check_positive_prices(name, frame)
    check_daily_moves(name, frame, max_move)


def check_macro(name: str, series: pd.Series) -> None:
    check_not_empty(name, series)
    check_dates(name, series)


def tracking_gaps(index_close: pd.Series, fund_close: pd.Series, *, gap: float, last: int = 5) -> list[tuple]:
    """Days among the last `last` shared sessions on which an index and the fund that tracks it
    moved apart by more than `gap` (a fraction): (day, index move, fund move). They move together
    on any real day, so such a day holds a bad print in one of the two (a cross-series check for
    bad ticks the one-day move bound lets through)."""
    both = pd.concat([index_close.rename("a"), fund_close.rename("b")], axis=1, join="inner").dropna()
    moves = (both / both.shift(1) - 1).iloc[1:].tail(last)
    apart = moves[(moves["a"] - moves["b"]).abs() > gap]
    return [(d.date(), float(r["a"]), float(r["b"])) for d, r in apart.iterrows()]
