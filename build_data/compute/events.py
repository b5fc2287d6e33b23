"""Events: the scheduled ones (the config's calendar: FOMC decisions, CPI and jobs releases) and
the ones the numbers make (a level crossed, a target reached, a record close after a drought, the
end of a long outperformance streak).

Pure: the config's calendar and the session closes in, plain dicts out. Each number-made event
carries its date, its value and a sentence saying what happened with the value; the change log
lists those inside its window, and the levels and targets tables show the date of the last one.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from build_data import formatting
from build_data.compute import signals
from build_data.config import Level, Universe

# A level crossing counts once the close has stayed on its new side this many sessions (as a
# claim's state does by default), so a close that wavers around the level does not fill the log.
LEVEL_CONFIRM = 2


def _price(value: float) -> str:
    return formatting.format_value(float(value), "price")


def _day(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


# ------------------------------------------------------------------ the calendar

def calendar(universe: Universe, as_of: dt.date, since: dt.date) -> list[dict]:
    """Every scheduled event from `since` on, oldest first: {kind, name, date, source, url, past}.
    An event on the as-of day has passed (releases come out before the close, FOMC decisions
    at 2 pm New York time)."""
    out = [{"kind": kind, "name": ev.name, "date": d.isoformat(), "source": ev.source, "url": ev.url,
            "past": d <= as_of}
           for kind, ev in universe.events.calendar.items() for d in ev.dates if d >= since]
    return sorted(out, key=lambda e: (e["date"], e["kind"]))


def next_event(universe: Universe, kind: str | None, as_of: dt.date) -> dict | None:
    """The first scheduled event of `kind` after the as-of day: {kind, name, date, source, url},
    or, when the calendar's dates have run out, the same with date None and a reason."""
    if kind is None:
        return None
    ev = universe.events.calendar[kind]
    later = [d for d in ev.dates if d > as_of]
    base = {"kind": kind, "name": ev.name, "source": ev.source, "url": ev.url}
    if not later:
        return {**base, "date": None, "reason": f"no {ev.name} after {as_of.isoformat()} in the events calendar"}
    return {**base, "date": later[0].isoformat()}


# ------------------------------------------------------------------ levels and targets

def _close(closes: pd.DataFrame, level: Level) -> pd.Series:
    return closes[level.symbol].dropna() if level.symbol in closes.columns else pd.Series(dtype="float64")


def level_mark(universe: Universe, closes: pd.DataFrame, name: str) -> dict:
    """An author's level: which side the close is on and since when. {side ("above"/"below"/None),
    since (the first session of the confirmed crossing, None if the close has been on that side
    for the whole history), close (that session's close), crossings [(date, side, close)]}."""
    level = universe.levels[name]
    close = _close(closes, level)
    if close.empty:
        return {"side": None, "since": None, "close": None, "crossings": []}
    above = (close > level.value).astype(float)
    t = signals.track(above, LEVEL_CONFIRM, lambda v: "above" if v else "below")
    crossings = [(d, to, float(close.loc[d])) for d, _, to in t["changes"]]
    last = crossings[-1] if crossings else None
    return {"side": t["state"], "since": _day(last[0]) if last else None,
            "close": last[2] if last else None, "crossings": crossings}


def target_mark(universe: Universe, closes: pd.DataFrame, name: str, as_of: pd.Timestamp) -> dict:
    """An analyst target: whether the close has reached it since it was set, and when first.
    The target's direction comes from the close on its date (a target above that close is
    reached by a close at or above it); without a date, from the first close of the as-of year.
    {direction, reached_on, reached_close, beyond (the last close is still past it)}."""
    target = universe.targets[name]
    close = _close(closes, target)
    out = {"direction": None, "reached_on": None, "reached_close": None, "beyond": None}
    if close.empty:
        return out
    start = pd.Timestamp(target.date) if target.date else pd.Timestamp(as_of.year, 1, 1)
    before = close[close.index <= start]
    base = before.iloc[-1] if len(before) else close.iloc[0]
    up = bool(base < target.value)
    after = close[close.index > start] if len(before) else close
    reached = after >= target.value if up else after <= target.value
    out["direction"] = "up" if up else "down"
    out["beyond"] = bool(reached.iloc[-1]) if len(reached) else False
    if reached.any():
        first = reached.idxmax()
        out["reached_on"], out["reached_close"] = _day(first), float(close.loc[first])
    return out


