"""The exchange's trading calendar: which sessions exist and which is the last completed one.

Uses exchange_calendars (maintained holiday rules), never a hand-written holiday list.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xc
import pandas as pd

from build_data.errors import BuildError

# Early enough to cover the Russell 2000's whole published history (it starts in 1987).
CALENDAR_START = "1985-01-02"


@lru_cache(maxsize=4)
def exchange(name: str = "XNYS") -> xc.ExchangeCalendar:
    return xc.get_calendar(name, start=CALENDAR_START)


def last_completed_session(now: pd.Timestamp, name: str = "XNYS") -> dt.date:
    """The most recent session whose closing bell has rung at `now` (a tz-aware instant).

    A bar for today's session before the close is partial, so it is never "completed".
    """
    cal = exchange(name)
    now = pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    closes = cal.closes
    done = closes[closes <= now]
    return done.index[-1].date()


def session_close(day: dt.date, name: str = "XNYS") -> pd.Timestamp:
    """The UTC instant of the closing bell of session `day`, or of the last session before it."""
    cal = exchange(name)
    closes = cal.closes.loc[: pd.Timestamp(day)]
    return closes.iloc[-1]


def sessions_between(start: dt.date, end: dt.date, name: str = "XNYS") -> int:
    """Number of sessions after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    cal = exchange(name)
    return len(cal.sessions_in_range(pd.Timestamp(start) + pd.Timedelta(days=1), pd.Timestamp(end)))


def sessions(start: dt.date, end: dt.date, name: str = "XNYS") -> pd.DatetimeIndex:
    """Session dates from start to end inclusive, tz-naive."""
    idx = exchange(name).sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return pd.DatetimeIndex(idx).rename("date")


def check_in_calendar(day: dt.date, name: str = "XNYS", what: str = "--as-of") -> None:
    """Raise a one-line BuildError when `day` lies outside the calendar's known sessions."""
    cal = exchange(name)
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first <= day <= last:
        raise BuildError(f"{what} {day}: outside the {name} exchange calendar ({first} .. {last})")
