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


def last_completed_session(now: pd.Timestamp, name: str = "XNYS", settle_minutes: int = 0) -> dt.date:
    """The most recent session complete at `now` (a tz-aware instant): its closing bell (the
    calendar's, early closes included) rang at least `settle_minutes` before.

    A bar for today's session before the close is partial, and one just after the bell may
    still be settling, so neither is "completed". A clock outside the calendar is a one-line
    BuildError, never an IndexError.
    """
    cal = exchange(name)
    now = pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    closes = cal.closes
    settled = closes + pd.Timedelta(minutes=settle_minutes)
    done = closes[settled <= now]
    if done.empty or now > settled.iloc[-1] + pd.Timedelta(days=7):
        raise BuildError(f"the clock says {now:%Y-%m-%d %H:%M} UTC, outside the {name} exchange calendar "
                         f"({cal.first_session.date()} .. {cal.last_session.date()}): check the machine's clock")
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


def as_of_session(requested: dt.date | None, now: pd.Timestamp, name: str = "XNYS",
                  settle_minutes: int = 0) -> dt.date:
    """The build's as-of date: the last completed session at or before `requested` (or `now`).

    It comes from the calendar, never from the data, so one series' dates cannot move it.
    A date in the future or before the calendar starts is an error."""
    latest = last_completed_session(now, name, settle_minutes)
    if requested is None:
        return latest
    today = pd.Timestamp(now).tz_convert("UTC").date() if pd.Timestamp(now).tzinfo else pd.Timestamp(now).date()
    if requested > today:
        raise BuildError(f"--as-of {requested} is in the future (the last completed session is {latest})")
    if requested < dt.date.fromisoformat(CALENDAR_START):
        raise BuildError(f"--as-of {requested} is before the exchange calendar starts ({CALENDAR_START})")
    if requested >= latest:
        return latest
    days = exchange(name).sessions_in_range(pd.Timestamp(requested) - pd.Timedelta(days=14), pd.Timestamp(requested))
    return days[-1].date()


def non_sessions(index: pd.DatetimeIndex, name: str = "XNYS") -> pd.DatetimeIndex:
    """The dates in `index` that are not exchange sessions (weekends, holidays, closures)."""
    if len(index) == 0:
        return index
    cal = exchange(name)
    valid = cal.sessions_in_range(max(index.min(), cal.first_session), min(index.max(), cal.last_session))
    return index[~pd.DatetimeIndex(index).isin(pd.DatetimeIndex(valid).tz_localize(None))]


def check_in_calendar(day: dt.date, name: str = "XNYS", what: str = "--as-of") -> None:
    """Raise a one-line BuildError when `day` lies outside the calendar's known sessions."""
    cal = exchange(name)
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first <= day <= last:
        raise BuildError(f"{what} {day}: outside the {name} exchange calendar ({first} .. {last})")