# ------------------------------------------------------------------ number-made events for the change log

def _symbol_name(universe: Universe, alias: str) -> str:
    return (universe.symbols.get(alias) or universe.derived[alias]).name


def level_events(universe: Universe, marks: dict[str, dict], start: pd.Timestamp) -> list[dict]:
    out = []
    for name, mark in marks.items():
        level = universe.levels[name]
        who = _symbol_name(universe, level.symbol)
        for d, side, close in mark["crossings"]:
            if d < start:
                continue
            verb = "closed above" if side == "above" else "closed below"
            out.append({"date": _day(d), "kind": "level", "id": name, "key": f"levels.{name}_above",
                        "event": f"{who} {verb} the {level.label} ({_price(close)})",
                        "value": close, "value_text": _price(close), "anchor": f"level-{name}"})
    return out


def target_events(universe: Universe, marks: dict[str, dict], start: pd.Timestamp) -> list[dict]:
    out = []
    for name, mark in marks.items():
        if mark["reached_on"] is None or pd.Timestamp(mark["reached_on"]) < start:
            continue
        target = universe.targets[name]
        who = _symbol_name(universe, target.symbol)
        close = mark["reached_close"]
        out.append({"date": mark["reached_on"], "kind": "target", "id": name, "key": f"targets.{name}_move",
                    "event": f"{who} reached the {target.label} ({_price(close)})",
                    "value": close, "value_text": _price(close), "anchor": f"target-{name}"})
    return out


def record_events(universe: Universe, closes: pd.DataFrame, start: pd.Timestamp) -> list[dict]:
    """Record closes that are the first in `events.record_drought` sessions or more."""
    out = []
    drought = universe.events.record_drought
    aliases = universe.events.records if universe.events.records is not None else universe.publish.core
    for alias in aliases:
        if alias not in closes.columns:
            continue
        close = closes[alias].dropna()
        record = close > close.cummax().shift(1)
        days = list(close.index[record.to_numpy()])
        pos = {d: i for i, d in enumerate(close.index)}
        for prev, d in zip(days, days[1:]):
            gap = pos[d] - pos[prev]
            if d >= start and gap >= drought:
                value = float(close.loc[d])
                out.append({"date": _day(d), "kind": "record", "id": alias, "key": f"{alias}.record_close",
                            "event": f"{_symbol_name(universe, alias)} closed at a record, {_price(value)}: "
                                     f"its first in {formatting.fmt_int(gap)} sessions",
                            "value": value, "value_text": _price(value), "anchor": f"metric-{alias}.record_close"})
    return out


def streak_events(universe: Universe, histories: dict[str, pd.Series | None], start: pd.Timestamp) -> list[dict]:
    """The end of each outperformance streak of `events.min_streak` sessions or more."""
    out = []
    for pair in universe.events.streaks:
        key = f"{pair}.outperf_streak"
        streak = histories.get(key)
        if streak is None:
            continue
        streak = streak.dropna()
        ended = (streak == 0) & (streak.shift(1) >= universe.events.min_streak)
        for d in streak.index[ended.to_numpy()]:
            if d < start:
                continue
            n = int(streak.shift(1).loc[d])
            p = universe.pairs[pair]
            who = f"{_symbol_name(universe, p.a)}'s outperformance of the {_symbol_name(universe, p.b)}"
            out.append({"date": _day(d), "kind": "streak", "id": pair, "key": key,
                        "event": f"{who} ended after {n} sessions in a row",
                        "value": n, "value_text": f"{n} sessions", "anchor": f"metric-{key}"})
    return out


def streak_keys(universe: Universe) -> set[str]:
    return {f"{pair}.outperf_streak" for pair in universe.events.streaks}


def subjects(universe: Universe) -> dict[str, dict]:
    """Each level and target by its key prefix ("levels.breakout"): {who, label, value}, for the
    change log's sentences about the close and the level."""
    return {f"{group}.{name}": {"who": _symbol_name(universe, lv.symbol), "label": lv.label, "value": lv.value}
            for group in ("levels", "targets") for name, lv in getattr(universe, group).items()}
