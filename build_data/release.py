"""Point in time for macro series: each observation's period, its release date, and what was
public on a given day.

Two ways to know a release date:
- FRED's real-time periods (ALFRED vintages, with an API key): every value an observation ever
  had, with the day it became current. The value shown as of a day is the one current then; its
  release date is the day the observation first appeared ("as published").
- Without them, the series' conservative release rule (config `release:`), applied to the
  latest values ("latest revision").

Pure: series in, series out.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from build_data.config import WEEKDAYS, MacroSeries, ReleaseRule

AS_PUBLISHED = "as published"
LATEST_REVISION = "latest revision"


def period_end(obs: pd.DatetimeIndex, cadence: str) -> pd.DatetimeIndex:
    """The last day of each observation's period. FRED stamps a daily series by its day, a
    weekly one (initial claims) by the week's last day, a monthly or quarterly one by the
    period's first day."""
    obs = pd.DatetimeIndex(obs)
    if cadence == "monthly":
        return obs + pd.offsets.MonthEnd(0)
    if cadence == "quarterly":
        return obs + pd.offsets.QuarterEnd(0)
    return obs


def period_text(obs: pd.Timestamp, cadence: str) -> str:
    """How the text names an observation's period: "Jan 14, 2026", "week to Jan 10, 2026",
    "Dec 2025", "Q1 2025"."""
    obs = pd.Timestamp(obs)
    if cadence == "monthly":
        return f"{obs:%b %Y}"
    if cadence == "quarterly":
        return f"Q{obs.quarter} {obs.year}"
    day = f"{obs:%b} {obs.day}, {obs.year}"
    return f"week to {day}" if cadence == "weekly" else day


def rule_release(obs: pd.DatetimeIndex, cadence: str, rule: ReleaseRule) -> pd.DatetimeIndex:
    """The day each observation is public at the latest, by the series' release rule."""
    ends = period_end(obs, cadence)
    out = ends + pd.Timedelta(days=rule.after_days)
    if rule.weekday is not None:
        want = WEEKDAYS.index(rule.weekday)
        out = out + pd.to_timedelta((want - out.weekday) % 7, unit="D")
    if rule.day is not None:
        month_after = ends + pd.offsets.MonthBegin(1)
        last = month_after + pd.offsets.MonthEnd(0)
        by_day = pd.DatetimeIndex([min(m.replace(day=min(rule.day, l.day)), l)
                                   for m, l in zip(month_after, last)])
        out = out.where(out >= by_day, by_day) if len(out) else out
    return pd.DatetimeIndex(out).normalize()


def by_rule(series: pd.Series, cfg: MacroSeries, as_of: dt.date, *, cut: bool = True) -> tuple[pd.Series, pd.Series]:
    """(observations public by the close of `as_of`, their release dates) under the series'
    release rule. With `cut` False (a build of today, from data fetched today, all of it public
    already) only observations after `as_of` are dropped, and a release date after `as_of`
    is capped to it."""
    series = series.loc[: pd.Timestamp(as_of)]
    released = pd.Series(rule_release(series.index, cfg.cadence, cfg.release), index=series.index)
    if cut:
        keep = released <= pd.Timestamp(as_of)
        series, released = series[keep], released[keep]
    else:
        released = released.clip(upper=pd.Timestamp(as_of))
    return series, released


def vintages_frame(rows: list[dict]) -> pd.DataFrame:
    """FRED real-time observations ({date, realtime_start, realtime_end, value}) as a frame;
    "." (missing) rows dropped."""
    frame = pd.DataFrame(rows, columns=["date", "realtime_start", "realtime_end", "value"])
    frame = frame[~frame["value"].astype(str).str.strip().isin({".", ""})]
    out = pd.DataFrame({
        "date": pd.to_datetime(frame["date"], format="%Y-%m-%d"),
        "realtime_start": pd.to_datetime(frame["realtime_start"], format="%Y-%m-%d"),
        "realtime_end": pd.to_datetime(frame["realtime_end"].replace("9999-12-31", "2262-04-01"), format="%Y-%m-%d"),
        "value": pd.to_numeric(frame["value"], errors="raise").astype("float64"),
    })
    return out.sort_values(["date", "realtime_start"]).reset_index(drop=True)


def by_vintage(vintages: pd.DataFrame, as_of: dt.date, name: str) -> tuple[pd.Series, pd.Series]:
    """(each observation's value as it stood at the close of `as_of`, the day it was first
    released) from FRED's real-time periods. An observation first released after `as_of`
    is absent."""
    day = pd.Timestamp(as_of)
    first = vintages.groupby("date")["realtime_start"].min()
    current = vintages[(vintages["realtime_start"] <= day) & (vintages["realtime_end"] >= day)]
    current = current.drop_duplicates("date", keep="last").set_index("date")["value"].sort_index()
    current.index = pd.DatetimeIndex(current.index, name="date")
    current.name = name
    released = first.reindex(current.index)
    return current, released


def latest_values(vintages: pd.DataFrame, name: str) -> pd.Series:
    """Each observation's newest value: what fredgraph.csv serves (for the cache)."""
    newest = vintages.sort_values("realtime_start").drop_duplicates("date", keep="last").set_index("date")["value"]
    newest = newest.sort_index()
    newest.index = pd.DatetimeIndex(newest.index, name="date")
    newest.name = name
    return newest


def staleness(last_obs: pd.Timestamp | None, cfg: MacroSeries, as_of: dt.date) -> str | None:
    """Why the newest figure is stale on `as_of` (its period ended more than one cadence plus
    the grace before it), or None while it is current."""
    if last_obs is None:
        return None
    end = period_end(pd.DatetimeIndex([last_obs]), cfg.cadence)[0]
    age = (pd.Timestamp(as_of) - end).days
    if age <= cfg.stale_after_days:
        return None
    return (f"stale: the latest figure is for {period_text(last_obs, cfg.cadence)}, {age} days old on {as_of}; "
            f"a {cfg.cadence} series is stale after {cfg.stale_after_days} days")
